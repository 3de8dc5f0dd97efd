"""Group mappings: which SCIM groups grant which role or site (docs/lifecycle.md §2.7).

A mapping names its group by id (it survives a rename) or by display name (it can be set
up before the IdP pushes the group, and a later group of that name picks it up). Creating
or deleting one recomputes the grants of the group's members in the same transaction,
through ``directory/group_grants.py``, set-based. The directory listing with member counts
and mappings (``GET …/groups``) lives here too, because it is what an admin maps from.

Who may map what: an Admin maps ordinary and custom roles and sites; only an Owner maps
the Admin role; nobody maps the Owner role (see ``_check_role``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.scim.errors import quoted
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory import group_grants
from scim_server.services.directory.preconditions import flush_unique
from scim_server.services.errors import Conflict
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import admin
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.grants import ADMIN
from scim_server.services.membership.grants import OWNER
from scim_server.services.membership.grants import parse_site_grants
from scim_server.services.membership.grants import resolve_role
from scim_server.services.membership.grants import role_name
from scim_server.storage import queries
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import SiteRole
from scim_server.storage.planner_hints import any_within

FIELDS = {"group", "role", "site"}
GRANTS = ("role", "sites")
_SHAPE = (
    'Send {"group": {"id": <group id>} or {"display_name": <name>}, and either '
    '"role": <role> or "site": <site id or {"site": <id>, "role": <site role>}>}.'
)


@dataclass(frozen=True)
class GroupRow:
    """A directory group as ``GET …/groups`` lists it."""

    group: ScimGroup
    member_count: int
    mappings: list[GroupMapping]


def list_mappings(
    db: Session, org: Organization, *, cursor: str | None, limit: int
) -> tuple[list[GroupMapping], str | None]:
    """A page of the organisation's mappings in id order."""
    stmt = select(GroupMapping).where(GroupMapping.org_id == org.id)
    if cursor:
        stmt = stmt.where(GroupMapping.id > admin.decode_cursor(cursor))
    rows = list(db.scalars(stmt.order_by(GroupMapping.id).limit(limit + 1)))
    return rows[:limit], _next(rows, limit)


def create_mapping(
    db: Session, org: Organization, body: dict[str, Any], *, by: AdminActor
) -> GroupMapping:
    """Validate, store, then recompute the grants of the group's members."""
    unknown = set(body) - FIELDS
    if unknown or "group" not in body or ("role" in body) == ("site" in body):
        extra = f" Unknown: {', '.join(sorted(unknown))}." if unknown else ""
        raise ProvisioningError(ErrorCode.MAPPING_INVALID, _SHAPE + extra)
    directory_id = _directory_id(db, org)
    mapping = GroupMapping(org_id=org.id, created_by=by.user_id or admin.KEY)
    _set_group(db, directory_id, mapping, body["group"])
    if "role" in body:
        role = _check_role(db, org, body["role"], by)
        mapping.role_id, mapping.grant_key = role.id, "role"
    else:
        ((site_id, site_role_id),) = parse_site_grants(db, org, [body["site"]]).items()
        mapping.site_id, mapping.site_role_id = site_id, site_role_id
        mapping.grant_key = f"site:{site_id}"
    _refuse_duplicate(db, mapping)
    db.add(mapping)
    try:
        flush_unique(db, "group mapping", attribute="group")
    except Conflict:
        raise _duplicate(None) from None
    record(db, org.id, by.actor, EventType.GROUP_MAPPING_CREATED, mapping, after=_audit(mapping))
    scope = group_grants.members_of_mapping(org.id, directory_id, mapping)
    group_grants.sync(db, org.id, scope, actor=by.actor, cause="group mapping created")
    return mapping


def delete_mapping(db: Session, org: Organization, mapping_id: str, *, by: AdminActor) -> None:
    """Remove a mapping and withdraw what it granted (unless another mapping grants it)."""
    mapping = db.scalars(
        select(GroupMapping)
        .where(GroupMapping.id == mapping_id, GroupMapping.org_id == org.id)
        .with_for_update()
    ).first()
    if mapping is None:
        raise NotFound(f"No group mapping {excerpt(mapping_id)} in this organization.")
    if mapping.role_id is not None and role_name(db, mapping.role_id) in (OWNER, ADMIN):
        _require_owner(by, "Only an Owner can remove a mapping to the Admin role.")
    directory_id = _directory_id(db, org)
    scope = group_grants.members_of_mapping(org.id, directory_id, mapping)
    record(db, org.id, by.actor, EventType.GROUP_MAPPING_DELETED, mapping, before=_audit(mapping))
    db.delete(mapping)
    db.flush()
    group_grants.sync(db, org.id, scope, actor=by.actor, cause="group mapping deleted")


def return_to_directory(
    db: Session, org: Organization, user_id: str, grants: Any, *, by: AdminActor
) -> Membership:
    """Clear an admin's role and/or sites override; the mappings decide them again, now."""
    chosen = _grants_arg(grants)
    m = admin.get_membership(db, org, user_id, lock=True)
    was_owner = role_name(db, m.role_id) == OWNER
    if was_owner:
        _require_owner(by, "Only an Owner can act on an Owner.")
    held = {"role": m.role_override_at is not None, "sites": m.sites_override_at is not None}
    before = {g: held[g] for g in chosen}
    if "role" in chosen:
        m.role_override_by = m.role_override_at = None
    if "sites" in chosen:
        m.sites_override_by = m.sites_override_at = None
    db.flush()
    record(
        db,
        org.id,
        by.actor,
        EventType.MEMBERSHIP_GRANTS_RETURNED,
        m,
        before={"overridden": before},
        after={"returned": chosen},
    )
    scope = group_grants.one_membership(m.id)
    group_grants.sync(db, org.id, scope, actor=by.actor, cause="returned to directory control")
    db.refresh(m)
    if was_owner and role_name(db, m.role_id) != OWNER:
        owner_id = queries.builtin_role_id(db, OWNER)
        if queries.effective_owner_count(db, org.id, owner_id) == 0:
            raise ProvisioningError(
                ErrorCode.LAST_OWNER,
                "Returning this member to directory control would leave no effective Owner.",
            )
    return m


def list_groups(
    db: Session, org: Organization, *, cursor: str | None, limit: int
) -> tuple[list[GroupRow], str | None]:
    """A page of the directory's groups, each with its member count and the mappings that
    name it: three statements per page, whatever the group sizes (the counts read the
    ``group_members`` primary key, never the members' rows)."""
    directory_id = _directory_id(db, org)
    stmt = select(ScimGroup).where(ScimGroup.directory_id == directory_id)
    if cursor:
        stmt = stmt.where(ScimGroup.id > admin.decode_cursor(cursor))
    rows = list(db.scalars(stmt.order_by(ScimGroup.id).limit(limit + 1)))
    page = rows[:limit]
    ids = [g.id for g in page]
    counts = dict(
        db.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.group_id.in_(ids), GroupMember.member_type == "User")
            .group_by(GroupMember.group_id)
        ).all()
    )
    mappings = _mappings_naming(db, org, page)
    result = [
        GroupRow(
            g,
            counts.get(g.id, 0),
            [
                mp
                for mp in mappings
                if mp.group_id == g.id or mp.group_name_key == g.display_name.lower()
            ],
        )
        for g in page
    ]
    return result, _next(rows, limit)


def matched_groups(
    db: Session, org: Organization, mappings: list[GroupMapping]
) -> dict[str, ScimGroup]:
    """mapping id -> the directory group it names today (absent: no such group yet)."""
    if not mappings:
        return {}
    directory_id = _directory_id(db, org)
    ids = [mp.group_id for mp in mappings if mp.group_id]
    names = [mp.group_name_key for mp in mappings if mp.group_name_key]
    groups = list(
        db.scalars(
            select(ScimGroup).where(
                any_within(
                    ScimGroup.directory_id == directory_id,
                    ScimGroup.id.in_(ids),
                    func.lower(ScimGroup.display_name).in_(names),
                )
            )
        )
    )
    found: dict[str, ScimGroup] = {}
    for mp in mappings:
        for g in groups:
            if g.id == mp.group_id or g.display_name.lower() == mp.group_name_key:
                found[mp.id] = g
    return found


def _mappings_naming(db: Session, org: Organization, groups: list[ScimGroup]) -> list[GroupMapping]:
    if not groups:
        return []
    ids = [g.id for g in groups]
    names = [g.display_name.lower() for g in groups]
    return list(
        db.scalars(
            select(GroupMapping)
            .where(
                any_within(
                    GroupMapping.org_id == org.id,
                    GroupMapping.group_id.in_(ids),
                    GroupMapping.group_name_key.in_(names),
                )
            )
            .order_by(GroupMapping.id)
        )
    )


def _set_group(db: Session, directory_id: str, mapping: GroupMapping, ref: Any) -> None:
    if not isinstance(ref, dict) or len(ref) != 1 or not set(ref) <= {"id", "display_name"}:
        raise ProvisioningError(ErrorCode.MAPPING_INVALID, _SHAPE)
    ((kind, value),) = ref.items()
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise ProvisioningError(
            ErrorCode.MAPPING_INVALID, f"'group.{kind}' must be a non-empty string."
        )
    if kind == "id":
        known = db.scalar(
            select(ScimGroup.id).where(
                ScimGroup.id == value, ScimGroup.directory_id == directory_id
            )
        )
        if known is None:
            raise ProvisioningError(
                ErrorCode.GROUP_INVALID,
                f"No group {quoted(value)} in this directory; map it by display_name to set "
                "the mapping up before the identity provider pushes the group.",
            )
        mapping.group_id, mapping.group_key = value, f"id:{value}"
    else:
        mapping.group_name = value.strip()
        mapping.group_name_key = mapping.group_name.lower()
        mapping.group_key = f"name:{mapping.group_name_key}"


def _check_role(db: Session, org: Organization, ref: Any, by: AdminActor) -> Role:
    """Owner is never mapped: an IdP group edit, made by whoever administers the IdP, must
    not mint Owners of the product, and a group change could otherwise demote the last
    Owner. Admin needs an Owner's decision, as appointing an Admin by hand does not."""
    role = resolve_role(db, org, ref)
    if role.builtin and role.name == OWNER:
        raise ProvisioningError(
            ErrorCode.ROLE_NOT_ASSIGNABLE,
            "A group mapping never grants the Owner role; appoint Owners in the member API.",
        )
    if role.builtin and role.name == ADMIN:
        _require_owner(by, "Only an Owner can map a group to the Admin role.")
    return role


def _require_owner(by: AdminActor, message: str) -> None:
    if by.role != OWNER:
        raise ProvisioningError(ErrorCode.ROLE_NOT_ASSIGNABLE, message)


def _refuse_duplicate(db: Session, mapping: GroupMapping) -> None:
    held = db.scalar(
        select(GroupMapping.id).where(
            GroupMapping.org_id == mapping.org_id,
            GroupMapping.group_key == mapping.group_key,
            GroupMapping.grant_key == mapping.grant_key,
        )
    )
    if held is not None:
        raise _duplicate(held)


def _duplicate(held: str | None) -> ProvisioningError:
    """A group has one role mapping and one mapping per site: a second is a duplicate,
    not a silent upsert (to change one, delete it and create the new one)."""
    which = f" ({held})" if held else ""
    return ProvisioningError(
        ErrorCode.MAPPING_DUPLICATE,
        f"This group already has a mapping{which} for this grant; delete it first to change it.",
    )


def _grants_arg(value: Any) -> list[str]:
    if value is None:
        return list(GRANTS)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(g, str) and g in GRANTS for g in value)
    ):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "'grants' must be a non-empty list of 'role', 'sites'."
        )
    return [g for g in GRANTS if g in value]


def _directory_id(db: Session, org: Organization) -> str:
    directory = queries.directory_of(db, org.id)
    if directory is None:
        raise NotFound("This organization has no directory.")
    return directory.id


def _audit(mapping: GroupMapping) -> dict[str, Any]:
    return {
        "group_id": mapping.group_id,
        "group_name": mapping.group_name,
        "role_id": mapping.role_id,
        "site_id": mapping.site_id,
        "site_role_id": mapping.site_role_id,
    }


def _next(rows: list[Any], limit: int) -> str | None:
    return admin.encode_cursor(rows[limit - 1].id) if len(rows) > limit else None


def grant_names(db: Session, mappings: list[GroupMapping]) -> dict[str, str]:
    """Role and site role id -> name, for rendering a page of mappings in two reads."""
    role_ids = {mp.role_id for mp in mappings if mp.role_id}
    site_role_ids = {mp.site_role_id for mp in mappings if mp.site_role_id}
    names: dict[str, str] = {}  # rows of (id, name)
    if role_ids:
        names.update(db.execute(select(Role.id, Role.name).where(Role.id.in_(role_ids))).all())
    if site_role_ids:
        names.update(
            db.execute(
                select(SiteRole.id, SiteRole.name).where(SiteRole.id.in_(site_role_ids))
            ).all()
        )
    return names
