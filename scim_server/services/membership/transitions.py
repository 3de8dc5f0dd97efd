"""Carry out lifecycle transitions on membership rows: the one path for every caller.

SCIM, the admin API, JIT and invitations all ask ``lifecycle.transition`` what an event
does, then call ``apply`` here, which writes the new state, clears grants on removal,
tombstones the SCIM view, revokes sessions when access was lost, and records exactly
one event — all in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Subject
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.audit import record_many
from scim_server.services.errors import Conflict
from scim_server.services.membership.lifecycle import MemberState
from scim_server.services.membership.lifecycle import Transition
from scim_server.services.membership.sessions import revoke_live_sessions
from scim_server.storage import queries
from scim_server.storage import row_writes
from scim_server.storage import tombstones
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimUser
from scim_server.storage.models import new_id
from scim_server.storage.models import utcnow


def snapshot(m: Membership) -> dict[str, Any]:
    """D, O, ended and grants, for an event's before/after."""
    return {
        "directory_state": m.directory_state,
        "admin_override": m.admin_override,
        "ended_at": m.ended_at.isoformat() if m.ended_at else None,
        "end_reason": m.end_reason,
        "link_state": m.link_state,
        "role_id": m.role_id,
        "scope": m.scope,
    }


def apply(
    db: Session,
    m: Membership,
    tr: Transition,
    *,
    actor: Actor,
    reason: str | None = None,
    target: Subject | None = None,
    scim_view: ScimUser | None = None,
) -> None:
    """Write ``tr`` to ``m`` with its effects and its event; a no-op writes nothing.

    ``scim_view`` is the caller's locked, live SCIM view of ``m`` (a SCIM request already
    holds it): it saves looking the view up, and its caller bumps its version together with
    its own changes, so the row is updated once (the statement budgets of
    tests/api/scim/test_statement_counts.py).
    """
    if not tr.changed:
        return
    assert tr.event is not None
    before = snapshot(m)
    values = _state_values(m, tr.after, actor, reason)
    if tr.revoke_sessions:  # a session minted before the loss never validates again
        values["access_epoch"] = m.access_epoch + 1
    row_writes.update_now(db, m, values)
    if tr.clear_grants:
        before["sites"] = queries.clear_grants(db, m)
    scim_id = scim_view.id if scim_view is not None else queries.live_scim_id(db, m.id)
    if tr.tombstone_scim and scim_id:
        _tombstone(db, m, scim_id, actor)
    elif scim_id and scim_view is None:
        _bump_version(db, scim_id)  # adminDisabled/effectiveAccess changed: new ETag
    if tr.revoke_sessions:
        revoke_live_sessions(db, m, reason=_revocation_reason(tr), actor=actor)
        _alert_if_ownerless(db, m, actor)
    subject = target or m
    after = snapshot(m)
    record(
        db,
        m.org_id,
        actor,
        tr.event,
        subject,
        membership=m,
        before=before,
        after=after,
        reason=reason,
    )


def _state_values(
    m: Membership, after: MemberState, actor: Actor, reason: str | None
) -> dict[str, Any]:
    """The membership columns that reaching ``after`` changes (one UPDATE of those)."""
    now = utcnow()
    values: dict[str, Any] = {"updated_at": now}
    if m.admin_override != after.admin_override:
        disabled = after.admin_override == AdminOverride.DISABLED
        values["admin_override"] = after.admin_override
        values["override_by"] = (actor.id or actor.type) if disabled else None
        values["override_at"] = now if disabled else None
        values["override_reason"] = reason if disabled else None
    if m.end_reason != after.end_reason:
        values["end_reason"] = after.end_reason
        values["ended_at"] = now if after.ended else None
    if m.directory_state != after.directory_state:
        values["directory_state"] = after.directory_state
    if m.link_state != after.link_state:
        values["link_state"] = after.link_state
    return values


def _tombstone(db: Session, m: Membership, scim_id: str, actor: Actor) -> None:
    """The SCIM view answers 404 from now on and leaves its groups, one event per group."""
    group_ids = tombstones.tombstone_user(db, scim_id)
    record_many(
        db,
        m.org_id,
        actor,
        EventType.GROUP_MEMBER_REMOVED,
        target_type="scim_group",
        rows=[{"target_id": gid, "after": {"member": scim_id}} for gid in group_ids],
    )


def _bump_version(db: Session, scim_id: str) -> None:
    db.execute(
        update(ScimUser)
        .where(ScimUser.id == scim_id)
        .values(version=ScimUser.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )


def _revocation_reason(tr: Transition) -> str:
    reasons = {
        EventType.USER_DEACTIVATED: "directory_deactivated",
        EventType.USER_DELETED: "directory_removed",
        EventType.MEMBERSHIP_OVERRIDE_SET: "admin_disabled",
        EventType.MEMBERSHIP_REMOVED: "admin_removed",
    }
    if tr.event is None:
        return "access_lost"
    return reasons.get(tr.event, str(tr.event))


def create(
    db: Session,
    *,
    org_id: str,
    user_id: str,
    source: str,
    role_id: str | None,
    tr: Transition,
    actor: Actor,
    target: Subject | None = None,
    new_person: bool = False,
    attach: bool = True,
) -> Membership:
    """Insert a new membership in the state ``tr`` leads to, with its creation event.

    ``new_person``: the person was inserted in this very transaction, so no parallel
    request can hold a membership of them yet: the savepoint that turns that race into a
    409 is skipped, and the row goes out at once as one Core INSERT, ``attach`` as in
    ``row_writes.insert_now``.
    """
    assert tr.event is not None
    after = tr.after
    m = row_writes.transient(
        Membership,
        id=new_id(),  # known before the flush, for the event that names it
        org_id=org_id,
        user_id=user_id,
        source=source,
        directory_state=after.directory_state,
        admin_override=after.admin_override,
        link_state=after.link_state,
        role_id=role_id,
    )
    if new_person:
        row_writes.insert_now(db, m, attach=attach)
    else:
        _insert_contended(db, m)
    record(db, org_id, actor, tr.event, target or m, membership=m, after=snapshot(m))
    return m


def _insert_contended(db: Session, m: Membership) -> None:
    """Insert a membership another request may be inserting too: the loser gets 409."""
    try:
        with db.begin_nested():
            db.add(m)
            db.flush()
    except IntegrityError:
        raise Conflict(
            "This person became a member of the organization in a parallel request.",
            attribute="emails",
        ) from None


def record_change(
    db: Session,
    m: Membership,
    tr: Transition,
    *,
    actor: Actor,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Record a grants edit (row A4), whose before/after the caller computed."""
    assert tr.event is not None
    m.updated_at = utcnow()
    record(db, m.org_id, actor, tr.event, m, before=before, after=after)


def _alert_if_ownerless(db: Session, m: Membership, actor: Actor) -> None:
    """The directory may deprovision the last Owner (a leaver's access must go); when it
    does, the trail carries an ``organization.owner_missing`` alert for recovery."""
    owner = queries.builtin_role_id(db, "owner")
    if m.role_id != owner or queries.effective_owner_count(db, m.org_id, owner) > 0:
        return
    reason = "the last effective Owner lost access"
    event, target = EventType.ORGANIZATION_OWNER_MISSING, Target("organization", m.org_id)
    record(db, m.org_id, actor, event, target, membership=m, reason=reason)
