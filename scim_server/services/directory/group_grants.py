"""The directory's grants: role and sites recomputed from group mappings, set-based.

docs/lifecycle.md §2.7 is the rule: a member's role is the highest-ranked role among the
mapped groups they belong to (none: the directory default role, Member); their sites are
the union of the mapped sites, each with the highest-ranked site role mapped to it. An
admin's manual role or sites (an override) are left alone.

Everything here is SQL over the memberships a change touched (``scope``, a SELECT of
membership ids): a one-member change to a 100,000-member group reads and writes that one
member's rows, and a mapping created over a large group updates its members in a few
statements without loading them into Python. Each changed membership gets exactly one
``membership.grants_synced`` event, written by ``INSERT … SELECT`` before the update so it
can show the role before and after.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import DateTime
from sqlalchemy import Executable
from sqlalchemy import Select
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.storage import queries
from scim_server.storage.models import Event
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import Role
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import SiteAssignment
from scim_server.storage.models import SiteRole
from scim_server.storage.models import utcnow
from scim_server.storage.planner_hints import any_within
from scim_server.storage.planner_hints import not_seekable

# The role a member of no mapped group holds: what a SCIM create gives (lifecycle row P1).
DIRECTORY_DEFAULT_ROLE = "member"

# Mapping ranks (docs/lifecycle.md §2.7): owner > admin > custom roles > member > viewer;
# among custom roles of one rank, the alphabetically first name wins.
ROLE_RANKS = {"owner": 40, "admin": 30, "member": 20, "viewer": 10}
CUSTOM_ROLE_RANK = 25


def role_rank() -> ColumnElement[int]:
    """The mapping rank of ``Role`` as SQL."""
    by_name = case(ROLE_RANKS, value=Role.name, else_=literal(CUSTOM_ROLE_RANK))
    return case((Role.builtin.is_(True), by_name), else_=literal(CUSTOM_ROLE_RANK))


def matches(org_id: Any, group: Any = ScimGroup) -> ColumnElement[bool]:
    """A mapping of ``org_id`` names ``group``: by its id, or by its display name."""
    return any_within(
        GroupMapping.org_id == org_id,
        GroupMapping.group_id == group.id,
        GroupMapping.group_name_key == func.lower(group.display_name),
    )


def mapped_expression(org_id: Any) -> ColumnElement[bool]:
    """SQL: whether a mapping names the ``ScimGroup`` row of the enclosing query."""
    return exists().where(matches(org_id)).label("mapped")


def group_is_mapped(
    db: Session, org_id: str, group: ScimGroup, *, names: list[str] | None = None
) -> bool:
    """One indexed lookup: whether any mapping names this group, by id or by one of
    ``names`` (default: its display name; a rename passes the old one too)."""
    keys = [n.lower() for n in (names or [group.display_name])]
    return bool(
        db.scalar(
            select(
                exists().where(
                    any_within(
                        GroupMapping.org_id == org_id,
                        GroupMapping.group_id == group.id,
                        GroupMapping.group_name_key.in_(keys),
                    )
                )
            )
        )
    )


def drop_id_mappings(db: Session, org_id: str, group_id: str, *, actor: Actor) -> None:
    """A deleted group's id is never reused, so the mappings naming it by id go with it
    (mappings by name stay: a group of that name pushed later picks them up)."""
    rows = list(
        db.scalars(
            select(GroupMapping).where(
                GroupMapping.org_id == org_id, GroupMapping.group_id == group_id
            )
        )
    )
    for mapping in rows:
        before = {"group_id": group_id, "grant": mapping.grant_key}
        record(db, org_id, actor, EventType.GROUP_MAPPING_DELETED, mapping, before=before)
        db.delete(mapping)


@dataclass(frozen=True)
class Scope:
    """Which memberships a recompute covers: a kind of SELECT (see ``_scope``) and its
    parameters. Statements are built once per kind and reused with bound parameters, so a
    one-member change pays neither for building them in Python nor, once the connection
    has prepared them, for planning them in PostgreSQL."""

    kind: str
    params: dict[str, Any]


def members_of_scim_ids(scim_ids: list[str]) -> Scope:
    """The memberships behind these SCIM user ids (groups nested as members are skipped)."""
    return Scope("scim_ids", {"g_scope_ids": scim_ids})


def members_of_group(group_id: str, *, also_scim_ids: list[str] | None = None) -> Scope:
    """The memberships of a group's direct User members (and of ``also_scim_ids``, the
    members a change has just taken out of it)."""
    if also_scim_ids:
        return Scope("group_and_ids", {"g_scope_group": group_id, "g_scope_ids": also_scim_ids})
    return Scope("group", {"g_scope_group": group_id})


def members_of_mapping(org_id: str, directory_id: str, mapping: GroupMapping) -> Scope:
    """The memberships of the group (if any) a mapping names."""
    if mapping.group_id is not None:
        return members_of_group(mapping.group_id)
    return Scope(
        "group_name", {"g_scope_dir": directory_id, "g_scope_name": mapping.group_name_key}
    )


def one_membership(membership_id: str) -> Scope:
    return Scope("membership", {"g_scope_membership": membership_id})


def _scope(kind: str) -> Select[Any]:
    """The SELECT of membership ids for a kind of ``Scope``, with bound parameters."""
    ids = select(ScimUser.membership_id).where(
        ScimUser.id.in_(bindparam("g_scope_ids", expanding=True))
    )
    if kind == "scim_ids":
        return ids
    if kind == "membership":
        return select(bindparam("g_scope_membership", type_=String()))
    if kind in ("group", "group_and_ids"):
        group = GroupMember.group_id == bindparam("g_scope_group")
    else:
        named = select(ScimGroup.id).where(
            ScimGroup.directory_id == bindparam("g_scope_dir"),
            func.lower(ScimGroup.display_name) == bindparam("g_scope_name"),
        )
        group = GroupMember.group_id.in_(named)
    members = (
        select(ScimUser.membership_id)
        .join(GroupMember, GroupMember.member_id == ScimUser.id)
        .where(group, ScimUser.deleted_at.is_(None))
    )
    return union(members, ids) if kind == "group_and_ids" else members  # type: ignore[return-value]


ORG = bindparam("g_org_id", type_=String())
WITHOUT = bindparam("g_without_group", type_=String())  # '' leaves no group out


def sync(
    db: Session,
    org_id: str,
    scope: Scope,
    *,
    actor: Actor,
    cause: str,
    without_group: str | None = None,
) -> None:
    """Bring the role and sites of the memberships in ``scope`` in line with the mappings.

    ``without_group`` leaves one group out, for a group about to be deleted. ``cause`` is
    the event's reason (which change triggered the recompute).
    """
    params = {
        **scope.params,
        "g_org_id": org_id,
        "g_without_group": without_group or "",
        "g_default_role": queries.builtin_role_id(db, DIRECTORY_DEFAULT_ROLE),
        "g_now": utcnow(),
        "g_actor_type": actor.type,
        "g_actor_id": actor.id,
        "g_request_id": actor.request_id,
        "g_cause": cause,
    }
    db.flush()
    connection = db.connection()  # Core execution: the parameters bind, not bulk-insert
    for statement in _statements(scope.kind, _is_postgresql(db)):
        connection.execute(statement, params)
    for row in list(db.identity_map.values()):
        if isinstance(row, Membership):
            db.expire(row)  # the statements above bypassed the session


@functools.cache
def _statements(kind: str, postgresql: bool) -> tuple[Executable, ...]:
    """The four statements of a recompute: the events (before anything changes, so they
    can show the old role), the role, the stale sites, the new sites."""
    scope = _scope(kind)
    wanted_role = func.coalesce(_best_role(Membership.id), bindparam("g_default_role"))
    role_free = and_(Membership.role_override_at.is_(None), Membership.ended_at.is_(None))
    sites_free = and_(Membership.sites_override_at.is_(None), Membership.ended_at.is_(None))
    role_differs = and_(role_free, Membership.role_id.is_distinct_from(wanted_role))
    # Found by id through the scope; the organisation is checked on those rows only.
    in_scope = and_(not_seekable(Membership.org_id) == ORG, Membership.id.in_(scope))
    changed = and_(in_scope, or_(role_differs, and_(sites_free, _sites_differ())))
    events = _events(changed, wanted_role, role_free, postgresql)
    role = (
        update(Membership)
        .where(in_scope, role_differs)
        .values(role_id=wanted_role, updated_at=bindparam("g_now"))
    )
    eligible = select(Membership.id).where(in_scope, sites_free)
    return (events, role, *_site_statements(eligible))


def _mapped(membership_id: Any) -> Select[Any]:
    """The mappings that apply to one membership through its direct groups."""
    return (
        select(GroupMapping)
        .select_from(ScimUser)
        .join(GroupMember, GroupMember.member_id == ScimUser.id)
        .join(ScimGroup, ScimGroup.id == GroupMember.group_id)
        .join(GroupMapping, matches(ORG))
        .where(
            ScimUser.membership_id == membership_id,
            ScimUser.deleted_at.is_(None),
            ScimGroup.id != WITHOUT,
        )
    )


def _best_role(membership_id: Any) -> Any:
    stmt = (
        _mapped(membership_id)
        .with_only_columns(GroupMapping.role_id)
        .join(Role, Role.id == GroupMapping.role_id)
        .order_by(role_rank().desc(), Role.name)
        .limit(1)
    )
    return stmt.scalar_subquery()


def _best_site_role(membership_id: Any, site_id: Any) -> Any:
    """The highest-ranked site role mapped to one site for one membership (NULL: unmapped)."""
    stmt = (
        _mapped(membership_id)
        .with_only_columns(GroupMapping.site_role_id)
        .join(SiteRole, SiteRole.id == GroupMapping.site_role_id)
        .where(GroupMapping.site_id == site_id)
        .order_by(SiteRole.rank.desc(), SiteRole.name)
        .limit(1)
    )
    return stmt.scalar_subquery()


def _mapped_sites(membership_id: Any) -> Select[str, str | None]:
    return (
        _mapped(membership_id)
        .with_only_columns(ScimUser.membership_id, GroupMapping.site_id)
        .where(GroupMapping.site_id.is_not(None))
    )


def _sites_differ() -> ColumnElement[bool]:
    """Per membership (correlated to ``Membership``): a held site that is no longer mapped
    (or with another role), or a mapped site not held yet."""
    held = aliased(SiteAssignment)
    stale = (
        exists()
        .where(
            held.membership_id == Membership.id,
            held.site_role_id.is_distinct_from(_best_site_role(held.membership_id, held.site_id)),
        )
        .correlate(Membership)
    )
    not_held = ~exists().where(
        SiteAssignment.membership_id == Membership.id,
        SiteAssignment.site_id == GroupMapping.site_id,
    ).correlate(Membership, GroupMapping)
    missing = exists(_mapped_sites(Membership.id).where(not_held)).correlate(Membership)
    return or_(stale, missing)


def _site_statements(eligible: Select[Any]) -> tuple[Executable, Executable]:
    """Delete held sites no longer mapped (or mapped with another role), insert the rest."""
    stale = delete(SiteAssignment).where(
        SiteAssignment.membership_id.in_(eligible),
        SiteAssignment.site_role_id.is_distinct_from(
            _best_site_role(SiteAssignment.membership_id, SiteAssignment.site_id)
        ),
    )
    pairs = (
        _mapped_sites(ScimUser.membership_id)
        .where(ScimUser.membership_id.in_(eligible))
        .group_by(ScimUser.membership_id, GroupMapping.site_id)
        .subquery()
    )
    fresh = select(
        pairs.c.membership_id,
        pairs.c.site_id,
        _best_site_role(pairs.c.membership_id, pairs.c.site_id),
    ).where(
        ~exists().where(
            SiteAssignment.membership_id == pairs.c.membership_id,
            SiteAssignment.site_id == pairs.c.site_id,
        )
    )
    columns = ["membership_id", "site_id", "site_role_id"]
    return stale, insert(SiteAssignment).from_select(columns, fresh)


_EVENT_COLUMNS = [
    "org_id",
    "type",
    "actor_type",
    "actor_id",
    "target_type",
    "target_id",
    "membership_id",
    "user_id",
    "before",
    "after",
    "reason",
    "request_id",
    "at",
]


def _events(
    changed: ColumnElement[bool], wanted_role: Any, role_free: ColumnElement[bool], pg: bool
) -> Executable:
    """One ``membership.grants_synced`` event per membership about to change."""
    new_role = case((role_free, wanted_role), else_=Membership.role_id)
    json_object = func.jsonb_build_object if pg else func.json_object
    rows = select(
        ORG,
        literal(str(EventType.MEMBERSHIP_GRANTS_SYNCED), String()),
        bindparam("g_actor_type", type_=String()),
        bindparam("g_actor_id", type_=String()),
        literal("membership", String()),
        Membership.id,
        Membership.id,
        Membership.user_id,
        json_object("role", Membership.role_id),
        json_object("role", new_role),
        bindparam("g_cause", type_=String()),
        bindparam("g_request_id", type_=String()),
        bindparam("g_now", type_=DateTime()),
    ).where(changed)
    return insert(Event).from_select(_EVENT_COLUMNS, rows)


def _is_postgresql(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"
