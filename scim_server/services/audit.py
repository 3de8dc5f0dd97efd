"""The audit trail: one event per real change, in the same transaction as the change."""

from __future__ import annotations

import enum
import re
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy.orm import Session

from scim_server.storage import prepared
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Event
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import Invitation
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import Role
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import SignInSession
from scim_server.storage.models import Site
from scim_server.storage.models import SiteRole
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import utcnow
from scim_server.storage.queries import equal_within


class EventType(enum.StrEnum):
    """``subject.past_tense_action``: every type the management API's feed shows.

    The values are the wire names (the feed, its consumers and the OpenAPI document rely
    on them); a new event type is added here, never spelled as a string at a call site.
    """

    # The SCIM directory's view of a person (lifecycle rows P*, U*, X1)
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    USER_RELINKED = "user.relinked"
    # Memberships (admin actions, JIT, invitations, directory disconnect)
    MEMBERSHIP_CREATED = "membership.created"
    MEMBERSHIP_REVIVED = "membership.revived"
    MEMBERSHIP_LINK_CLAIMED = "membership.link_claimed"
    MEMBERSHIP_OVERRIDE_HELD = "membership.override_held"
    MEMBERSHIP_OVERRIDE_SET = "membership.override_set"
    MEMBERSHIP_OVERRIDE_CLEARED = "membership.override_cleared"
    MEMBERSHIP_GRANTS_UPDATED = "membership.grants_updated"
    MEMBERSHIP_REMOVED = "membership.removed"
    MEMBERSHIP_DIRECTORY_MANAGED = "membership.directory_managed"
    MEMBERSHIP_DIRECTORY_DISCONNECTED = "membership.directory_disconnected"
    # Sign-in sessions
    SESSION_CREATED = "session.created"
    SESSION_REVOKED = "session.revoked"
    # The organisation, its catalog and its API tokens
    ORGANIZATION_CREATED = "organization.created"
    ORGANIZATION_UPDATED = "organization.updated"
    ORGANIZATION_OWNER_MISSING = "organization.owner_missing"
    ROLE_CREATED = "role.created"
    SITE_CREATED = "site.created"
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    # SCIM groups
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    # Sign-in configuration: SSO connections, domains, JIT settings
    SSO_CONNECTION_CREATED = "sso_connection.created"
    SSO_CONNECTION_UPDATED = "sso_connection.updated"
    SSO_CONNECTION_DISABLED = "sso_connection.disabled"
    SSO_CONNECTION_ENABLED = "sso_connection.enabled"
    DOMAIN_CLAIMED = "domain.claimed"
    DOMAIN_VERIFIED = "domain.verified"
    JIT_EMAIL_DOMAIN_ADDED = "jit.email_domain_added"
    JIT_EMAIL_DOMAINS_REPLACED = "jit.email_domains_replaced"
    JIT_EMAIL_DOMAIN_REMOVED = "jit.email_domain_removed"
    JIT_SSO_CONNECTORS_SET = "jit.sso_connectors_set"
    JIT_SSO_CONNECTOR_REMOVED = "jit.sso_connector_removed"
    JIT_ROLES_SET = "jit.roles_set"
    JIT_ROLE_REMOVED = "jit.role_removed"
    # Invitations
    INVITATION_CREATED = "invitation.created"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_EMAIL_MISMATCH = "invitation.email_mismatch"
    # Group mappings, site roles and grant overrides (issue 9 item 1, part `map`)
    GROUP_MAPPING_CREATED = "group_mapping.created"
    GROUP_MAPPING_DELETED = "group_mapping.deleted"
    SITE_ROLE_CREATED = "site_role.created"
    MEMBERSHIP_GRANTS_SYNCED = "membership.grants_synced"
    MEMBERSHIP_GRANTS_RETURNED = "membership.grants_returned"
    # prof (issue 9 items 2-3): an SSO identity linked to an account that existed before
    SSO_IDENTITY_LINKED = "sso_identity.linked"
    # Console part: set-up portal links, console sign-in links and console sessions
    PORTAL_LINK_CREATED = "portal_link.created"
    CONSOLE_LINK_CREATED = "console_link.created"
    CONSOLE_LINK_USED = "console_link.used"
    CONSOLE_SESSION_ENDED = "console_session.ended"
    # IdP migration (issue 15, part `migrate`)
    IDP_MIGRATION_STAGED = "idp_migration.staged"
    IDP_MIGRATION_CUT_OVER = "idp_migration.cut_over"
    IDP_MIGRATION_ROLLED_BACK = "idp_migration.rolled_back"
    IDP_MIGRATION_CANCELLED = "idp_migration.cancelled"


@dataclass(frozen=True)
class Actor:
    """Who made a change: ``scim`` (token id), ``admin`` (person), ``jit``, ``system``…"""

    type: str
    id: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system", None)


@dataclass(frozen=True)
class Target:
    """A target named by type and id, for events about something not loaded as a row."""

    type: str
    id: str


Subject = (
    Membership
    | ScimUser
    | ScimGroup
    | SignInSession
    | Organization
    | ApiToken
    | Role
    | Site
    | OrgDomain
    | Invitation
    | SsoConnection
    | GroupMapping
    | SiteRole
    | Target
)

# The ``target_type`` the feed shows for each kind of row an event is about.
_TARGET_TYPES: dict[type[Any], str] = {
    Membership: "membership",
    ScimUser: "scim_user",
    ScimGroup: "scim_group",
    SignInSession: "session",
    Organization: "organization",
    ApiToken: "token",
    Role: "role",
    Site: "site",
    GroupMapping: "group_mapping",
    SiteRole: "site_role",
    OrgDomain: "domain",
    Invitation: "invitation",
    SsoConnection: "sso_connection",
}


def record(
    db: Session,
    org_id: str,
    actor: Actor,
    type: EventType,
    subject: Subject,
    *,
    membership: Membership | None = None,
    user_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Add one event about ``subject``, in the caller's transaction.

    The target comes from the subject; so do ``membership_id`` and ``user_id`` when the
    subject is a membership (or a session, for ``user_id``). ``membership`` names the
    membership an event about another row concerns; ``user_id`` names the person when
    no membership does.
    """
    target_type, target_id, membership_id, subject_user_id = _describe(subject)
    if membership is not None:
        membership_id, subject_user_id = membership.id, membership.user_id
    prepared.execute(
        db,
        _INSERT_EVENT,
        {
            "org_id": org_id,
            "type": str(type),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "target_type": target_type,
            "target_id": target_id,
            "membership_id": membership_id,
            "user_id": user_id or subject_user_id,
            "before": before,
            "after": after,
            "reason": reason,
            "request_id": actor.request_id,
            "at": utcnow(),
        },
    )


# A Core INSERT on the session's connection, at once: no object to track for an
# append-only row (the unit of work's bookkeeping for it cost more than the INSERT), and no
# autoflush (a SCIM create's rows still go out in one flush). Nothing an event names is a
# foreign key but its organisation, which exists before anything happens in it.
_INSERT_EVENT = insert(typing.cast(Table, Event.__table__))


def _describe(subject: Subject) -> tuple[str, str, str | None, str | None]:
    """(target_type, target_id, membership_id, user_id) as the subject implies them."""
    if isinstance(subject, Target):
        return subject.type, subject.id, None, None
    if isinstance(subject, Membership):
        return "membership", subject.id, subject.id, subject.user_id
    if isinstance(subject, SignInSession):
        return "session", subject.id, None, subject.user_id
    return _TARGET_TYPES[type(subject)], subject.id, None, None


def record_many(
    db: Session,
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
    db.execute(
        _INSERT_EVENT,
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


@dataclass(frozen=True)
class FeedFilter:
    """What the feed is narrowed to; None means any. ``until`` is exclusive."""

    type: EventType | None = None
    user_id: str | None = None
    actor_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        exact = (
            (Event.type, self.type and str(self.type)),
            (Event.user_id, self.user_id),
            (Event.actor_type, self.actor_type),
        )
        return equal_within(exact, Event.at, self.since, self.until)


# Every actor type an event is recorded with (the feed's ``actor_type`` filter).
ACTOR_TYPES = ("scim", "admin", "jit", "invitation", "system")


def feed(
    db: Session,
    org_id: str,
    *,
    after: str | None,
    limit: int,
    where: FeedFilter | None = None,
) -> tuple[list[Event], str | None]:
    """Events oldest first after a cursor; a follower never misses one.

    Ids are handed out at insert, but transactions commit in their own order, so an id
    cursor alone could step past an event whose transaction commits later. On PostgreSQL
    each event carries its transaction id: the feed shows only transactions older than
    every one still running (``pg_snapshot_xmin``), ordered by (txid, id), so what it has
    shown is final. SQLite serialises writers, so commit order is id order there.
    """
    txid, event_id = _parse_cursor(after)
    stmt = select(Event).where(Event.org_id == org_id, *(where or FeedFilter()).conditions())
    if db.get_bind().dialect.name == "postgresql":
        settled = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)
        own = cast(cast(func.pg_current_xact_id_if_assigned(), Text), BigInteger)
        stmt = stmt.where(
            or_(Event.txid < settled, Event.txid == own),  # a transaction sees its own
            tuple_(Event.txid, Event.id) > (txid, event_id),
        )
        stmt = stmt.order_by(Event.txid, Event.id)
    else:
        stmt = stmt.where(Event.id > event_id).order_by(Event.id)
    events = list(db.scalars(stmt.limit(limit)))
    if not events:
        return events, after
    last = events[-1]
    return events, f"{last.txid or 0}-{last.id}"


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``<txid>-<id>`` as the feed hands it out; a bare event id is accepted too."""
    if not cursor:
        return 0, 0
    match = re.fullmatch(r"(?:([0-9]{1,18})-)?([0-9]{1,18})", cursor)
    if match is None:
        raise InvalidCursor(cursor)
    return int(match.group(1) or 0), int(match.group(2))


class InvalidCursor(ValueError):
    """The ``after`` cursor is not one the feed handed out."""
