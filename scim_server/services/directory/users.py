"""SCIM Users over memberships: rows P, U and X of docs/lifecycle.md §2.5.

A SCIM user is a view of a membership. POST creates or re-links the person and the
membership; ``active`` writes only the directory state D; DELETE tombstones the view
and ends the membership, keeping the person, the membership row and the history.
What each event does is ``lifecycle.transition``'s decision; ``transitions.apply``
carries it out with its single event. No-ops record nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from typing import cast

from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import cast as sql_cast
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.paths import Path
from scim_server.scim.schema import CORE_USER
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.preconditions import check_if_match
from scim_server.services.directory.preconditions import flush_unique
from scim_server.services.directory.preconditions import insert_unique
from scim_server.services.directory.profile import profile_json
from scim_server.services.directory.profile import sync_person
from scim_server.services.directory.scim_documents import MembershipColumns
from scim_server.services.directory.scim_documents import UserColumns
from scim_server.services.directory.scim_documents import display_name
from scim_server.services.directory.scim_documents import primary_email
from scim_server.services.directory.scim_documents import stored_attributes
from scim_server.services.directory.scim_documents import user_to_scim
from scim_server.services.directory.scim_documents import value_rows
from scim_server.services.emails import canonical_email
from scim_server.services.emails import domain_of
from scim_server.services.errors import Conflict
from scim_server.services.errors import InvalidInput
from scim_server.services.errors import NotFound
from scim_server.services.membership import access
from scim_server.services.membership import lifecycle
from scim_server.services.membership import seats
from scim_server.services.membership import transitions
from scim_server.services.membership.lifecycle import AccessFacts
from scim_server.services.membership.lifecycle import Refused
from scim_server.services.membership.lifecycle import Trigger
from scim_server.storage import prepared
from scim_server.storage import queries
from scim_server.storage import row_writes
from scim_server.storage import scim_reads
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue
from scim_server.storage.models import User
from scim_server.storage.models import new_id
from scim_server.storage.models import utcnow
from scim_server.storage.planner_hints import any_within

DEFAULT_ROLE = "member"


@dataclass(frozen=True)
class UserView:
    """A SCIM user row with what its representation needs."""

    row: ScimUser
    membership: Membership
    user_disabled: bool = False
    person: User | None = None  # loaded with the row, for profile sync (docs/lifecycle.md §9)
    # (group id, display name), by name, when read with the row (a PATCH or PUT answer's).
    group_pairs: list[tuple[str, str | None]] | None = None

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


def read_user(
    db: prepared.Runner, ctx: ScimContext, scim_id: str, *, with_groups: bool
) -> dict[str, Any]:
    """GET /Users/{id}: the whole document from Core rows (``storage/scim_reads.py``),
    one statement, its groups included (a JSON aggregate in the same row)."""
    row = scim_reads.live_user_document(db, ctx.directory_id, scim_id, with_groups=with_groups)
    if row is None:
        raise NotFound(f"No User with id {excerpt(scim_id)}.")
    groups = group_refs(ctx, scim_reads.group_pairs(row)) if with_groups else None
    return user_to_scim(
        cast(UserColumns, row),
        cast(MembershipColumns, row),
        location=ctx.location("Users", scim_id),
        groups=groups,
        user_disabled=row.disabled_at is not None,
        org_active=ctx.org.active,
    )


def user_groups(
    db: Session, ctx: ScimContext, user_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The readOnly ``groups`` of each user, for a page of users in one query."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not user_ids:
        return out
    for row in scim_reads.groups_of_users(db, ctx.directory_id, user_ids):
        out[row.member_id].extend(group_refs(ctx, [(row.id, row.display_name)]))
    return out


def group_refs(ctx: ScimContext, pairs: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """The readOnly ``groups`` values for (group id, display name) pairs."""
    return [
        {
            "value": group_id,
            "$ref": ctx.location("Groups", group_id),
            "display": name,
            "type": "direct",
        }
        for group_id, name in pairs
    ]


def get_user(db: Session, ctx: ScimContext, scim_id: str, *, for_update: bool = False) -> UserView:
    found = queries.live_scim_user(db, ctx.directory_id, scim_id, for_update=for_update)
    if found is None:
        raise NotFound(f"No User with id {excerpt(scim_id)}.")
    row, membership, user = found
    return UserView(row, membership, user.disabled_at is not None, user)


def _get_user_to_answer(db: Session, ctx: ScimContext, scim_id: str) -> UserView:
    """``get_user`` locked, with its groups: a user PATCH or PUT answers the whole user,
    and a user's own write never changes its groups (``groups`` is readOnly)."""
    found = queries.live_scim_user_with_groups(db, ctx.directory_id, scim_id)
    if found is None:
        raise NotFound(f"No User with id {excerpt(scim_id)}.")
    row, membership, user, pairs = found
    return UserView(row, membership, user.disabled_at is not None, user, pairs)


def create_user(db: Session, ctx: ScimContext, doc: dict[str, Any]) -> UserView:
    """POST /Users (rows P1–P8): create, or re-link a deleted member to the same person."""
    user_name, external_id = doc["userName"], doc.get("externalId")
    claims = _claims(db, ctx, user_name, external_id, primary_email(doc))
    _raise_if_held(claims.live, user_name)
    existing, person, link_state, new_person = _landing(db, ctx, doc, claims)
    state = access.state_of(existing) if existing else None
    try:
        tr = lifecycle.transition(
            state, Trigger.DIRECTORY_CREATED, active=doc.get("active", True), link_state=link_state
        )
    except Refused:
        raise _live_member_conflict(db, existing) from None
    _check_exclusive(db, ctx, person.id)
    scim_id = new_id()
    target = Target("scim_user", scim_id)
    role_id = queries.builtin_role_id(db, DEFAULT_ROLE)
    if existing is None:
        membership = transitions.create(
            db,
            org_id=ctx.org.id,
            user_id=person.id,
            source="scim",
            role_id=role_id,
            tr=tr,
            actor=ctx.actor,
            target=target,
            new_person=new_person,
            attach=False,
        )
    else:
        membership = existing
        membership.role_id, membership.scope, membership.source = role_id, None, "scim"
        transitions.apply(db, membership, tr, actor=ctx.actor, target=target)
    _flag_seats(db, ctx, tr)
    row = row_writes.transient(
        ScimUser,
        id=scim_id,
        directory_id=ctx.directory_id,
        membership_id=membership.id,
        user_name=user_name,
        external_id=external_id,
        display_name=doc.get("displayName"),
        attributes=stored_attributes(doc),
    )
    insert_unique(db, row, "User", attribute="userName", attach=False)
    _write_values(db, row.id, row.attributes)
    return UserView(row, membership, person.disabled_at is not None, person)


def replace_user(
    db: Session, ctx: ScimContext, scim_id: str, doc: dict[str, Any], *, if_match: str | None = None
) -> UserView:
    """PUT /Users/{id}. A body without ``active`` never changes access (row U6)."""
    view = _get_user_to_answer(db, ctx, scim_id)
    check_if_match(view.row.version, if_match)
    _store(db, ctx, view, doc)
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
    view = _get_user_to_answer(db, ctx, scim_id)
    check_if_match(view.row.version, if_match)
    _refuse_clearing_active(ops)
    active = _only_active(ops)
    if active is not None:  # Entra's and Okta's deprovisioning PATCH: nothing else to store
        _transition(db, ctx, view, _ACTIVE_TRIGGERS[active])
        return view
    patched = apply_patch(view.to_scim(ctx), ops, ctx.registry.user)
    _store(db, ctx, view, ctx.validators["User"].validate(patched))
    return view


_ACTIVE_TRIGGERS = {True: Trigger.DIRECTORY_ACTIVATED, False: Trigger.DIRECTORY_DEACTIVATED}


def _only_active(ops: list[PatchOperation]) -> bool | None:
    """The ``active`` a PATCH sets when setting it is all the PATCH does, else None.

    Such a PATCH stores exactly what ``_store`` would after applying it to the document
    and validating the result (every other attribute stays as stored and valid), so it
    skips both; anything else, a non-boolean value included, takes the general path and
    its errors.
    """
    active: bool | None = None
    for op in ops:
        if op.op not in ("replace", "add"):
            return None
        if op.path is None:
            if not isinstance(op.value, dict) or len(op.value) != 1:
                return None
            ((key, value),) = op.value.items()
            if key.lower() != "active":
                return None
        elif _is_core_active(op.path):
            value = op.value
        else:
            return None
        if not isinstance(value, bool):
            return None
        active = value
    return active


def _is_core_active(path: Path) -> bool:
    return (
        path.attribute.name == "active"
        and path.schema.lower() == CORE_USER.lower()
        and path.value_filter is None
        and path.sub_attribute is None
    )


def delete_user(
    db: Session, ctx: ScimContext, scim_id: str, *, if_match: str | None = None
) -> None:
    """DELETE (row X1): tombstone the view, end the membership, keep person and history."""
    view = get_user(db, ctx, scim_id, for_update=True)
    check_if_match(view.row.version, if_match)
    _transition(db, ctx, view, Trigger.DIRECTORY_DELETED)


def _refuse_clearing_active(ops: list[PatchOperation]) -> None:
    """Row U7: ``active`` takes true or false; removing or nulling it is refused, so an
    IdP's malformed deprovision never silently leaves someone with access."""
    for op in ops:
        if op.path is None and isinstance(op.value, dict):
            cleared = any(k.lower() == "active" and v is None for k, v in op.value.items())
        else:
            cleared = (
                op.path is not None
                and op.path.attribute.name == "active"
                and (op.op == "remove" or op.value is None)
            )
        if cleared:
            raise InvalidInput("'active' must be true or false; it cannot be removed.")


def _store(db: Session, ctx: ScimContext, view: UserView, doc: dict[str, Any]) -> None:
    """Store a validated document; change D only when ``active`` is given."""
    row = view.row
    user_name, external_id = doc["userName"], doc.get("externalId")
    attributes = stored_attributes(doc)
    changed = (user_name, external_id, attributes) != (
        row.user_name,
        row.external_id,
        row.attributes,
    )
    active = doc.get("active")
    tr = None
    if active is not None:  # the lifecycle runs only when D actually changes (below)
        trigger = Trigger.DIRECTORY_ACTIVATED if active else Trigger.DIRECTORY_DEACTIVATED
        tr = _plan(ctx, view, trigger)
    if changed or (tr is not None and tr.changed):
        _touch(row)
    if changed:
        _store_attributes(db, ctx, view, user_name, external_id, attributes, doc)
    if tr is not None:
        _apply(db, ctx, view, tr)


def _touch(row: ScimUser) -> None:
    """One new ETag per request, however much changed; set before anything flushes, so
    the row's attributes and version go out in one UPDATE."""
    row.version += 1
    row.updated_at = utcnow()


def _store_attributes(
    db: Session,
    ctx: ScimContext,
    view: UserView,
    user_name: str,
    external_id: str | None,
    attributes: dict[str, Any],
    doc: dict[str, Any],
) -> None:
    row = view.row
    renamed = (user_name.lower(), external_id) != (row.user_name.lower(), row.external_id)
    if renamed:
        _raise_if_taken(db, ctx, user_name, external_id, exclude=row.id)
    before = {"userName": row.user_name, "externalId": row.external_id}
    before.update(profile_json(row.attributes))
    values_changed = value_rows(attributes) != value_rows(row.attributes)
    row.user_name, row.external_id, row.attributes = user_name, external_id, attributes
    row.display_name = doc.get("displayName")
    if renamed:  # only a new userName or externalId can collide in the unique indexes
        flush_unique(db, "User", attribute="userName")
    if values_changed:  # a name change leaves the filter index rows as they are
        db.execute(delete(ScimUserValue).where(ScimUserValue.scim_user_id == row.id))
        _write_values(db, row.id, attributes)
    after: dict[str, Any] = {"userName": user_name, "externalId": external_id}
    after.update(profile_json(doc))
    if view.person is not None and sync_person(db, ctx, view.person, doc):
        after["person_updated"] = True
    membership, event = view.membership, EventType.USER_UPDATED
    record(db, ctx.org.id, ctx.actor, event, row, membership=membership, before=before, after=after)


def _transition(db: Session, ctx: ScimContext, view: UserView, trigger: Trigger) -> None:
    """Run one directory event through the state machine and carry it out."""
    tr = _plan(ctx, view, trigger)
    if tr.changed and not tr.tombstone_scim:  # a new ETag; nothing else of the row changes
        row = view.row
        row_writes.update_now(db, row, {"version": row.version + 1, "updated_at": utcnow()})
    _apply(db, ctx, view, tr)


def _plan(ctx: ScimContext, view: UserView, trigger: Trigger) -> lifecycle.Transition:
    """What ``trigger`` does to this member, decided from rows the request already holds:
    the person came with the view and the organisation with the token (no extra reads)."""
    facts = AccessFacts(user_disabled=view.user_disabled, org_active=ctx.org.active)
    return lifecycle.transition(access.state_of(view.membership), trigger, facts=facts)


def _apply(db: Session, ctx: ScimContext, view: UserView, tr: lifecycle.Transition) -> None:
    """Write a planned transition; the caller has already bumped the view's version."""
    m = view.membership
    transitions.apply(db, m, tr, actor=ctx.actor, target=view.row, scim_view=view.row)
    _flag_seats(db, ctx, tr)


def _flag_seats(db: Session, ctx: ScimContext, tr: lifecycle.Transition) -> None:
    """SCIM never fails for seats; taking one past the limit flags the org (row U3)."""
    if lifecycle.counts_as_seat(tr.after) and not lifecycle.counts_as_seat(tr.before):
        seats.flag_if_over(db, ctx.org)


def _landing(
    db: Session, ctx: ScimContext, doc: dict[str, Any], claims: _Claims
) -> tuple[Membership | None, User, str, bool]:
    """Where a POST lands (rows P1–P6): an ended membership to revive, or a person to add.

    Match order (row P5): an externalId tombstone, else a userName tombstone, else the
    person with that email. A new person needs no claim; an existing account is linked at
    once only on a domain this organisation verified (row P2), else it waits for a claim (row P3).
    The last element says whether the person was created by this request.
    """
    membership = _tombstoned_membership(db, claims)
    if membership is not None:
        person = db.get_one(User, membership.user_id)
        return membership, person, membership.link_state, False
    email = primary_email(doc)
    person_id, verified = claims.email_holder, claims.domain_owner == ctx.org.id
    if person_id is None:
        created = _new_person(db, ctx, email, verified, doc)
        if created is not None:
            return None, created, LinkState.LINKED, True
        # Another organisation created this person a moment ago: land as row P2 or P3 on it.
        assert email is not None
        person = db.scalars(
            select(User).where(User.email_normalized == canonical_email(email))
        ).one()
    else:
        person = db.get_one(User, person_id)
    existing = queries.membership_of(db, ctx.org.id, person.id)
    if existing is not None:
        return existing, person, existing.link_state, False
    return None, person, LinkState.LINKED if verified else LinkState.PENDING_CLAIM, False


def _new_person(
    db: Session, ctx: ScimContext, email: str | None, verified: bool, doc: dict[str, Any]
) -> User | None:
    """Create the person, or None when a parallel request created the same email first.

    The org's own IdP vouches for an address on a domain the org verified. ``ON CONFLICT
    DO NOTHING`` loses the race on the email's unique index without a savepoint.
    """
    person = row_writes.transient(
        User,
        email=email,
        email_normalized=canonical_email(email) if email else None,
        email_verified=email is not None and verified,
        name=display_name(doc),
        # This directory created the person, so it keeps their global profile current.
        profile_org_id=ctx.org.id,
    )
    upsert = _INSERT_PERSON[db.get_bind().dialect.name]
    inserted = row_writes.insert_now(db, person, upsert, attach=False)
    return person if inserted else None


# Built once per dialect; the row's values are bound at execution.
_PEOPLE = cast(Table, User.__table__)
_INSERT_PERSON = {
    "postgresql": postgresql.insert(_PEOPLE).on_conflict_do_nothing().returning(_PEOPLE.c.id),
    "sqlite": sqlite.insert(_PEOPLE).on_conflict_do_nothing().returning(_PEOPLE.c.id),
}


def _live_member_conflict(db: Session, m: Membership | None) -> Conflict:
    """Row P4: the person is already a live member; IdPs should find them by filter."""
    live = queries.live_scim_id(db, m.id) if m else None
    holder = f"SCIM User {live}" if live else f"member {m.user_id if m else '?'}"
    return Conflict(
        f"{holder} of this organization already has this person's email; "
        "look it up with a filter instead of creating it.",
        attribute="emails",
    )


@dataclass(frozen=True)
class _Claims:
    """Who already holds a POST's userName or externalId: the live holder, if any, and the
    latest tombstone by each (row P5); and for its primary email, the person holding it and
    the organisation that verified its domain (rows P2, P3). Read in one statement."""

    live: Any
    by_external: Any
    by_name: Any
    email_holder: str | None
    domain_owner: str | None


def _claims(
    db: Session, ctx: ScimContext, user_name: str, external_id: str | None, email: str | None
) -> _Claims:
    """One round trip for the uniqueness pre-check, the re-add match and the email's facts."""
    key = canonical_email(email) if email else None
    stmt = _CLAIMS[external_id is not None, key is not None]
    params = {
        "directory_id": ctx.directory_id,
        "name": user_name.lower(),
        "ext": external_id,
        "email": key,
        "domain": domain_of(key) if key else None,
    }
    # Straight to the driver on the session's connection (``prepared``): nothing is
    # pending this early in a create, and the ORM's execution cost more than the statement.
    found = {row.k: row for row in prepared.rows(db, stmt, params)}
    facts = found.get("email")
    holder, owner = (facts.id, facts.user_name) if facts is not None else (None, None)
    live = found.get("live") or found.get("live_external")
    return _Claims(live, found.get("external"), found.get("name"), holder, owner)


def _claims_statement(*, with_external: bool, with_email: bool) -> Any:
    """The union behind ``_claims``, built once per shape with bound parameters (building
    and keying it per request cost more than running it)."""
    users = cast(Table, ScimUser.__table__).c
    name_is = func.lower(users.user_name) == bindparam("name")
    external_is = users.external_id == bindparam("ext")
    in_dir = users.directory_id == bindparam("directory_id")
    latest = (users.deleted_at.is_not(None), in_dir)

    def pick(kind: str, *where: Any) -> Any:
        cols = (users.id, users.user_name, users.membership_id, literal(kind).label("k"))
        stmt = select(*cols).where(in_dir, *where).order_by(users.deleted_at.desc()).limit(1)
        return select(stmt.subquery())

    # The live holder by each key in its own arm: one OR of both keys let SQLite's planner
    # walk every live user of the directory on the partial index's directory_id alone.
    live = users.deleted_at.is_(None)
    parts = [pick("live", live, name_is)]
    if with_external:
        parts.append(pick("live_external", live, external_is))
        parts.append(pick("external", *latest, external_is))
    parts.append(pick("name", *latest, name_is))
    if with_email:  # always one row: (email holder or NULL, domain owner or NULL, NULL, 'email')
        holder, owner = queries.email_holder_and_domain_owner_columns()
        membership_id = sql_cast(null(), users.membership_id.type)
        parts.append(select(holder, owner, membership_id, literal("email").label("k")))
    return union_all(*parts)


_CLAIMS = {
    (with_external, with_email): _claims_statement(
        with_external=with_external, with_email=with_email
    )
    for with_external in (False, True)
    for with_email in (False, True)
}


def _raise_if_held(holder: Any, user_name: str) -> None:
    """409 naming the holder, before the unique index has to say it less helpfully."""
    if holder is not None:
        attribute = "userName" if holder.user_name.lower() == user_name.lower() else "externalId"
        raise Conflict(f"{attribute} is already used by User {holder.id}.", attribute=attribute)


def _tombstoned_membership(db: Session, claims: _Claims) -> Membership | None:
    """Re-add match order (row P5): externalId tombstone, else userName tombstone."""
    by_external, by_name = claims.by_external, claims.by_name
    if by_external and by_name and by_external.membership_id != by_name.membership_id:
        raise Conflict(
            "This externalId and this userName belonged to two different deleted "
            "users; send the externalId or userName of one person.",
            attribute="externalId",
        )
    chosen = by_external or by_name
    return db.get(Membership, chosen.membership_id) if chosen else None


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
    live = and_(ScimUser.directory_id == ctx.directory_id, ScimUser.deleted_at.is_(None))
    stmt = select(ScimUser.id, ScimUser.user_name).where(any_within(live, *clauses))
    if exclude:
        stmt = stmt.where(ScimUser.id != exclude)
    _raise_if_held(db.execute(stmt.limit(1)).first(), user_name)


def _write_values(db: Session, scim_user_id: str, attributes: dict[str, Any]) -> None:
    rows = value_rows(attributes)
    if rows:  # after the view's own INSERT, which went out at once (``insert_unique``)
        db.flush()
        prepared.execute(db, _INSERT_VALUES, [{"scim_user_id": scim_user_id, **r} for r in rows])


# Core, built once: the ORM's bulk INSERT of plain dicts built the statement and its
# per-mapper plan on every call.
_INSERT_VALUES = insert(cast(Table, ScimUserValue.__table__))
