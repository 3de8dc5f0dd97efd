"""``POST /scim/v2/.search`` (RFC 7644 §3.4.3): one query over Users and Groups together.

Each resource type contributes the ids matching the filter; a type whose schema lacks an
attribute the filter or ``sortBy`` names takes no part in the filter (none of its
resources can match an attribute they do not have) and sorts last, so
``userName eq "x"`` finds users only and ``displayName sw "A"`` both kinds. A filter no
type understands is ``invalidFilter``. The two id sets are combined with UNION ALL and
ordered, counted and paged in SQL — by startIndex (OFFSET) or by cursor (an index seek in
each branch) — then each page's rows are loaded by type and returned in order, each
document tagged with its own ``schemas`` and ``meta.resourceType``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import SQLColumnExpression
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import Session

from scim_server.scim.cursor import Position
from scim_server.scim.errors import ScimError
from scim_server.scim.projection import Projection
from scim_server.services.directory import search
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.cursor_pages import CursorPage
from scim_server.services.directory.cursor_pages import Seek
from scim_server.services.directory.cursor_pages import fetch
from scim_server.services.directory.keyset import KeyColumn
from scim_server.services.directory.keyset import order
from scim_server.services.errors import InvalidInput
from scim_server.storage.attr_map import group_resolver
from scim_server.storage.attr_map import user_resolver
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser

ROOT = "*"  # the resource of root-level cursors, for their query fingerprint


@dataclass(frozen=True)
class _Branch:
    resource: str
    ids: Select[str]
    key: SQLColumnExpression[Any] | None  # None: sortBy names nothing of this type


def search_root(
    db: Session,
    ctx: ScimContext,
    query: search.Query,
    projections: dict[str, Projection],
    position: Position | None,
    *,
    by_cursor: bool,
) -> CursorPage:
    """The page asked for; ``next``/``previous`` are set only for cursor paging."""
    branches = _branches(ctx, query)
    total = sum(search.total_of(db, ctx, b.resource, b.ids, bool(query.filter)) for b in branches)
    seek = _union(branches, query)
    if by_cursor:
        rows, after, before = fetch(db, seek, query.page.count, position)
    else:
        rows, after, before = _by_index(db, seek, query), None, None
    return CursorPage(total, _load(db, ctx, rows, projections), after, before)


def _branches(ctx: ScimContext, query: search.Query) -> list[_Branch]:
    """The resource types that understand the filter, with their sort keys."""
    branches: list[_Branch] = []
    failure: ScimError | None = None
    for resource in ("User", "Group"):
        try:
            ids = (
                search.user_ids(ctx, query.filter, joined=bool(query.sort_by))
                if resource == "User"
                else search.group_ids(ctx, query.filter)
            )
        except ScimError as error:  # the type lacks a filtered attribute: it matches nothing
            failure = failure or error
            continue
        branches.append(_Branch(resource, ids, _key(ctx, resource, query.sort_by)))
    if not branches:
        assert failure is not None
        raise failure
    if query.sort_by and all(b.key is None for b in branches):
        raise InvalidInput(f"Cannot sort by '{query.sort_by}': neither Users nor Groups have it.")
    return branches


def _key(ctx: ScimContext, resource: str, sort_by: str | None) -> SQLColumnExpression[Any] | None:
    if not sort_by:
        return None
    rtype = ctx.registry.resource_types[resource]
    resolve = user_resolver(rtype) if resource == "User" else group_resolver(rtype)
    try:
        return search.sort_key(rtype, resolve, sort_by)
    except InvalidInput:
        return None


def _union(branches: list[_Branch], query: search.Query) -> Seek:
    """(key,) resource type, id over every branch, in the ordering cursors seek on."""
    known = [b.key for b in branches if b.key is not None]
    key_type = getattr(known[0], "type", None) if known else None  # the other branch's NULLs
    parts = []
    for branch in branches:
        id_column = ScimUser.id if branch.resource == "User" else ScimGroup.id
        columns: list[Any] = [literal(branch.resource).label("rt"), id_column.label("id")]
        if query.sort_by:
            key = branch.key if branch.key is not None else literal(None, type_=key_type)
            columns.insert(0, key.label("k"))
        parts.append(branch.ids.with_only_columns(*columns))
    rows = union_all(*parts).subquery("found")
    keys = [KeyColumn(rows.c.rt, nullable=False), KeyColumn(rows.c.id, nullable=False)]
    if query.sort_by:
        keys.insert(0, KeyColumn(rows.c.k, query.descending))
    return Seek(select(*(k.expr for k in keys)), keys)


def _by_index(db: Session, seek: Seek, query: search.Query) -> list[tuple[Any, ...]]:
    page = query.page
    if page.count == 0:
        return []
    stmt = seek.rows.order_by(*order(seek.columns)).offset(page.offset).limit(page.count)
    return [tuple(r) for r in db.execute(stmt)]


def _load(
    db: Session, ctx: ScimContext, rows: list[tuple[Any, ...]], projections: dict[str, Projection]
) -> list[dict[str, Any]]:
    """The documents of a mixed page, loaded per type, in the page's order."""
    users = [r[-1] for r in rows if r[-2] == "User"]
    groups = [r[-1] for r in rows if r[-2] == "Group"]
    docs = {
        d["id"]: d
        for d in search.load_users(db, ctx, users, projections["User"])
        + search.load_groups(db, ctx, groups, projections["Group"])
    }
    return [docs[r[-1]] for r in rows if r[-1] in docs]
