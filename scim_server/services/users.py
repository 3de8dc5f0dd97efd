"""SCIM Users over memberships: rows P, U and X of lifecycle.md §2.5.

A SCIM user is a view of a membership. POST creates or re-links the person and the
membership; ``active`` writes only the directory state D; DELETE tombstones the view
and ends the membership, keeping the person, the membership row and the history.
Every change records its event in the same transaction; no-ops record none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.services import groups as group_service
from scim_server.services import lifecycle
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.context import ScimContext
from scim_server.services.errors import Conflict
from scim_server.services.errors import NotFound
from scim_server.services.guards import check_if_match
from scim_server.services.guards import flush_unique
from scim_server.services.representation import access_facts
from scim_server.services.representation import display_name
from scim_server.services.representation import primary_email
from scim_server.services.representation import stored_attributes
from scim_server.services.representation import user_to_scim
from scim_server.services.representation import value_rows
from scim_server.services.sessions import revoke_member_sessions
from scim_server.storage import queries
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

DEFAULT_ROLE = "member"


@dataclass(frozen=True)
class UserView:
    """A SCIM user row with what its representation needs."""

    row: ScimUser
    membership: Membership
    user_disabled: bool = False

    def to_scim(
        self, ctx: ScimContext, groups: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        return user_to_scim(
            self.row,
            self.membership,
            location=ctx.location("Users", self.row.id),
            groups=groups,
            user_disabled=self.user_disabled,
            org_active=ctx.org.active,
        )


def get_user(db: Session, ctx: ScimContext, scim_id: str, *, for_update: bool = False) -> UserView:
    found = queries.live_scim_user(db, ctx.directory_id, scim_id, for_update=for_update)
    if found is None:
        raise NotFound(f"No User with id {scim_id}.")
    row, membership, user = found
    return UserView(row, membership, user.disabled_at is not None)


def create_user(db: Session, ctx: ScimContext, doc: dict[str, Any]) -> UserView:
    """POST /Users (rows P1–P8): create, or re-link a deleted member to the same person."""
    user_name, external_id = doc["userName"], doc.get("externalId")
    _raise_if_taken(db, ctx, user_name, external_id, exclude=None)
    active = doc.get("active", True)
    membership, relinked = _membership_for(db, ctx, doc)
    before = _snapshot(membership) if relinked else None
    state = lifecycle.directory_state_for(active)
    membership.directory_state = state
    membership.updated_at = utcnow()
    row = ScimUser(
        directory_id=ctx.directory_id,
        membership_id=membership.id,
        user_name=user_name,
        external_id=external_id,
        display_name=display_name(doc),
        attributes=stored_attributes(doc),
    )
    db.add(row)
    flush_unique(db, "User", attribute="userName")
    _write_values(db, row.id, row.attributes)
    event = EventType.USER_RELINKED if relinked else EventType.USER_CREATED
    record(
        db,
        ctx.org.id,
        ctx.actor,
        event,
        target_type="scim_user",
        target_id=row.id,
        membership_id=membership.id,
        user_id=membership.user_id,
        before=before,
        after=_snapshot(membership),
    )
    return UserView(row, membership)


def replace_user(
    db: Session, ctx: ScimContext, scim_id: str, doc: dict[str, Any], *, if_match: str | None = None
) -> UserView:
    """PUT /Users/{id}. A body without ``active`` never changes access (row U6)."""
    view = get_user(db, ctx, scim_id, for_update=True)
    check_if_match(view.row.version, if_match)
    _apply(db, ctx, view, doc)
    return view


def patch_user(
    db: Session,
    ctx: ScimContext,
    scim_id: str,
    ops: list[PatchOperation],
    *,
    if_match: str | None = None,
) -> UserView:
    """PATCH /Users/{id}: apply to the current document, then store it like a PUT."""
    view = get_user(db, ctx, scim_id, for_update=True)
    check_if_match(view.row.version, if_match)
    current = view.to_scim(ctx)
    patched = apply_patch(current, ops, ctx.registry.user)
    doc = ctx.validators["User"].validate(patched)
    _apply(db, ctx, view, doc)
    return view


def delete_user(
    db: Session, ctx: ScimContext, scim_id: str, *, if_match: str | None = None
) -> None:
    """DELETE (row X1): tombstone the view, end the membership, keep person and history."""
    view = get_user(db, ctx, scim_id, for_update=True)
    check_if_match(view.row.version, if_match)
    row, m = view.row, view.membership
    had_access = _has_access(view, ctx)
    before = _snapshot(m)
    now = utcnow()
    row.deleted_at = now
    m.directory_state = DirectoryState.REMOVED
    m.ended_at, m.end_reason, m.updated_at = now, "directory_removed", now
    before["sites"] = queries.clear_grants(db, m)
    group_service.remove_member_everywhere(db, ctx, row.id)
    if had_access:
        revoke_member_sessions(db, m, reason="directory_removed", actor=ctx.actor)
    record(
        db,
        ctx.org.id,
        ctx.actor,
        EventType.USER_DELETED,
        target_type="scim_user",
        target_id=row.id,
        membership_id=m.id,
        user_id=m.user_id,
        before=before,
        after=_snapshot(m),
    )


def _apply(db: Session, ctx: ScimContext, view: UserView, doc: dict[str, Any]) -> None:
    """Store a validated document; change D only when ``active`` is given."""
    row = view.row
    user_name, external_id = doc["userName"], doc.get("externalId")
    attributes = stored_attributes(doc)
    changed = (user_name, external_id, attributes) != (
        row.user_name,
        row.external_id,
        row.attributes,
    )
    if changed:
        if (user_name.lower(), external_id) != (row.user_name.lower(), row.external_id):
            _raise_if_taken(db, ctx, user_name, external_id, exclude=row.id)
        before = {"userName": row.user_name, "externalId": row.external_id}
        row.user_name, row.external_id, row.attributes = user_name, external_id, attributes
        row.display_name = display_name(doc)
        flush_unique(db, "User", attribute="userName")
        db.execute(delete(ScimUserValue).where(ScimUserValue.scim_user_id == row.id))
        _write_values(db, row.id, attributes)
        record(
            db,
            ctx.org.id,
            ctx.actor,
            EventType.USER_UPDATED,
            target_type="scim_user",
            target_id=row.id,
            membership_id=view.membership.id,
            user_id=view.membership.user_id,
            before=before,
            after={"userName": user_name, "externalId": external_id},
        )
    active = doc.get("active")
    state_changed = active is not None and _set_directory_active(db, ctx, view, active)
    if changed or state_changed:
        row.version += 1
        row.updated_at = utcnow()


def _set_directory_active(db: Session, ctx: ScimContext, view: UserView, active: bool) -> bool:
    """Rows U1–U5: write D; revoke sessions iff E goes true -> false. False for a no-op."""
    m = view.membership
    new_state = lifecycle.directory_state_for(active)
    if m.directory_state == new_state:
        return False
    had_access = _has_access(view, ctx)
    before = _snapshot(m)
    m.directory_state, m.updated_at = new_state, utcnow()
    if had_access and not _has_access(view, ctx):
        revoke_member_sessions(db, m, reason="directory_deactivated", actor=ctx.actor)
    if not active:
        event = EventType.USER_DEACTIVATED
    elif m.admin_override != "none":
        event = EventType.MEMBERSHIP_OVERRIDE_HELD  # row U5: D stored, the override holds
    else:
        event = EventType.USER_REACTIVATED
    record(
        db,
        ctx.org.id,
        ctx.actor,
        event,
        target_type="scim_user",
        target_id=view.row.id,
        membership_id=m.id,
        user_id=m.user_id,
        before=before,
        after=_snapshot(m),
    )
    return True


def _has_access(view: UserView, ctx: ScimContext) -> bool:
    facts = access_facts(
        view.membership, user_disabled=view.user_disabled, org_active=ctx.org.active
    )
    return lifecycle.effective_access(facts)


def _membership_for(db: Session, ctx: ScimContext, doc: dict[str, Any]) -> tuple[Membership, bool]:
    """Find the membership a POST lands on (P1–P6, P8); True when it re-links one."""
    membership = _tombstoned_membership(db, ctx, doc["userName"], doc.get("externalId"))
    email = primary_email(doc)
    if membership is None and email:
        person = db.scalars(select(User).where(User.email_normalized == email.lower())).first()
        if person is not None:
            membership = queries.membership_of(db, ctx.org.id, person.id)
            if membership is None:
                return _new_membership(
                    db, ctx, person, linked=_domain_verified(db, ctx, email)
                ), False
    if membership is None:
        person = User(
            email=email, email_normalized=email.lower() if email else None, name=display_name(doc)
        )
        db.add(person)
        flush_unique(db, "person", attribute="emails")
        return _new_membership(db, ctx, person, linked=True), False
    if membership.ended_at is None:
        live = queries.live_scim_id(db, membership.id)
        holder = f"SCIM User {live}" if live else f"member {membership.user_id}"
        raise Conflict(
            f"{holder} of this organization already has this person's email; "
            "look it up with a filter instead of creating it.",
            attribute="emails",
        )
    _check_exclusive(db, ctx, membership.user_id)
    membership.ended_at, membership.end_reason = None, None
    membership.role_id = queries.builtin_role_id(db, DEFAULT_ROLE)
    membership.scope, membership.source = None, "scim"
    return membership, True


def _new_membership(db: Session, ctx: ScimContext, person: User, *, linked: bool) -> Membership:
    _check_exclusive(db, ctx, person.id)
    membership = Membership(
        org_id=ctx.org.id,
        user_id=person.id,
        source="scim",
        link_state=LinkState.LINKED if linked else LinkState.PENDING_CLAIM,
        role_id=queries.builtin_role_id(db, DEFAULT_ROLE),
    )
    db.add(membership)
    db.flush()
    return membership


def _tombstoned_membership(
    db: Session, ctx: ScimContext, user_name: str, external_id: str | None
) -> Membership | None:
    """Re-add match order (row P5): externalId tombstone, else userName tombstone."""
    by_external = (
        queries.latest_tombstone(db, ctx.directory_id, external_id=external_id)
        if external_id
        else None
    )
    by_name = queries.latest_tombstone(db, ctx.directory_id, user_name=user_name)
    if by_external and by_name and by_external.membership_id != by_name.membership_id:
        raise Conflict(
            "This externalId and this userName belonged to two different deleted "
            "users; send the externalId or userName of one person.",
            attribute="externalId",
        )
    chosen = by_external or by_name
    return db.get(Membership, chosen.membership_id) if chosen else None


def _domain_verified(db: Session, ctx: ScimContext, email: str) -> bool:
    """Row P2 vs P3: only a domain this org verified may link an existing account."""
    domain = email.rpartition("@")[2].lower()
    return queries.domain_owner(db, domain) == ctx.org.id


def _check_exclusive(db: Session, ctx: ScimContext, user_id: str) -> None:
    """Row P8: the one-organisation policy refuses people active elsewhere."""
    if ctx.org.exclusive_membership and queries.live_membership_elsewhere(db, ctx.org.id, user_id):
        raise Conflict(
            "This person is a member of another organization, and this "
            "organization allows members of no other.",
            attribute="userName",
        )


def _raise_if_taken(
    db: Session, ctx: ScimContext, user_name: str, external_id: str | None, *, exclude: str | None
) -> None:
    """409 naming the holder, before the unique index has to say it less helpfully."""
    clauses = [func.lower(ScimUser.user_name) == user_name.lower()]
    if external_id is not None:
        clauses.append(ScimUser.external_id == external_id)
    stmt = select(ScimUser.id, ScimUser.user_name).where(
        ScimUser.directory_id == ctx.directory_id, ScimUser.deleted_at.is_(None), or_(*clauses)
    )
    if exclude:
        stmt = stmt.where(ScimUser.id != exclude)
    holder = db.execute(stmt.limit(1)).first()
    if holder is not None:
        attribute = "userName" if holder.user_name.lower() == user_name.lower() else "externalId"
        raise Conflict(f"{attribute} is already used by User {holder.id}.", attribute=attribute)


def _write_values(db: Session, scim_user_id: str, attributes: dict[str, Any]) -> None:
    rows = value_rows(attributes)
    if rows:
        db.execute(insert(ScimUserValue), [{"scim_user_id": scim_user_id, **r} for r in rows])


def _snapshot(m: Membership) -> dict[str, Any]:
    """D, O, ended and grants, for the event trail's before/after."""
    return {
        "directory_state": m.directory_state,
        "admin_override": m.admin_override,
        "ended_at": m.ended_at.isoformat() if m.ended_at else None,
        "end_reason": m.end_reason,
        "role_id": m.role_id,
        "scope": m.scope,
        "link_state": m.link_state,
    }
