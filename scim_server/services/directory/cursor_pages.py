"""Cursor pages of Users and Groups (RFC 9865): a seek from a position, never an OFFSET.

The view decodes and checks the client's cursor (``scim/cursor.py``) and hands over its
``Position``; this module serves the page after (or before) it by an index seek on the
sort key and id (``keyset.py``), and says where the next and previous pages start, which
the view signs into ``nextCursor`` and ``previousCursor``. One row more than the page is
read, so the last page is known to be last and carries no ``nextCursor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from scim_server.scim.cursor import Position
from scim_server.services.directory import search
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.keyset import KeyColumn
from scim_server.services.directory.keyset import beyond
from scim_server.services.directory.keyset import order
from scim_server.storage.attr_map import group_resolver
from scim_server.storage.attr_map import user_resolver
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser

Row = tuple[Any, ...]


@dataclass(frozen=True)
class CursorPage:
    """A page, its exact ``totalResults``, and the positions of its neighbours (None: none)."""

    total: int
    resources: list[dict[str, Any]]
    next: Position | None
    previous: Position | None


@dataclass(frozen=True)
class Seek:
    """A query's rows as key tuples (the id last) in a total order."""

    rows: Select[Any]
    columns: list[KeyColumn]


def cursor_users(
    db: Session, ctx: ScimContext, query: search.Query, position: Position | None
) -> CursorPage:
    ids = search.user_ids(ctx, query.filter, joined=bool(query.sort_by))
    return _cursor_page(db, ctx, "User", ids, ScimUser.id, query, position)


def cursor_groups(
    db: Session, ctx: ScimContext, query: search.Query, position: Position | None
) -> CursorPage:
    ids = search.group_ids(ctx, query.filter)
    return _cursor_page(db, ctx, "Group", ids, ScimGroup.id, query, position)


def _cursor_page(
    db: Session,
    ctx: ScimContext,
    resource: str,
    ids: Select[str],
    id_column: Any,
    query: search.Query,
    position: Position | None,
) -> CursorPage:
    rtype = ctx.registry.resource_types[resource]
    resolve = user_resolver(rtype) if resource == "User" else group_resolver(rtype)
    id_key = KeyColumn(id_column, nullable=False)
    columns = [id_key]
    if query.sort_by:
        columns.insert(
            0, KeyColumn(search.sort_key(rtype, resolve, query.sort_by), query.descending)
        )
    total = search.total_of(db, ctx, resource, ids, bool(query.filter))
    seek = Seek(ids.with_only_columns(*(c.expr for c in columns)), columns)
    rows, after, before = fetch(db, seek, query.page.count, position)
    load = search.load_users if resource == "User" else search.load_groups
    return CursorPage(total, load(db, ctx, [r[-1] for r in rows], query.projection), after, before)


def fetch(
    db: Session, seek: Seek, count: int, position: Position | None
) -> tuple[list[Row], Position | None, Position | None]:
    """The page's key tuples in order, then the positions after and before it.

    A previous page near the start may hold fewer rows than ``count`` (rows before it were
    deleted since): then the first page is served instead, which is what "previous" means
    there, and it has no previous page itself.
    """
    if position is not None and position.direction == "previous":
        rows = _read(db, seek, count, position.keys, backward=True)
        if len(rows) > count:
            rows = rows[1:]
            return rows, _at("next", rows[-1]), _at("previous", rows[0])
        position = None
    rows = _read(db, seek, count, position.keys if position else None, backward=False)
    more = len(rows) > count
    rows = rows[:count]
    after = _at("next", rows[-1]) if more and rows else None
    before = _at("previous", rows[0]) if position is not None and rows else None
    return rows, after, before


def _read(
    db: Session, seek: Seek, count: int, keys: tuple[Any, ...] | None, *, backward: bool
) -> list[Row]:
    """``count + 1`` rows past ``keys`` (all from the start when None), in forward order."""
    stmt = seek.rows.order_by(*order(seek.columns, backward=backward)).limit(count + 1)
    if keys is not None:
        stmt = stmt.where(beyond(seek.columns, keys, backward=backward))
    rows = [tuple(r) for r in db.execute(stmt)]
    return rows[::-1] if backward else rows


def _at(direction: str, row: Row) -> Position:
    return Position("next" if direction == "next" else "previous", tuple(row))
