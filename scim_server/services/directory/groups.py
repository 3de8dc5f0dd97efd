"""SCIM Groups with members as rows: every member change is set-based SQL.

Adding or removing one member costs the same whether the group has 10 or 100,000
members: members are never loaded to change one, and a group read that excludes
``members`` never touches the member table.
"""

from __future__ import annotations

from typing import Any
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import DateTime
from sqlalchemy import SQLColumnExpression
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from scim_server.scim.errors import excerpt
from scim_server.scim.errors import quoted
from scim_server.scim.filter import Column
from scim_server.scim.filter import Target
from scim_server.scim.filter import compile_ast
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import split_member_operations
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.audit import record_many
from scim_server.services.directory import group_grants
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.preconditions import check_if_match
from scim_server.services.directory.preconditions import flush_unique
from scim_server.services.directory.scim_documents import group_to_scim
from scim_server.services.directory.scim_documents import stored_attributes
from scim_server.services.errors import Conflict
from scim_server.services.errors import InvalidInput
from scim_server.services.errors import InvalidPath
from scim_server.services.errors import InvalidReference
from scim_server.services.errors import NotFound
from scim_server.storage import row_writes
from scim_server.storage import tombstones
from scim_server.storage.attr_map import id_reference
from scim_server.storage.models import GroupMember
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow


def get_group(
    db: Session, ctx: ScimContext, group_id: str, *, for_update: bool = False
) -> ScimGroup:
    stmt = select(ScimGroup).where(
        ScimGroup.id == group_id, ScimGroup.directory_id == ctx.directory_id
    )
    if for_update:
        stmt = stmt.with_for_update()
    group = db.scalars(stmt).first()
    if group is None:
        raise NotFound(f"No Group with id {excerpt(group_id)}.")
    return group


def to_scim(
    db: Session, ctx: ScimContext, group: ScimGroup, *, with_members: bool
) -> dict[str, Any]:
    members = load_members(db, ctx, group.id) if with_members else None
    return group_to_scim(group, location=ctx.location("Groups", group.id), members=members)


def load_members(db: Session, ctx: ScimContext, group_id: str) -> list[dict[str, Any]]:
    """All members in one query, with their display names."""
    nested = aliased(ScimGroup)
    rows = db.execute(
        select(
            GroupMember.member_id,
            GroupMember.member_type,
            ScimUser.display_name,
            ScimUser.user_name,
            nested.display_name,
        )
        .outerjoin(ScimUser, ScimUser.id == GroupMember.member_id)
        .outerjoin(nested, nested.id == GroupMember.member_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.member_id)
    )
    members = []
    for member_id, kind, user_display, user_name, group_display in rows:
        endpoint = "Users" if kind == "User" else "Groups"
        members.append(
            {
                "value": member_id,
                "$ref": ctx.location(endpoint, member_id),
                "display": user_display or user_name or group_display,
                "type": kind,
            }
        )
    return members


def create_group(db: Session, ctx: ScimContext, doc: dict[str, Any]) -> ScimGroup:
    _raise_if_taken(db, ctx, doc["displayName"], doc.get("externalId"), exclude=None)
    group = ScimGroup(
        directory_id=ctx.directory_id,
        display_name=doc["displayName"],
        external_id=doc.get("externalId"),
        attributes=stored_attributes(doc, group=True),
    )
    db.add(group)
    flush_unique(db, "Group", attribute="displayName")
    after = {"displayName": group.display_name}
    record(db, ctx.org.id, ctx.actor, EventType.GROUP_CREATED, group, after=after)
    added = _add_members(db, ctx, group, doc.get("members") or [])
    _settle_grants(db, ctx, group, added, old_name=None, mapped=None)
    return group


def replace_group(
    db: Session,
    ctx: ScimContext,
    group_id: str,
    doc: dict[str, Any],
    *,
    if_match: str | None = None,
) -> ScimGroup:
    """PUT. Without ``members`` the members stay: like a PUT without ``active`` (row U6),
    an omitted attribute never strips people; send ``members: []`` to empty the group."""
    group, mapped = _lock_group(db, ctx, group_id)
    check_if_match(group.version, if_match)
    old_name = group.display_name
    changed = _store_attributes(db, ctx, group, doc)
    moved: list[str] = []
    if "members" in doc:
        moved = _replace_members(db, ctx, group, doc["members"] or [])
    if changed or moved:
        _touch(db, group)
    _settle_grants(db, ctx, group, moved, old_name=old_name, mapped=mapped)
    return group


def patch_group(
    db: Session,
    ctx: ScimContext,
    group_id: str,
    ops: list[PatchOperation],
    *,
    if_match: str | None = None,
) -> ScimGroup:
    """PATCH: member operations run as SQL, in order; the rest apply to the document."""
    group, mapped = _lock_group(db, ctx, group_id)
    check_if_match(group.version, if_match)
    old_name = group.display_name
    member_ops, other_ops = split_member_operations(ops)
    changed = False
    if other_ops:
        current = group_to_scim(group, location="", members=None)
        patched = apply_patch(current, other_ops, ctx.registry.group)
        doc = ctx.validators["Group"].validate(patched)
        changed = _store_attributes(db, ctx, group, doc)
    moved: list[str] = []
    for op in member_ops:
        moved.extend(_member_operation(db, ctx, group, op))
    if changed or moved:
        _touch(db, group)
    _settle_grants(db, ctx, group, moved, old_name=old_name, mapped=mapped)
    return group


def delete_group(
    db: Session, ctx: ScimContext, group_id: str, *, if_match: str | None = None
) -> None:
    group, mapped = _lock_group(db, ctx, group_id)
    check_if_match(group.version, if_match)
    if mapped:
        # Withdraw what the group granted while its members can still be found.
        scope = group_grants.members_of_group(group.id)
        cause = "group deleted"
        group_grants.sync(
            db, ctx.org.id, scope, actor=ctx.actor, cause=cause, without_group=group.id
        )
        group_grants.drop_id_mappings(db, ctx.org.id, group.id, actor=ctx.actor)
    members = select(GroupMember.member_id).where(GroupMember.group_id == group.id)
    db.execute(
        update(ScimUser)
        .where(ScimUser.id.in_(members))
        .values(version=ScimUser.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    remove_member_everywhere(db, ctx.org.id, ctx.directory_id, group.id, actor=ctx.actor)
    before = {"displayName": group.display_name}
    record(db, ctx.org.id, ctx.actor, EventType.GROUP_DELETED, group, before=before)
    db.delete(group)


def remove_member_everywhere(
    db: Session, org_id: str, directory_id: str, member_id: str, *, actor: Actor
) -> None:
    """Take a deleted group out of every group of this directory."""
    group_ids = tombstones.leave_groups(db, directory_id, member_id)
    record_many(
        db,
        org_id,
        actor,
        EventType.GROUP_MEMBER_REMOVED,
        target_type="scim_group",
        rows=[{"target_id": gid, "after": {"member": member_id}} for gid in group_ids],
    )


def _lock_group(db: Session, ctx: ScimContext, group_id: str) -> tuple[ScimGroup, bool]:
    """The group, locked for a change, and whether a mapping names it: one statement, so a
    member change to an unmapped group costs nothing more than before mappings existed."""
    params = {"org_id": ctx.org.id, "group_id": group_id, "directory_id": ctx.directory_id}
    row = db.execute(_LOCK_GROUP, params).first()
    if row is None:
        raise NotFound(f"No Group with id {excerpt(group_id)}.")
    return row[0], bool(row[1])


_LOCK_GROUP = (
    select(ScimGroup, group_grants.mapped_expression(bindparam("org_id")))
    .where(
        ScimGroup.id == bindparam("group_id"), ScimGroup.directory_id == bindparam("directory_id")
    )
    .with_for_update(of=ScimGroup)
)


def _settle_grants(
    db: Session,
    ctx: ScimContext,
    group: ScimGroup,
    moved: list[str],
    *,
    old_name: str | None,
    mapped: bool | None,
) -> None:
    """Recompute the grants of the members a change touched, when a mapping names the group
    (docs/lifecycle.md §2.7): the members added or removed, or every member on a rename
    that makes a mapping by name start or stop applying. ``mapped`` is what the group's
    lock read (None: not known yet, for a new group)."""
    renamed = old_name is not None and old_name.lower() != group.display_name.lower()
    if not moved and not renamed:
        return
    if renamed or mapped is None:
        names = [group.display_name] + ([old_name] if renamed and old_name else [])
        mapped = group_grants.group_is_mapped(db, ctx.org.id, group, names=names)
    if not mapped:
        return
    scope = (
        group_grants.members_of_group(group.id, also_scim_ids=moved)
        if renamed
        else group_grants.members_of_scim_ids(moved)
    )
    cause = "group renamed" if renamed else "group members changed"
    group_grants.sync(db, ctx.org.id, scope, actor=ctx.actor, cause=cause)


def _member_operation(
    db: Session, ctx: ScimContext, group: ScimGroup, op: PatchOperation
) -> list[str]:
    path = op.path
    if path is not None and path.sub_attribute is not None:
        raise InvalidPath(
            "Members cannot be changed one sub-attribute at a time; "
            "add or remove the member instead."
        )
    value_filter = path.value_filter if path is not None else None
    if op.op == "add":
        if value_filter is not None:
            raise InvalidPath("'add' takes the path 'members' without a filter.")
        return _add_members(db, ctx, group, _as_list(op.value))
    if op.op == "remove":
        return _remove_members(db, ctx, group, value_filter)
    if value_filter is None:
        return _replace_members(db, ctx, group, _as_list(op.value))
    removed = _remove_members(db, ctx, group, value_filter)
    return removed + _add_members(db, ctx, group, _as_list(op.value))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _member_ids(values: list[Any]) -> list[str]:
    ids = []
    for item in values:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("value"), str)
            or not item["value"]
        ):
            raise InvalidInput(f"Each member needs a string 'value' (an id); got {quoted(item)}.")
        ids.append(item["value"])
    return list(dict.fromkeys(ids))


def _resolve_members(db: Session, ctx: ScimContext, ids: list[str]) -> dict[str, str]:
    """Map each id to 'User' or 'Group'; an id that is neither here is an error."""
    found: dict[str, str] = {}
    for chunk in tombstones.chunks(ids):
        found.update(
            (i, "User")
            for i in db.scalars(
                select(ScimUser.id).where(
                    ScimUser.id.in_(chunk),
                    ScimUser.deleted_at.is_(None),
                    ScimUser.directory_id == ctx.directory_id,
                )
            )
        )
        found.update(
            (i, "Group")
            for i in db.scalars(
                select(ScimGroup.id).where(
                    ScimGroup.id.in_(chunk), ScimGroup.directory_id == ctx.directory_id
                )
            )
        )
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise InvalidReference(f"No User or Group with id {excerpt(shown)} in this directory.")
    return found


def _add_members(db: Session, ctx: ScimContext, group: ScimGroup, values: list[Any]) -> list[str]:
    """Insert the new members; ones already present are no change (RFC 7644 §3.5.2.1).

    The common case (every id names a live User or Group of this directory that is not a
    member yet) is one ``INSERT … SELECT`` per chunk, whose SELECT checks the ids as it
    inserts them. Only when fewer rows come back are the ids resolved one by one, to tell
    an unknown id (an error: the request rolls back) from a member already present.
    """
    ids = _member_ids(values)
    if not ids:
        return []
    if group.id in ids:
        _resolve_members(db, ctx, ids)  # an unknown id is still the first complaint
        raise InvalidInput("A group cannot be a member of itself.")
    added: list[str] = []
    for chunk in tombstones.chunks(ids):
        added.extend(_insert_known_members(db, ctx, group, chunk))
    if len(added) < len(ids):
        _resolve_members(db, ctx, ids)
    position = {member_id: n for n, member_id in enumerate(ids)}
    added.sort(key=position.__getitem__)  # events in the order the request named them
    _record_members(db, ctx, group, EventType.GROUP_MEMBER_ADDED, added)
    return added


def _insert_known_members(
    db: Session, ctx: ScimContext, group: ScimGroup, ids: list[str]
) -> list[str]:
    """Insert those of ``ids`` that are live Users or Groups of this directory and not yet
    members; return the ids inserted."""
    now = literal(utcnow(), DateTime())
    gid = literal(group.id, String())
    users = select(gid, ScimUser.id, literal("User", String()), now).where(
        ScimUser.id.in_(ids),
        ScimUser.deleted_at.is_(None),
        ScimUser.directory_id == ctx.directory_id,
    )
    nested = select(gid, ScimGroup.id, literal("Group", String()), now).where(
        ScimGroup.id.in_(ids), ScimGroup.directory_id == ctx.directory_id
    )
    insert_ = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert_(GroupMember)
        .from_select(["group_id", "member_id", "member_type", "added_at"], union_all(users, nested))
        .on_conflict_do_nothing()
        .returning(GroupMember.member_id)
    )
    return list(db.scalars(stmt))


def _remove_members(
    db: Session, ctx: ScimContext, group: ScimGroup, value_filter: Any
) -> list[str]:
    where: list[ColumnElement[bool]] = [GroupMember.group_id == group.id]
    if value_filter is not None:
        where.append(compile_ast(value_filter, _member_row_resolver(ctx)))
    removed = list(
        db.scalars(delete(GroupMember).where(and_(*where)).returning(GroupMember.member_id))
    )
    _record_members(db, ctx, group, EventType.GROUP_MEMBER_REMOVED, removed)
    return removed


def _replace_members(
    db: Session, ctx: ScimContext, group: ScimGroup, values: list[Any]
) -> list[str]:
    """Make the member set equal to ``values``, touching only the rows that differ."""
    wanted = _member_ids(values)
    current = set(db.scalars(select(GroupMember.member_id).where(GroupMember.group_id == group.id)))
    stale = [i for i in current if i not in set(wanted)]
    removed: list[str] = []
    for chunk in tombstones.chunks(stale):
        removed.extend(
            db.scalars(
                delete(GroupMember)
                .where(GroupMember.group_id == group.id, GroupMember.member_id.in_(chunk))
                .returning(GroupMember.member_id)
            )
        )
    _record_members(db, ctx, group, EventType.GROUP_MEMBER_REMOVED, removed)
    fresh = [{"value": i} for i in wanted if i not in current]
    return removed + _add_members(db, ctx, group, fresh)


def _member_row_resolver(ctx: ScimContext) -> Any:
    members = ctx.registry.group.attribute("members")
    assert members is not None
    columns: dict[str, SQLColumnExpression[Any]] = {
        "value": GroupMember.member_id,
        "type": GroupMember.member_type,
    }

    def resolve(urn: str | None, name: str, sub: str | None) -> Target:
        attr = members.sub(name)
        if urn or sub or attr is None or attr.name not in columns:
            raise InvalidPath(f"Member filters may test 'value' or 'type', not {quoted(name)}.")
        return Column(columns[attr.name], id_reference(attr))

    return resolve


def _record_members(
    db: Session, ctx: ScimContext, group: ScimGroup, kind: EventType, member_ids: list[str]
) -> None:
    _bump_user_versions(db, member_ids)
    rows = [{"target_id": group.id, "after": {"member": m}} for m in member_ids]
    record_many(db, ctx.org.id, ctx.actor, kind, target_type="scim_group", rows=rows)


def _bump_user_versions(db: Session, member_ids: list[str]) -> None:
    """Members' ``groups`` changed, so do their ETags (RFC 7644 §3.14); set-based."""
    now = utcnow()
    for chunk in tombstones.chunks(member_ids):
        db.execute(_BUMP_USER_VERSIONS, {"ids": chunk, "now": now})


# Core, built once: no ORM bulk-update machinery per member change.
_USERS = cast(Table, ScimUser.__table__)
_BUMP_USER_VERSIONS = (
    update(_USERS)
    .where(_USERS.c.id.in_(bindparam("ids", expanding=True)), _USERS.c.deleted_at.is_(None))
    .values(version=_USERS.c.version + 1, updated_at=bindparam("now"))
)


def _store_attributes(db: Session, ctx: ScimContext, group: ScimGroup, doc: dict[str, Any]) -> bool:
    name, external_id = doc["displayName"], doc.get("externalId")
    attributes = stored_attributes(doc, group=True)
    if (name, external_id, attributes) == (group.display_name, group.external_id, group.attributes):
        return False
    _raise_if_taken(db, ctx, name, external_id, exclude=group.id)
    before = {"displayName": group.display_name, "externalId": group.external_id}
    group.display_name, group.external_id, group.attributes = name, external_id, attributes
    flush_unique(db, "Group", attribute="displayName")
    after = {"displayName": name, "externalId": external_id}
    record(db, ctx.org.id, ctx.actor, EventType.GROUP_UPDATED, group, before=before, after=after)
    return True


def _touch(db: Session, group: ScimGroup) -> None:
    """New version and lastModified: one row, whatever the member count."""
    row_writes.update_now(db, group, {"version": group.version + 1, "updated_at": utcnow()})


def _raise_if_taken(
    db: Session, ctx: ScimContext, name: str, external_id: str | None, *, exclude: str | None
) -> None:
    """Group displayName is unique per organisation, case-insensitively (Entra requires it)."""
    stmt = select(ScimGroup.id, ScimGroup.display_name).where(
        ScimGroup.directory_id == ctx.directory_id,
        (func.lower(ScimGroup.display_name) == name.lower())
        | (
            ScimGroup.external_id == external_id
            if external_id is not None
            else func.lower(ScimGroup.display_name) == name.lower()
        ),
    )
    if exclude:
        stmt = stmt.where(ScimGroup.id != exclude)
    holder = db.execute(stmt.limit(1)).first()
    if holder is not None:
        attribute = "displayName" if holder.display_name.lower() == name.lower() else "externalId"
        raise Conflict(f"{attribute} is already used by Group {holder.id}.", attribute=attribute)
