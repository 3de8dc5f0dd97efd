"""Expression shapes that keep a lookup on its selective index as the directory grows.

SQLite's planner has no table statistics (the server never runs ANALYZE), so it chooses
from a query's shape. Two shapes made it walk a whole tenant (every user or membership of a
directory) for a one-row lookup; tests/api/scim/test_query_plans.py checks the plans:

* ``tenant = ? AND (a = ? OR b = ?)``: the OR cannot use an index as a whole, so the plan
  seeks the tenant column alone and tests the OR on each of its rows. With the tenant
  repeated in each branch (``any_within``) each branch seeks its own index ("MULTI-INDEX
  OR"); PostgreSQL plans the same as a BitmapOr.
* ``tenant = ? AND id IN (subquery)`` or a join from a small set: an equality on an
  indexed tenant column looks cheaper to the planner than the subquery or the join it
  cannot size, so it walks the tenant and probes. ``not_seekable`` keeps the tenant check
  as a filter on the rows found the selective way. PostgreSQL, which has statistics,
  never needed the tenant's index for these lookups either.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement


def any_within(scope: ColumnElement[bool], *alternatives: Any) -> ColumnElement[bool]:
    """``scope AND (a OR b …)`` written as ``(scope AND a) OR (scope AND b) …``."""
    return or_(*(and_(scope, alternative) for alternative in alternatives))


def not_seekable(column: Any) -> Any:
    """A text column as an expression no index serves (``column || ''``): same value."""
    return column.concat("")
