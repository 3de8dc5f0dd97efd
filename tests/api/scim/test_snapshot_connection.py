"""GET /Users/{id} reads its one statement on a snapshot connection, without a session
(``db.snapshot_connection``), and gives the connection back whatever the answer.

The suite's other apps run on the test's own sessions, which this path steps aside for, so
these tests serve the app from its own engine over a throw-away database of the suite's
kind (SQLite, or PostgreSQL with SCIM_TEST_DATABASE_URL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from scim_server import create_app
from scim_server.db import make_engine
from scim_server.services.directory import users as user_service
from scim_server.storage import migrate
from tests.conftest import PEPPER
from tests.conftest import PLATFORM_KEY
from tests.conftest import make_org
from tests.live_server import throwaway_database
from tests.scim_client import USER
from tests.scim_client import assert_scim_error


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[Any, Any]]:
    """(app on its own engine, org) over a migrated throw-away database."""
    spec = "sqlite" if database_url.startswith("sqlite") else database_url
    with throwaway_database(spec) as url:
        migrate.upgrade(url)
        engine = make_engine(url, checkpoint_thread=False)
        with Session(engine) as db:
            org = make_org(db, "Snapshots")
        engine.dispose()
        app = create_app(
            {"DATABASE_URL": url, "TOKEN_PEPPER": PEPPER, "PLATFORM_KEY": PLATFORM_KEY}
        )
        yield app, org
        app.extensions["scim_engine"].dispose()


def _created(app: Any, org: Any, name: str) -> str:
    response = app.test_client().post(
        "/scim/v2/Users", json={"schemas": [USER], "userName": name}, headers=org.headers
    )
    assert response.status_code == 201, response.get_json()
    scim_id: str = response.get_json()["id"]
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


def _statements(app: Any) -> list[str]:
    seen: list[str] = []
    event.listen(
        app.extensions["scim_engine"],
        "before_cursor_execute",
        lambda _c, _cur, statement, *_rest: seen.append(statement),
    )
    return seen


def test_a_get_by_id_reads_one_statement_without_a_session(served, monkeypatch) -> None:
    app, org = served
    scim_id = _created(app, org, "snap@example.com")
    client = app.test_client()
    assert client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers).status_code == 200
    opened, seen = _read_sessions(app, monkeypatch), _statements(app)
    ends = _given_back(app)

    response = client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["userName"] == "snap@example.com"
    assert opened == []  # the token came from the worker's cache; the read needed no session
    assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT"), seen
    assert ends == ["checkout", "checkin"]


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


def test_a_missing_user_gives_the_connection_back(served) -> None:
    app, org = served
    _created(app, org, "present@example.com")
    missing = "6f1c1d2e-0000-4000-8000-000000000000"
    ends = _given_back(app)

    response = app.test_client().get(f"/scim/v2/Users/{missing}", headers=org.headers)

    assert_scim_error(response, 404)
    # Then the failure's provisioning-log entry, in a transaction of its own.
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
    ends = _given_back(app)

    response = app.test_client().get(f"/scim/v2/Users/{scim_id}", headers=org.headers)

    assert_scim_error(response, 503)
    assert ends == ["checkout", "checkin", "checkout", "checkin"]
