"""Write the rows of a SCIM request now, with Core statements, and keep the objects.

A SCIM deprovisioning changes three columns of one membership and the version of one SCIM
row; a SCIM create inserts a person, a membership and a SCIM row. The ORM's flush of those
objects (change detection, dependency sort, per-mapper bookkeeping) cost more CPU than
the statements themselves (cProfile: about a third of a PATCH ``active``). These send one
Core statement each and leave the object as if it had been loaded from the database, so
it reads back what was written and the flush finds nothing left to do for it. Both run
through the session, so changes pending before them are flushed first and writes keep
their order.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from typing import TypeVar
from typing import cast

from sqlalchemy import Executable
from sqlalchemy import Table
from sqlalchemy import Update
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import update
from sqlalchemy.orm import Mapper
from sqlalchemy.orm import Session
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from scim_server.storage import prepared

_T = TypeVar("_T")
_ROW_ID = "row_id_"  # bind names must differ from column names (SQLAlchemy reserves those)


def update_now(db: Session, obj: Any, values: dict[str, Any]) -> None:
    """Set ``values`` (attribute name → value) on ``obj`` and write them at once.

    A row not yet inserted takes them as ordinary attribute changes (its INSERT carries
    them). The statement goes through the session, so earlier pending changes are flushed
    first and the writes keep their order.
    """
    state = inspect(obj)
    if not state.persistent or not values:
        for key, value in values.items():
            setattr(obj, key, value)
        return
    mapper = cast(Mapper[Any], state.mapper)
    (pk,) = mapper.primary_key
    statement = _update_by_key(mapper, pk.key, tuple(sorted(values)))
    params = {f"v_{key}": value for key, value in values.items()}
    params[_ROW_ID] = state.identity[0]
    db.flush()  # what is pending goes first, as the session's own execute would autoflush
    prepared.execute(db, statement, params)
    for key, value in values.items():
        set_committed_value(obj, key, value)


@lru_cache(maxsize=64)
def _update_by_key(mapper: Mapper[Any], pk_key: str, keys: tuple[str, ...]) -> Update:
    """One prebuilt statement per (table, set of columns): building it costs more Python
    than the indexed UPDATE."""
    table = cast(Table, mapper.local_table)
    columns = {}
    for key in keys:
        column = mapper.columns[key]
        columns[column.name] = bindparam(f"v_{key}", type_=column.type)
    return update(table).where(table.c[pk_key] == bindparam(_ROW_ID)).values(columns)


def transient(cls: type[_T], **values: Any) -> _T:
    """A new, transient ``cls`` holding ``values`` (column attributes only).

    The mapped constructor sets each keyword through the attribute machinery (an event and
    a history entry per column); a transient row has no history to keep, and ``insert_now``
    and a flush both read what the instance's dict holds. Building the three rows of a
    SCIM create and the organisation of every request this way saves that per column.
    """
    obj: _T = _manager_of(cast(Any, cls)).new_instance()
    obj.__dict__.update(values)
    return obj


def loaded(db: Session, cls: type[_T], row: Mapping[str, Any]) -> _T:
    """The session's ``cls`` for a row read with Core (values by column name), as an ORM
    load of it would give: the object the session already holds for that key (its
    unloaded attributes filled from the row), else a new one attached as loaded.

    Building it costs a fraction of the ORM's loading of an entity from a result (per-row
    loader setup, identity lookup, state bookkeeping); the object behaves the same after.
    """
    mapper = cast(Mapper[Any], inspect(cls))
    values = {key: row[column.name] for key, column, _ in _columns_of(mapper)}
    (pk,) = mapper.primary_key
    held = db.identity_map.get(mapper.identity_key_from_primary_key((row[pk.name],)))
    if held is not None:
        state = inspect(held)
        for key in state.unloaded & values.keys():
            set_committed_value(held, key, values[key])
        return cast(_T, held)
    obj = transient(cls, **values)
    make_transient_to_detached(obj)
    db.add(obj)
    return obj


@lru_cache(maxsize=64)
def _manager_of(cls: type[Any]) -> Any:
    # A constructor call configures the mappers on first use; ``new_instance`` does not,
    # and an instance of an unconfigured class has no attribute implementations yet.
    configure_mappers()
    return cast(Mapper[Any], inspect(cls)).class_manager


def insert_now(
    db: Session, obj: Any, statement: Executable | None = None, *, attach: bool = True
) -> bool:
    """INSERT a new object's row now and attach the object as loaded; False if no row went in.

    Every column is bound: a value set on the object, else the column's Python default
    (evaluated here, so the object knows it), else NULL; a column only the database
    fills (a server default) is left to it, and to a load when the object is asked.
    ``statement`` replaces the plain INSERT of the object's table, e.g. with ``ON CONFLICT
    DO NOTHING``; it must have a RETURNING clause (the row count after an upsert is not
    reliable across drivers: psycopg reports -1), and when it returns no row, the object
    stays out of the session.

    ``attach=False`` leaves the object transient: for a caller that only reads back the
    values it set and never changes the row through the object (a SCIM create renders its
    answer from them). Attaching is ORM bookkeeping, a few percent of a create per row.
    An unattached object loads nothing: a column only the database fills reads as None.
    """
    mapper = cast(Mapper[Any], inspect(obj).mapper)
    state = obj.__dict__
    values = {}
    for key, column, default in _columns_of(mapper):
        if key in state:
            value = state[key]
        elif default is not None and default.is_scalar:
            value = default.arg
        elif default is not None and default.is_callable:
            value = default.arg(None)
        elif column.server_default is not None:
            continue
        else:
            value = None
        # Straight into the instance's dict: the object is transient, and the line below
        # makes what it holds its loaded state (no attribute events needed on the way).
        state[key] = value
        values[column.name] = value
    # Core on the session's connection, after anything pending (as autoflush would).
    db.flush()
    if statement is None:
        prepared.execute(db, _insert_of(mapper), values)  # inserts its row or raises
    elif prepared.first(db, statement, values) is None:
        return False
    if attach:
        make_transient_to_detached(obj)
        db.add(obj)
    return True


@lru_cache(maxsize=32)
def _columns_of(mapper: Mapper[Any]) -> tuple[tuple[str, Any, Any], ...]:
    """(attribute key, column, its Python default) of each mapped column, once per mapper."""
    return tuple((a.key, a.columns[0], a.columns[0].default) for a in mapper.column_attrs)


@lru_cache(maxsize=32)
def _insert_of(mapper: Mapper[Any]) -> Executable:
    return insert(cast(Table, mapper.local_table))
