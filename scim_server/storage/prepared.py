"""Send a prebuilt statement to the driver, compiled once per dialect and column set.

SQLAlchemy's execution of an already compiled statement (an execution context, parameter
processing, a result wrapper, the ORM session's connection lookup) costs some 40 µs of
Python per statement on this machine; the indexed INSERT, UPDATE or lookup it sends to
SQLite costs 4–20 µs of C (docs/benchmark.md). A SCIM create writes six rows, a
deprovisioning five, and every request authenticates with one lookup, each with a
statement built once at import, so that Python was most of a request's cost above the
driver. ``execute``, ``first`` and ``rows`` keep what matters of it and drop the rest:

* the SQL and its parameter order come from SQLAlchemy's own compiler, once per
  (statement, dialect, set of columns bound);
* every value goes through the column type's bind processor (dates as SQLite text, JSON
  serialised), and every returned value through its result processor, exactly as Core
  would convert them; a returned row is a named tuple of the statement's column keys;
* ``before_cursor_execute`` / ``after_cursor_execute`` listeners see each statement (the
  statement budget test and the suite's snapshot guard listen there), with no execution
  context (None: there is none);
* a driver error goes through SQLAlchemy's own handling (``IntegrityError``,
  ``OperationalError``…, a dropped connection invalidated), so callers catch what they
  caught before.

A statement that needs more of Core (Python-side defaults evaluated at execution,
expanding ``IN`` parameters, a result type converted according to the driver's type
code), or a connection that echoes statements or streams results, is sent through
Core instead, so the choice never changes what is written or read.
Only prebuilt statements may be passed: the compiled plans are cached by statement
identity.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from typing import cast

from sqlalchemy import Connection
from sqlalchemy import Executable
from sqlalchemy import Float
from sqlalchemy import Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

Params = Mapping[str, Any]
_Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one dialect and one set of bound columns."""

    compiled: SQLCompiler
    sql: str
    order: tuple[str, ...] | None  # the bind names in order, or None for named parameters
    escaped: Mapping[str, str]  # bind name → the name the SQL uses, where they differ
    processors: Mapping[str, _Convert]
    row_type: Any  # a named tuple of the result's column keys, or None
    converters: tuple[_Convert | None, ...]  # per result column

    def bind(self, params: Params) -> Any:
        """The driver's parameters for one row: processed, in the dialect's style."""
        values = self.compiled.construct_params(params, escape_names=False)
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        if self.order is not None:
            return tuple(values[name] for name in self.order)
        escaped = self.escaped
        return {escaped.get(name, name): value for name, value in values.items()}

    def row(self, raw: Sequence[Any]) -> Any:
        """A driver's row as a named tuple of converted values."""
        return self.row_type._make(
            value if convert is None or value is None else convert(value)
            for convert, value in zip(self.converters, raw, strict=True)
        )


# Where a statement runs: a session's connection (its transaction, as ``db.connection()``
# gives it), or a connection a request holds without a session (``db.snapshot_connection``).
Runner = Session | Connection


def _connection(db: Runner) -> Connection:
    return db if isinstance(db, Connection) else db.connection()


def execute(db: Runner, statement: Executable, params: Params | Sequence[Params]) -> int:
    """Run ``statement`` with one row of parameters (or several, as an executemany) on the
    session's connection, in its transaction; the number of rows it changed. Like a Core
    execution on ``db.connection()``, nothing pending in the session is flushed first."""
    connection = _connection(db)
    rows = [params] if isinstance(params, Mapping) else list(params)
    plan = _usable_plan(connection, statement, rows[0])
    if plan is None:
        result = connection.execute(statement, rows if len(rows) > 1 else rows[0])
        return int(getattr(result, "rowcount", 0) or 0)
    cursor = _run(connection, plan, rows)
    try:
        return int(cursor.rowcount or 0)
    finally:
        cursor.close()


def first(db: Runner, statement: Executable, params: Params) -> Any | None:
    """The first row of a query or of a ``RETURNING`` statement, read as Core would (its
    columns by key: ``row.id``), or None; run on the session's connection as ``execute``."""
    connection = _connection(db)
    plan = _usable_plan(connection, statement, params)
    if plan is None or plan.row_type is None:
        return connection.execute(statement, params).first()
    cursor = _run(connection, plan, [params])
    found = _fetch(connection, plan, cursor, many=False)
    return None if not found else plan.row(found[0])


def rows(db: Runner, statement: Executable, params: Params) -> list[Any]:
    """Every row of a query, read as ``first`` reads one."""
    connection = _connection(db)
    plan = _usable_plan(connection, statement, params)
    if plan is None or plan.row_type is None:
        return list(connection.execute(statement, params))
    cursor = _run(connection, plan, [params])
    return [plan.row(found) for found in _fetch(connection, plan, cursor, many=True)]


# Connection options that change how Core runs a statement or reads its rows. Others (the
# snapshot reads' own BEGIN mode, ``db.py``; an isolation level, applied at BEGIN) do not.
_CORE_OPTIONS = frozenset(
    {"schema_translate_map", "stream_results", "yield_per", "max_row_buffer", "no_parameters"}
)


def _usable_plan(connection: Connection, statement: Executable, params: Params) -> _Plan | None:
    """The statement's plan, unless this connection asks for what only Core does: echoing
    statements to the log (``ECHO_SQL``) or an option in ``_CORE_OPTIONS``."""
    if connection._echo or not _CORE_OPTIONS.isdisjoint(connection.get_execution_options()):
        return None
    return _plan(statement, connection.dialect, tuple(params))


def _fetch(connection: Connection, plan: _Plan, cursor: Any, *, many: bool) -> list[Any]:
    """The first row (``many=False``) or every row; a driver error while stepping through
    them (SQLite runs the query as rows are fetched) is handled as Core would."""
    try:
        found = cursor.fetchall() if many else cursor.fetchmany(1)
    except BaseException as error:
        connection._handle_dbapi_exception(error, plan.sql, None, cursor, None)
    cursor.close()
    return list(found)


def _run(connection: Connection, plan: _Plan, rows: list[Params]) -> Any:
    """The driver's cursor after executing ``plan``, as Core's own execution would leave it:
    cursor listeners called in turn (one that returns a rewritten statement is obeyed), and
    any error, from binding a value to the driver's, handled by SQLAlchemy (wrapped as
    ``IntegrityError``, ``OperationalError``…, a dropped connection invalidated, the cursor
    closed)."""
    dbapi_connection = connection.connection  # an invalidated connection raises here, as in Core
    many = len(rows) > 1
    sql, parameters, cursor = plan.sql, None, None
    try:
        parameters = [plan.bind(row) for row in rows] if many else plan.bind(rows[0])
        cursor = dbapi_connection.cursor()
        for before in connection.dispatch.before_cursor_execute:
            sql, parameters = before(connection, cursor, sql, parameters, None, many)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        connection.dispatch.after_cursor_execute(connection, cursor, sql, parameters, None, many)
    except BaseException as error:  # what Core's own execution turns into its exceptions
        connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
    return cursor


@lru_cache(maxsize=256)
def _plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    """The compiled form of a statement, or None if it needs Core at execution."""
    element = cast(ClauseElement, statement)
    # As for an executemany: no implicit RETURNING of a generated key (PostgreSQL's
    # compiler adds one to a single-row INSERT for ``inserted_primary_key``, which the
    # callers never read).
    compiled = cast(
        SQLCompiler,
        element.compile(dialect=dialect, column_keys=list(keys), for_executemany=True),
    )
    processors = compiled._bind_processors
    if (
        statement.get_execution_options()  # e.g. synchronize_session: an ORM option
        or compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.schema_translate_map
        or compiled.implicit_returning
        or not all(callable(process) for process in processors.values())  # tuple binds
    ):
        return None
    result = compiled._result_columns
    if any(isinstance(column.type, (Numeric, Float)) for column in result):
        return None  # converted by the driver's type code, which a plan made ahead lacks
    keys_out = [column.keyname for column in result]
    try:
        row_type = namedtuple("Row", keys_out) if keys_out else None
    except ValueError:  # a key that is no identifier, or one key twice
        return None
    return _Plan(
        compiled,
        compiled.string,
        tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None,
        dict(compiled.escaped_bind_names or {}),
        {name: cast(_Convert, process) for name, process in processors.items()},
        row_type,
        tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in result
        ),
    )
