"""GET /Users/{id} reads its one statement on a snapshot connection, without a session
(``db.snapshot_connection``), and gives the connection back whatever the answer.

The suite's other apps run on the test's own sessions, which this path steps aside for, so
these tests serve the app from its own engine over a throw-away database of the suite's
kind (SQLite, or PostgreSQL with SCIM_TEST_DATABASE_URL).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from scim_server import create_app
from scim_server.db import make_engine
from scim_server.services.directory import users as user_service
from scim_server.storage import migrate
from tests.conftest import PEPPER
from tests.conftest import PLATFORM_KEY
from tests.conftest import make_org
from tests.conftest import snapshot_writes_on
from tests.live_server import throwaway_database
from tests.scim_client import USER
from tests.scim_client import assert_scim_error

# A read that waited for a writer's lock would take this long, then answer 503.
LOCK_TIMEOUT = 1.0


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[Any, Any]]:
    """(app on its own engine, org) over a migrated throw-away database. As the suite's
    own connection does, the engine fails any write a snapshot request runs outside
    ``write_apart``."""
    spec = "sqlite" if database_url.startswith("sqlite") else database_url
    with throwaway_database(spec) as url:
        migrate.upgrade(url)
        engine = make_engine(url, checkpoint_thread=False)
        with Session(engine) as db:
            org = make_org(db, "Snapshots")
        engine.dispose()
        app = create_app(
            {
                "DATABASE_URL": url,
                "TOKEN_PEPPER": PEPPER,
                "PLATFORM_KEY": PLATFORM_KEY,
                "LOCK_TIMEOUT_SECONDS": LOCK_TIMEOUT,
            }
        )
        with snapshot_writes_on(app.extensions["scim_engine"]) as snapshot_writes:
            yield app, org
        app.extensions["scim_engine"].dispose()
        assert not snapshot_writes, snapshot_writes


def _created(app: Any, org: Any, name: str) -> str:
    """A new user's id, read once by id: this worker's copy of the token's credentials is
    then fresh, so the next read opens no session for them."""
    client = app.test_client()
    response = client.post(
        "/scim/v2/Users", json={"schemas": [USER], "userName": name}, headers=org.headers
    )
    assert response.status_code == 201, response.get_json()
    scim_id: str = response.get_json()["id"]
    assert client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers).status_code == 200
    return scim_id


def _read_sessions(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[Session]:
    """Every session the app opens for a snapshot read from now on."""
    opened: list[Session] = []
    maker = app.extensions["scim_read_sessionmaker"]

    def counted() -> Session:
        opened.append(maker())
        return opened[-1]

    monkeypatch.setitem(app.extensions, "scim_read_sessionmaker", counted)
    return opened


def _given_back(app: Any) -> list[str]:
    """Each connection taken from the pool ("checkout") and what became of it: "checkin"
    when closed and back in the pool, "detach" when the garbage collector cleaned it up."""
    ends: list[str] = []
    engine = app.extensions["scim_engine"]
    event.listen(engine, "checkout", lambda *_args: ends.append("checkout"))
    event.listen(engine, "checkin", lambda *_args: ends.append("checkin"))
    event.listen(engine, "detach", lambda *_args: ends.append("detach"))
    return ends


def _statements(app: Any) -> list[tuple[str, str | None]]:
    """Each statement run from now on, with the BEGIN its connection takes on SQLite."""
    seen: list[tuple[str, str | None]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append((statement, conn.get_execution_options().get("scim_sqlite_begin")))

    event.listen(app.extensions["scim_engine"], "before_cursor_execute", record)
    return seen


def test_a_get_by_id_reads_one_statement_in_a_snapshot_without_a_session(
    served, monkeypatch
) -> None:
    app, org = served
    scim_id = _created(app, org, "snap@example.com")
    opened, seen, ends = _read_sessions(app, monkeypatch), _statements(app), _given_back(app)

    response = app.test_client().get(f"/scim/v2/Users/{scim_id}", headers=org.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["userName"] == "snap@example.com"
    assert opened == []  # the token came from the worker's cache; the read needed no session
    assert len(seen) == 1 and seen[0][0].lstrip().upper().startswith("SELECT"), seen
    assert seen[0][1] == "DEFERRED"  # a snapshot: no write lock taken on SQLite
    assert ends == ["checkout", "checkin"]


def _hold_the_write_lock(url: str, scim_id: str) -> Any:
    """Another connection midway through a write of that user (SQLite: the write lock;
    PostgreSQL: the row's lock), until rolled back."""
    engine = make_engine(url, checkpoint_thread=False)
    conn = engine.connect()
    conn.execute(
        text("UPDATE scim_users SET display_name = 'uncommitted' WHERE id = :id"), {"id": scim_id}
    )
    return conn, engine


def test_a_get_by_id_is_answered_while_a_writer_holds_the_lock(served) -> None:
    app, org = served
    scim_id = _created(app, org, "held@example.com")
    conn, engine = _hold_the_write_lock(str(app.extensions["scim_engine"].url), scim_id)
    try:
        started = time.monotonic()
        response = app.test_client().get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
        waited = time.monotonic() - started
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()
    assert response.status_code == 200, response.get_json()
    assert "displayName" not in response.get_json()  # not the writer's uncommitted value
    assert waited < LOCK_TIMEOUT  # one that waited for the lock would take all of it


def test_a_credentials_read_and_the_users_read_share_one_snapshot(served, monkeypatch) -> None:
    """On a cache miss the token is read first, in the request's session; the user's row
    is then read on that session's connection, not on a second snapshot."""
    app, org = served
    scim_id = _created(app, org, "miss@example.com")
    app.extensions.pop("scim_read_credentials", None)
    opened = _read_sessions(app, monkeypatch)
    connections: list[Any] = []
    event.listen(
        app.extensions["scim_engine"],
        "before_cursor_execute",
        lambda conn, *_rest: connections.append(conn.connection.dbapi_connection),
    )

    response = app.test_client().get(f"/scim/v2/Users/{scim_id}", headers=org.headers)

    assert response.status_code == 200, response.get_json()
    assert len(opened) == 1
    assert len(connections) >= 2 and len(set(map(id, connections))) == 1


@pytest.mark.parametrize("kind", ["HEAD", "304"])
def test_a_head_and_a_not_modified_read_give_the_connection_back(
    served, monkeypatch, kind: str
) -> None:
    app, org = served
    scim_id = _created(app, org, f"{kind.lower()}@example.com")
    client = app.test_client()
    version = client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers).headers["ETag"]
    opened, ends = _read_sessions(app, monkeypatch), _given_back(app)

    if kind == "HEAD":
        response = client.head(f"/scim/v2/Users/{scim_id}", headers=org.headers)
        assert response.status_code == 200 and response.headers["ETag"] == version
    else:
        headers = {**org.headers, "If-None-Match": version}
        response = client.get(f"/scim/v2/Users/{scim_id}", headers=headers)
        assert response.status_code == 304

    assert opened == []
    assert ends == ["checkout", "checkin"]


def test_a_missing_user_gives_the_connection_back(served, monkeypatch) -> None:
    app, org = served
    _created(app, org, "present@example.com")
    missing = "6f1c1d2e-0000-4000-8000-000000000000"
    opened, ends = _read_sessions(app, monkeypatch), _given_back(app)

    response = app.test_client().get(f"/scim/v2/Users/{missing}", headers=org.headers)

    assert_scim_error(response, 404)
    assert opened == []
    # Given back before the failure's provisioning-log entry takes one for its own
    # transaction: a request never holds two.
    assert ends == ["checkout", "checkin", "checkout", "checkin"]


def test_a_read_the_database_refuses_is_503_and_gives_the_connection_back(
    served, monkeypatch
) -> None:
    app, org = served
    scim_id = _created(app, org, "busy@example.com")
    real = user_service.scim_reads.live_user_document

    def busy(db: Any, *args: Any, **kwargs: Any) -> Any:
        real(db, *args, **kwargs)  # the connection is open and its snapshot begun
        raise sa_exc.OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(user_service.scim_reads, "live_user_document", busy)
    opened, ends = _read_sessions(app, monkeypatch), _given_back(app)

    response = app.test_client().get(f"/scim/v2/Users/{scim_id}", headers=org.headers)

    assert_scim_error(response, 503)
    assert opened == []
    assert ends == ["checkout", "checkin", "checkout", "checkin"]
