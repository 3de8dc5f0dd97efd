"""``prepared``: a prebuilt write sent to the driver stores what Core would, fails as Core
would, and is seen by cursor listeners (SQLite, and PostgreSQL with
``SCIM_TEST_DATABASE_URL``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import exc
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server import db as db_module
from scim_server.storage import prepared
from scim_server.storage.models import Event
from scim_server.storage.models import Organization
from tests.conftest import make_org
from tests.sql_statements import executions_during

_EVENTS = Event.__table__
_INSERT_EVENT = insert(_EVENTS)  # built once, as the statements ``prepared`` takes are


def _event(org_id: str, reason: str) -> dict[str, Any]:
    return {
        "org_id": org_id,
        "type": "test.prepared",
        "actor_type": "system",
        "actor_id": None,
        "target_type": "organization",
        "target_id": org_id,
        "before": {"seats": 1, "names": ["a", "é"]},
        "after": None,
        "reason": reason,
        "at": datetime(2026, 12, 3, 15, 4, 5),  # whole seconds: formats differ most here
    }


def _stored(db: Session, reason: str) -> tuple[Any, ...]:
    """The row's columns as the driver returns them, with no type conversion on the way,
    and whether each JSON column is SQL NULL (psycopg reads JSON ``null`` as None too)."""
    names = [f'"{c.name}"' for c in _EVENTS.c if c.name != "id"]
    columns = ", ".join([*names, '"before" IS NULL', '"after" IS NULL'])
    rows = db.connection().exec_driver_sql(
        f"SELECT {columns} FROM events WHERE reason = '{reason}'"
    )
    (row,) = rows.all()
    return tuple(row)


def test_a_prepared_insert_stores_what_core_stores(db: Session) -> None:
    org_id = make_org(db).id
    core, driver = _event(org_id, "by core"), _event(org_id, "by driver")

    db.connection().execute(_INSERT_EVENT, core)
    changed = prepared.execute(db, _INSERT_EVENT, driver)

    assert changed == 1
    by_core, by_driver = _stored(db, "by core"), _stored(db, "by driver")
    reason = [c.name for c in _EVENTS.c if c.name != "id"].index("reason")
    assert by_driver[:reason] + by_driver[reason + 1 :] == by_core[:reason] + by_core[reason + 1 :]
    loaded = db.scalars(select(Event).where(Event.reason == "by driver")).one()
    assert (loaded.before, loaded.at) == (driver["before"], driver["at"])


def test_several_rows_go_as_one_executemany(db: Session) -> None:
    org_id = make_org(db).id
    rows = [_event(org_id, "one"), _event(org_id, "two")]

    seen = executions_during(db.connection(), lambda: prepared.execute(db, _INSERT_EVENT, rows))

    (statement, parameters, context, many), *_ = seen
    assert (statement.startswith("INSERT INTO events"), context, many) == (True, None, True)
    assert len(parameters) == 2
    reasons = db.scalars(select(Event.reason).where(Event.reason.in_(["one", "two"])))
    assert sorted(reasons) == ["one", "two"]


def test_a_constraint_violation_is_sqlalchemys_integrity_error(db: Session) -> None:
    org = db.get_one(Organization, make_org(db).id)
    row = {c.name: getattr(org, c.key) for c in Organization.__mapper__.columns}
    statement = insert(Organization.__table__)
    assert prepared._plan(statement, db.connection().dialect, tuple(row)) is not None

    with pytest.raises(exc.IntegrityError), db.begin_nested():
        prepared.execute(db, statement, row)  # the same primary key again


def test_a_value_the_column_type_cannot_bind_fails_as_in_core(db: Session) -> None:
    row = _event(make_org(db).id, "unbindable") | {"before": {"not json": object()}}

    with pytest.raises(exc.StatementError, match="not JSON serializable"):
        prepared.execute(db, _INSERT_EVENT, row)


def test_cursor_listeners_see_the_statement_and_its_parameters(db: Session) -> None:
    org_id = make_org(db).id

    seen = executions_during(
        db.connection(), lambda: prepared.execute(db, _INSERT_EVENT, _event(org_id, "listened"))
    )

    (statement, parameters, context, many), *_ = seen
    assert (context, many) == (None, False)  # the driver path: no Core execution context
    assert statement.startswith("INSERT INTO events")
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert "listened" in values


def test_a_statement_needing_python_defaults_goes_through_core(db: Session) -> None:
    table = Organization.__table__
    statement = insert(table)
    keys = ("name",)  # id, created_at and the flags come from the columns' Python defaults

    assert prepared._plan(statement, db.connection().dialect, keys) is None
    prepared.execute(db, statement, {"name": "Defaults Inc"})

    org = db.scalars(select(Organization).where(Organization.name == "Defaults Inc")).one()
    assert org.id and org.created_at is not None and org.active is True


def test_every_statement_of_a_create_a_deprovisioning_and_a_get_goes_to_the_driver(
    scim, connection
) -> None:
    """Core gives a listener its execution context; ``prepared`` has none. Authentication,
    the claims read, every row written, the locking read of a PATCH and a GET's one
    statement go the short way (the test's own savepoints excepted)."""
    off = [{"op": "replace", "path": "active", "value": False}]
    # Once per process, outside what is checked: the token's first use (then at most once
    # a minute, in a transaction of its own) and the built-in roles' ids (memoised).
    warm = scim.create_user("warm@example.com")
    assert scim.patch(f"/Users/{warm['id']}", off).status_code == 200

    def create_deprovision_read() -> None:
        created = scim.create_user("prepared@example.com")  # with an email: an index row
        assert scim.patch(f"/Users/{created['id']}", off).status_code == 200
        assert scim.get(f"/Users/{created['id']}").get_json()["active"] is False

    seen = executions_during(connection, create_deprovision_read)

    through_core = [
        e.statement[:60]
        for e in seen
        if e.context is not None and not e.statement.startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(seen) > 10  # the listener saw the requests' statements
    assert through_core == []


def test_a_snapshot_reads_connection_keeps_the_driver_path(engine) -> None:
    """The snapshot reads' engine carries its own BEGIN mode as an execution option
    (``db.snapshot_read``); it changes nothing about a statement, so GETs go the short
    way. Streaming results does change how rows are read: that goes through Core."""
    keys = tuple(_event("org", "keys"))
    snapshot = engine.execution_options(**{db_module._SQLITE_BEGIN: "DEFERRED"})
    with snapshot.connect() as connection:
        assert prepared._usable_plan(connection, _INSERT_EVENT, keys) is not None
    with engine.connect() as connection:
        streaming = connection.execution_options(stream_results=True)
        assert prepared._usable_plan(streaming, _INSERT_EVENT, keys) is None
