"""Core reads behind GET /Users/{id} and list pages: plain rows, statements built once.

The read every IdP lookup ends in — a live user, or a page of users, with what the
representation needs, groups included — runs as one prebuilt statement over table columns
(the groups of a write's answer are a second, ``groups_of_users``). No
entity is built and no statement composed per call: at IdP lookup volume the ORM's per-row
and per-statement Python cost was most of a GET's time (docs/benchmark.md). Writes keep
the ORM (``queries.live_scim_user``), which they need for the unit of work. The reads
run on the session's connection (its transaction) without the session's ORM dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import Row
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from scim_server.scim.filter import Equality
from scim_server.storage import prepared
from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import User
from scim_server.storage.planner_hints import not_seekable

_USERS = ScimUser.__table__
_MEMBERSHIPS = Membership.__table__
_PEOPLE = User.__table__
_GROUPS = ScimGroup.__table__
_GROUP_MEMBERS = GroupMember.__table__

# Named as the attributes of ScimUser and Membership that scim_documents.user_to_scim
# reads, so one row serves as both.
_USER_DOCUMENT = select(
    _USERS.c.id,
    _USERS.c.user_name,
    _USERS.c.external_id,
    _USERS.c.attributes,
    _USERS.c.created_at,
    _USERS.c.updated_at,
    _USERS.c.version,
    _MEMBERSHIPS.c.user_id,
    _MEMBERSHIPS.c.directory_state,
    _MEMBERSHIPS.c.admin_override,
    _MEMBERSHIPS.c.end_reason,
    _MEMBERSHIPS.c.link_state,
    _PEOPLE.c.disabled_at,
).select_from(
    _USERS.join(_MEMBERSHIPS, _MEMBERSHIPS.c.id == _USERS.c.membership_id).join(
        _PEOPLE, _PEOPLE.c.id == _MEMBERSHIPS.c.user_id
    )
)


class _IdNamePairs(FunctionElement[Any]):
    """``[[id, name], …]`` as one JSON array, aggregated over the rows of a subquery."""

    type = JSON()
    name = "id_name_pairs"
    inherit_cache = True


@compiles(_IdNamePairs, "sqlite")
def _pairs_sqlite(element: _IdNamePairs, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(_IdNamePairs, "postgresql")
def _pairs_postgresql(element: _IdNamePairs, compiler: Any, **kw: Any) -> str:
    return f"json_agg(json_build_array({compiler.process(element.clauses, **kw)}))"


# The user's groups as one column of the user's own row (``scim_users``), so a GET or a
# page of users is one statement, and a PATCH's locking read also reads its answer's
# groups: a second statement costs more Python than the index seeks it runs. Driven by
# the member's rows, as a separate query would be; the directory is checked on the groups
# found. Unordered here: ``pairs_by_name`` orders them.
GROUPS_OF_THE_ROW = (
    select(_IdNamePairs(_GROUPS.c.id, _GROUPS.c.display_name))
    .select_from(_GROUP_MEMBERS.join(_GROUPS, _GROUPS.c.id == _GROUP_MEMBERS.c.group_id))
    .where(
        _GROUP_MEMBERS.c.member_id == _USERS.c.id,
        not_seekable(_GROUPS.c.directory_id) == _USERS.c.directory_id,
    )
    .scalar_subquery()
    .label("group_pairs")
)
_ONE_LIVE = (
    _USERS.c.id == bindparam("scim_id"),
    _USERS.c.directory_id == bindparam("directory_id"),
    _USERS.c.deleted_at.is_(None),
)
_ONE_LIVE_USER = _USER_DOCUMENT.where(*_ONE_LIVE)
_ONE_LIVE_USER_WITH_GROUPS = _USER_DOCUMENT.add_columns(GROUPS_OF_THE_ROW).where(*_ONE_LIVE)
_BY_IDS = _USERS.c.id.in_(bindparam("ids", expanding=True))
_USERS_BY_ID = _USER_DOCUMENT.where(_BY_IDS)
_USERS_BY_ID_WITH_GROUPS = _USER_DOCUMENT.add_columns(GROUPS_OF_THE_ROW).where(_BY_IDS)


def _groups_of(members: Any) -> Any:
    return (
        select(_GROUP_MEMBERS.c.member_id, _GROUPS.c.id, _GROUPS.c.display_name)
        .select_from(_GROUP_MEMBERS.join(_GROUPS, _GROUPS.c.id == _GROUP_MEMBERS.c.group_id))
        # Driven by the member's rows; the directory is checked on the groups found.
        .where(members, not_seekable(_GROUPS.c.directory_id) == bindparam("directory_id"))
        .order_by(_GROUPS.c.display_name)
    )


_GROUPS_OF_USERS = _groups_of(_GROUP_MEMBERS.c.member_id.in_(bindparam("ids", expanding=True)))
# One user (GET by id, a write's answer): no expanding IN to render per execution.
_GROUPS_OF_USER = _groups_of(_GROUP_MEMBERS.c.member_id == bindparam("id"))


def live_user_document(
    db: prepared.Runner, directory_id: str, scim_id: str, *, with_groups: bool = False
) -> Any | None:
    """The live SCIM user's row for its representation (its columns by key, as a Core
    row's); tombstones are not found.
    ``with_groups``: the row also holds ``group_pairs`` (``group_pairs()`` reads it)."""
    params = {"scim_id": scim_id, "directory_id": directory_id}
    statement = _ONE_LIVE_USER_WITH_GROUPS if with_groups else _ONE_LIVE_USER
    return prepared.first(db, statement, params)


def user_documents(
    db: Session, scim_ids: Sequence[str], *, with_groups: bool = False
) -> list[Row[Any]]:
    """The rows of a page of users (ids the caller already scoped to a directory);
    ``with_groups`` as for ``live_user_document``."""
    statement = _USERS_BY_ID_WITH_GROUPS if with_groups else _USERS_BY_ID
    return list(db.connection().execute(statement, {"ids": list(scim_ids)}))


def users_where_equal(
    db: Session,
    directory_id: str,
    lookup: Equality,
    *,
    count: int,
    offset: int,
    with_groups: bool,
) -> list[Any]:
    """A page, in id order, of the directory's live users whose attribute equals the
    lookup's value: an IdP's ``userName eq "…"`` in one statement, built once per
    attribute (the value, the directory and the page are its parameters)."""

    def build() -> Any:
        base = _USER_DOCUMENT.add_columns(GROUPS_OF_THE_ROW) if with_groups else _USER_DOCUMENT
        live = (_USERS.c.directory_id == bindparam("directory_id"), _USERS.c.deleted_at.is_(None))
        return _paged(base.where(*live, lookup.expr == bindparam("value")), _USERS.c.id)

    statement = _equality_statement(("User", lookup.attr, with_groups), build)
    return prepared.rows(db, statement, _lookup_params(directory_id, lookup, count, offset))


def groups_where_equal(
    db: Session, directory_id: str, lookup: Equality, *, count: int, offset: int
) -> list[ScimGroup]:
    """As ``users_where_equal``, for the directory's groups (``displayName eq "…"``); the
    groups as entities, which their representation reads."""

    def build() -> Any:
        in_directory = ScimGroup.directory_id == bindparam("directory_id")
        return _paged(
            select(ScimGroup).where(in_directory, lookup.expr == bindparam("value")), ScimGroup.id
        )

    statement = _equality_statement(("Group", lookup.attr), build)
    return list(db.scalars(statement, _lookup_params(directory_id, lookup, count, offset)))


def _paged(statement: Any, id_column: Any) -> Any:
    return statement.order_by(id_column).limit(bindparam("count")).offset(bindparam("offset"))


def _lookup_params(directory_id: str, lookup: Equality, count: int, offset: int) -> dict[str, Any]:
    return {"directory_id": directory_id, "value": lookup.value, "count": count, "offset": offset}


def _equality_statement(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The lookup statement for ``key``, built on first use. Keyed by the attribute's
    definition (a value: equal definitions resolve to the same column), so the same few
    statements serve every app in the process; the schema bounds their number."""
    statement = _EQUALITY_LOOKUPS.get(key)
    if statement is None:
        if len(_EQUALITY_LOOKUPS) >= _MAX_EQUALITY_LOOKUPS:
            _EQUALITY_LOOKUPS.clear()
        statement = _EQUALITY_LOOKUPS[key] = build()
    return statement


_EQUALITY_LOOKUPS: dict[tuple[Any, ...], Any] = {}
_MAX_EQUALITY_LOOKUPS = 256


def group_pairs(row: Row[Any]) -> list[tuple[str, str | None]]:
    """(group id, display name) of each group of a row read ``with_groups``, by name then
    id: the same order on SQLite and PostgreSQL whatever the database's collation."""
    return pairs_by_name(row.group_pairs)


def pairs_by_name(pairs: list[list[Any]] | None) -> list[tuple[str, str | None]]:
    """The value of a ``GROUPS_OF_THE_ROW`` column as sorted (group id, name) pairs."""
    pairs = pairs or []  # PostgreSQL's json_agg of no rows is NULL
    return sorted(((group_id, name) for group_id, name in pairs), key=lambda p: (p[1] or "", p[0]))


def groups_of_users(db: Session, directory_id: str, scim_ids: Sequence[str]) -> list[Row[Any]]:
    """(member id, group id, display name) for each group of those users, by name."""
    if len(scim_ids) == 1:
        one = {"id": scim_ids[0], "directory_id": directory_id}
        return list(db.connection().execute(_GROUPS_OF_USER, one))
    params = {"ids": list(scim_ids), "directory_id": directory_id}
    return list(db.connection().execute(_GROUPS_OF_USERS, params))
