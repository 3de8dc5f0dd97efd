"""``row_writes.update_now``: the columns are in the database at once, the object agrees, and
the unit of work has nothing left to write for them (SQLite, and PostgreSQL with
``SCIM_TEST_DATABASE_URL``)."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from scim_server.storage import row_writes
from scim_server.storage.models import Organization
from scim_server.storage.models import new_id
from tests.conftest import make_org


def _stored(db: Session, org_id: str) -> tuple[str, int | None, bool]:
    """The row as the database holds it now, read past the session's objects."""
    table = Organization.__table__
    row = db.connection().execute(
        select(table.c.name, table.c.seat_limit, table.c.active).where(table.c.id == org_id)
    )
    name, seat_limit, active = row.one()
    return name, seat_limit, active


def _updates_during(db: Session, action) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, many):  # noqa: ANN001
        if statement.lstrip().upper().startswith("UPDATE"):
            seen.append(statement)

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def test_a_loaded_row_is_written_at_once_and_left_clean(db: Session) -> None:
    org = db.get_one(Organization, make_org(db, "Before").id)

    row_writes.update_now(db, org, {"name": "After", "seat_limit": 7})

    assert _stored(db, org.id) == ("After", 7, True)
    assert (org.name, org.seat_limit) == ("After", 7)
    assert org not in db.dirty
    assert _updates_during(db, db.flush) == []  # the flush has nothing left to write
    db.expire(org)
    assert (org.name, org.seat_limit) == ("After", 7)


def test_earlier_changes_to_the_same_row_go_out_first_and_stay(db: Session) -> None:
    org = db.get_one(Organization, make_org(db, "Before").id)
    org.active = False  # an ordinary ORM change, not yet flushed

    row_writes.update_now(db, org, {"name": "After"})

    assert _stored(db, org.id) == ("After", None, False)


def test_a_row_not_yet_inserted_takes_the_values_with_its_insert(db: Session) -> None:
    org = Organization(name="New")
    db.add(org)

    updates = _updates_during(db, lambda: row_writes.update_now(db, org, {"seat_limit": 3}))
    db.flush()

    assert updates == []
    assert _stored(db, org.id) == ("New", 3, True)


def test_an_inserted_row_is_in_the_database_with_its_defaults_and_left_clean(
    db: Session,
) -> None:
    org = Organization(name="Inserted", seat_limit=5)

    assert row_writes.insert_now(db, org) is True

    assert _stored(db, org.id) == ("Inserted", 5, True)  # ``active`` from its Python default
    assert org in db and org not in db.new and org not in db.dirty
    assert org.created_at is not None
    db.expire(org)
    assert (org.name, org.seat_limit, org.active) == ("Inserted", 5, True)


def test_an_insert_that_inserts_nothing_leaves_the_object_out(db: Session) -> None:
    org = db.get_one(Organization, make_org(db, "Taken").id)
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[db.get_bind().dialect.name]
    table = Organization.__table__
    on_conflict_do_nothing = dialect.insert(table).on_conflict_do_nothing().returning(table.c.id)
    again = Organization(id=org.id, name="Again")

    assert row_writes.insert_now(db, again, on_conflict_do_nothing) is False
    assert again not in db


def test_a_transient_row_is_readable_in_a_process_that_used_no_mapper_yet() -> None:
    """``transient`` is the first ORM use of a fresh worker when a SCIM token authenticates
    (its organisation): the mappers must be configured by it, not by an earlier query."""
    script = (
        "from scim_server.storage import row_writes\n"
        "from scim_server.storage.models import Organization\n"
        "org = row_writes.transient(Organization, id='o-1', name='Acme')\n"
        "print(org.id, org.name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["o-1", "Acme"]


def test_a_transient_row_goes_in_through_an_ordinary_flush_too(db: Session) -> None:
    """Values set without attribute events are still what a flush inserts (the membership
    of an existing person takes that path, ``transitions._insert_contended``)."""
    org = row_writes.transient(Organization, id=new_id(), name="Flushed", seat_limit=3)
    db.add(org)
    db.flush()
    assert _stored(db, org.id) == ("Flushed", 3, True)


def _core_row(db: Session, org_id: str) -> dict:
    table = Organization.__table__
    row = db.connection().execute(select(table).where(table.c.id == org_id)).one()
    return {c.name: row._mapping[c] for c in table.c}


def test_a_row_read_with_core_becomes_a_clean_loaded_object(db: Session) -> None:
    org_id = make_org(db, "Loaded").id
    row = _core_row(db, org_id)
    db.expunge_all()

    org = row_writes.loaded(db, Organization, row)

    assert org is db.get(Organization, org_id)  # in the identity map: no second load
    assert org in db and org not in db.dirty and org not in db.new
    assert (org.name, org.active, org.created_at) == ("Loaded", True, row["created_at"])
    assert _updates_during(db, db.flush) == []
    org.seat_limit = 4  # an ordinary change after it is tracked and flushed
    db.flush()
    assert _stored(db, org_id) == ("Loaded", 4, True)


def test_the_object_the_session_holds_is_kept_with_its_changes(db: Session) -> None:
    """As an ORM load without ``populate_existing``: the session's object wins, and only
    what it has not loaded comes from the row."""
    org = db.get_one(Organization, make_org(db, "Held").id)
    row = _core_row(db, org.id)
    org.name = "Changed, not flushed"
    db.expire(org, ["seat_limit"])

    found = row_writes.loaded(db, Organization, {**row, "name": "Stale", "seat_limit": 9})

    assert found is org
    assert org.name == "Changed, not flushed"
    assert org.seat_limit == 9  # was unloaded: filled from the row, no statement
