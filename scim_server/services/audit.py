"""The audit trail: one event per real change, in the same transaction as the change."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.storage.models import Event
from scim_server.storage.models import utcnow


class EventType(enum.StrEnum):
    """``subject.past_tense_action``: the names the management API's feed shows."""

    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    USER_RELINKED = "user.relinked"
    MEMBERSHIP_OVERRIDE_HELD = "membership.override_held"
    MEMBERSHIP_OVERRIDE_SET = "membership.override_set"
    MEMBERSHIP_OVERRIDE_CLEARED = "membership.override_cleared"
    MEMBERSHIP_GRANTS_UPDATED = "membership.grants_updated"
    MEMBERSHIP_REMOVED = "membership.removed"
    MEMBERSHIP_DIRECTORY_MANAGED = "membership.directory_managed"
    MEMBERSHIP_DIRECTORY_DISCONNECTED = "membership.directory_disconnected"
    SESSION_CREATED = "session.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ROLE_CREATED = "role.created"
    SITE_CREATED = "site.created"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    SESSION_REVOKED = "session.revoked"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    ORGANIZATION_CREATED = "organization.created"


@dataclass(frozen=True)
class Actor:
    """Who made a change: ``scim`` (token id), ``admin`` (person), ``jit``, ``system``…"""

    type: str
    id: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None)


def record(
    session: Session,
    org_id: str,
    actor: Actor,
    type: str,
    *,
    target_type: str,
    target_id: str,
    membership_id: str | None = None,
    user_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    session.add(
        Event(
            org_id=org_id,
            type=type,
            actor_type=actor.type,
            actor_id=actor.id,
            target_type=target_type,
            target_id=target_id,
            membership_id=membership_id,
            user_id=user_id,
            before=before,
            after=after,
            reason=reason,
            request_id=actor.request_id,
            at=utcnow(),
        )
    )


def record_many(
    session: Session,
    org_id: str,
    actor: Actor,
    type: EventType,
    *,
    target_type: str,
    rows: list[dict[str, Any]],
) -> None:
    """Record one event per row in a single INSERT (set-based member changes)."""
    if not rows:
        return
    now = utcnow()
    session.execute(
        insert(Event),
        [
            {
                "org_id": org_id,
                "type": str(type),
                "actor_type": actor.type,
                "actor_id": actor.id,
                "target_type": target_type,
                "request_id": actor.request_id,
                "at": now,
                "membership_id": None,
                "user_id": None,
                "before": None,
                "after": None,
                "reason": None,
                **row,
            }
            for row in rows
        ],
    )


def event_json(event: Event) -> dict[str, Any]:
    """One event as the feed shows it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "target": {"type": event.target_type, "id": event.target_id},
        "membership_id": event.membership_id,
        "user_id": event.user_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "at": event.at.isoformat(timespec="milliseconds") + "Z",
    }


def feed(
    session: Session, org_id: str, *, after: int | None, limit: int
) -> tuple[list[Event], str | None]:
    """Events oldest first after a cursor (the last id seen); follows with no gaps."""
    stmt = select(Event).where(Event.org_id == org_id)
    if after is not None:
        stmt = stmt.where(Event.id > after)
    events = list(session.scalars(stmt.order_by(Event.id).limit(limit)))
    return events, str(events[-1].id) if events else (str(after) if after is not None else None)
