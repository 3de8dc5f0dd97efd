"""Keyset (seek) paging: the rows after or before a position in an ordering, in SQL.

A cursor page (RFC 9865, ``scim/cursor.py``) is ``WHERE (keys) > (position) ORDER BY
keys LIMIT n``: the database walks the index from the position instead of reading and
discarding every earlier row, as OFFSET does. The ordering is lexicographic over
``KeyColumn``s, each ascending or descending with NULLs last (the order of
``search._ordered``); the last column is always the unique id, so every position is
exact and pages never repeat or skip a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import SQLColumnExpression
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy.sql.elements import UnaryExpression

Condition = ColumnElement[bool]


@dataclass(frozen=True)
class KeyColumn:
    expr: SQLColumnExpression[Any]
    descending: bool = False
    nullable: bool = True


def order(columns: list[KeyColumn], *, backward: bool = False) -> list[UnaryExpression[Any]]:
    """ORDER BY for a forward walk, or its exact reverse for the page before a position."""
    clauses = []
    for col in columns:
        ascending = col.descending == backward
        clause = col.expr.asc() if ascending else col.expr.desc()
        if col.nullable:
            clause = clause.nulls_first() if backward else clause.nulls_last()
        clauses.append(clause)
    return clauses


def beyond(columns: list[KeyColumn], keys: tuple[Any, ...], *, backward: bool = False) -> Condition:
    """Rows strictly after ``keys`` in the forward order (or strictly before, ``backward``):
    for each column, the earlier columns equal and this one past the position."""
    if len(keys) != len(columns):
        return false()  # a position of another shape names no row of this ordering
    terms = []
    for i, col in enumerate(columns):
        equal = [_equal(c, k) for c, k in zip(columns[:i], keys[:i], strict=True)]
        terms.append(and_(*equal, _past(col, keys[i], backward)))
    return or_(*terms)


def _equal(col: KeyColumn, key: Any) -> Condition:
    return col.expr.is_(None) if key is None else col.expr == key


def _past(col: KeyColumn, key: Any, backward: bool) -> Condition:
    """Past ``key`` in this column alone, NULLs sorting after every value."""
    later = not backward
    if key is None:  # NULLs are last: nothing is after them, every value is before them
        return col.expr.is_not(None) if not later else false()
    greater = later != col.descending
    cond: Condition = col.expr > key if greater else col.expr < key
    if later and col.nullable:
        cond = or_(cond, col.expr.is_(None))
    return cond
