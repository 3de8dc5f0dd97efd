"""A database outage or a lock timeout is 503 with Retry-After; everything else stays 500.

Runs on the suite's backend (SQLite by default, PostgreSQL with SCIM_TEST_DATABASE_URL):
the lock tests use a throw-away database of that kind, served by an app with its own
engine, so the locks are real ones between two connections.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import scim_server.db
from scim_server import create_app
from scim_server.db import IDLE_PING_SECONDS
from scim_server.db import is_unavailable
from scim_server.db import make_engine
from scim_server.storage import migrate
from tests.conftest import PEPPER
from tests.conftest import PLATFORM_KEY
from tests.conftest import make_org
from tests.live_server import throwaway_database
from tests.scim_client import GROUP
from tests.scim_client import PATCH_OP
from tests.scim_client import USER
from tests.scim_client import assert_api_error
from tests.scim_client import assert_scim_error

# Nothing listens on port 1; connect_timeout bounds the attempt.
UNREACHABLE = "postgresql+psycopg://scim:scim@127.0.0.1:1/scim?connect_timeout=2"


def _user(name: str = "locked@example.com") -> dict:
    return {"schemas": [USER], "userName": name}


def test_unreachable_database_is_503_with_retry_after_on_scim_and_api():
    app = create_app({"DATABASE_URL": UNREACHABLE, "TOKEN_PEPPER": PEPPER, "TESTING": True})
    client = app.test_client()
    scim = client.get("/scim/v2/Users", headers={"Authorization": "Bearer scim_x"})
    body = assert_scim_error(scim, 503)
    assert scim.headers["Retry-After"] == "5"
    assert "Traceback" not in scim.get_data(as_text=True)
    assert "127.0.0.1" not in body["detail"]
    api = client.get("/api/v1/organizations/o/members", headers={"Authorization": "Bearer k"})
    assert_api_error(api, 503, "service_unavailable")
    assert api.headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (
            sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
            True,
        ),
        (
            sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")),
            False,
        ),
        (sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed")), False),
        (sa_exc.ProgrammingError("SELECT", {}, sqlite3.ProgrammingError("bad")), False),
        (RuntimeError("bug"), False),
    ],
)
def test_only_outages_and_lock_timeouts_count_as_unavailable(error, unavailable):
    assert is_unavailable(error) is unavailable


def test_a_bug_in_sql_is_still_500(client, org, monkeypatch):
    from scim_server.services.directory import users

    def broken(*args, **kwargs):
        raise sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such column"))

    monkeypatch.setattr(users, "read_user", broken)
    response = client.get("/scim/v2/Users/x", headers=org.headers)
    assert_scim_error(response, 500)
    assert "Retry-After" not in response.headers


@pytest.fixture
def live_url(database_url: str) -> Iterator[str]:
    """A migrated throw-away database of the suite's kind, outside the per-test rollback."""
    spec = "sqlite" if database_url.startswith("sqlite") else database_url
    with throwaway_database(spec) as url:
        migrate.upgrade(url)
        yield url


def _app_and_org(url: str):
    engine = make_engine(url)
    with Session(engine) as db:
        org = make_org(db, "Locked")
    engine.dispose()
    app = create_app(
        {
            "DATABASE_URL": url,
            "TOKEN_PEPPER": PEPPER,
            "PLATFORM_KEY": PLATFORM_KEY,
            "LOCK_TIMEOUT_SECONDS": 0.3,
            "TESTING": True,
        }
    )
    return app, org


def _hold_write_lock(url: str):
    """Another connection holding the lock a SCIM create needs, until closed."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # SQLite: the one write lock
        return conn
    engine = make_engine(url)
    conn = engine.connect()
    conn.execute(text("LOCK TABLE users, scim_users, sites IN ACCESS EXCLUSIVE MODE"))
    return conn, engine


def _release(conn) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute("ROLLBACK")
        conn.close()
        return
    conn, engine = conn
    conn.rollback()
    conn.close()
    engine.dispose()


def test_a_lock_timeout_is_503_and_writes_nothing(live_url):
    app, org = _app_and_org(live_url)
    client = app.test_client()
    held = _hold_write_lock(live_url)
    try:
        started = time.monotonic()
        response = client.post("/scim/v2/Users", json=_user(), headers=org.headers)
        assert time.monotonic() - started < 5  # SCIM_LOCK_TIMEOUT_SECONDS=0.3, not 30 s
        assert_scim_error(response, 503)
        assert response.headers["Retry-After"] == "5"
        mgmt = {"Authorization": f"Bearer {org.management_key}", "X-Acting-User": "key"}
        api = client.post(
            f"/api/v1/organizations/{org.id}/sites", json={"name": "HQ"}, headers=mgmt
        )
        assert_api_error(api, 503, "service_unavailable")
    finally:
        _release(held)
    again = client.post("/scim/v2/Users", json=_user(), headers=org.headers)
    assert again.status_code == 201, again.get_json()  # nothing half written by the 503
    app.extensions["scim_engine"].dispose()


def _hold_row_write(url: str, scim_id: str):
    """Another connection midway through a write of that user's row, until released: on
    SQLite that holds the one write lock, on PostgreSQL the row's lock."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE scim_users SET display_name = 'uncommitted' WHERE id = ?", (scim_id,))
        return conn
    engine = make_engine(url)
    conn = engine.connect()
    conn.execute(
        text("UPDATE scim_users SET display_name = 'uncommitted' WHERE id = :id"), {"id": scim_id}
    )
    return conn, engine


def test_reads_are_answered_while_a_writer_holds_the_lock(live_url):
    app, org = _app_and_org(live_url)
    client = app.test_client()
    created = client.post(
        "/scim/v2/Users", json={**_user(), "displayName": "Committed"}, headers=org.headers
    )
    assert created.status_code == 201, created.get_json()
    scim_id = created.get_json()["id"]
    group = client.post(
        "/scim/v2/Groups",
        json={"schemas": [GROUP], "displayName": "G", "members": [{"value": scim_id}]},
        headers=org.headers,
    )
    group_id = group.get_json()["id"]
    held = _hold_row_write(live_url, scim_id)
    # A full run's heap is large: a collection triggered by a read can pause it for half a
    # second (CI: the first read took 0.70 s, the other four 2-6 ms). Collect now and not
    # during the reads, so what is timed is the reads and any wait for the lock.
    gc.collect()
    gc.disable()
    try:
        waits: list[float] = []

        def timed(call: Any, *args: Any, **kw: Any) -> Any:
            started = time.monotonic()
            response = call(*args, headers=org.headers, **kw)
            waits.append(time.monotonic() - started)
            return response

        one = timed(client.get, f"/scim/v2/Users/{scim_id}")
        head = timed(client.head, f"/scim/v2/Users/{scim_id}")
        members = timed(client.get, f"/scim/v2/Groups/{group_id}")
        found = timed(
            client.get,
            "/scim/v2/Users",
            query_string={"filter": 'userName eq "locked@example.com"'},
        )
        cursor = timed(client.get, "/scim/v2/Groups", query_string={"cursor": ""})
        # The lock is really held: a write of the same user waits it out.
        patch = client.patch(
            f"/scim/v2/Users/{scim_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
            headers=org.headers,
        )
    finally:
        gc.enable()
        _release(held)
    assert one.status_code == 200, one.get_json()
    assert one.get_json()["displayName"] == "Committed"  # not the writer's uncommitted value
    assert head.status_code == 200
    assert [m["value"] for m in members.get_json()["members"]] == [scim_id]
    assert found.get_json()["totalResults"] == 1
    assert cursor.status_code == 200, cursor.get_json()
    assert [g["id"] for g in cursor.get_json()["Resources"]] == [group_id]
    # No read waited for the lock: one that did would take its whole timeout (0.3 s). Each
    # read is timed alone, so a busy machine slowing all five does not add up to a wait.
    assert max(waits) < 0.3, waits
    assert_scim_error(patch, 503)
    app.extensions["scim_engine"].dispose()


def _hold_token_rows(url: str):
    """Another connection holding what recording a token's use needs: SQLite's one write
    lock, or the tokens' row locks on PostgreSQL (reads of them still go through)."""
    if url.startswith("sqlite"):
        return _hold_write_lock(url)
    engine = make_engine(url)
    conn = engine.connect()
    conn.execute(text("SELECT id FROM api_tokens FOR UPDATE")).all()
    return conn, engine


def test_a_read_that_cannot_record_the_tokens_use_is_still_answered(live_url):
    app, org = _app_and_org(live_url)
    client = app.test_client()
    created = client.post("/scim/v2/Users", json=_user(), headers=org.headers)
    scim_id = created.get_json()["id"]
    engine = make_engine(live_url)
    long_ago = datetime(2020, 1, 1)
    with engine.begin() as conn:  # the token's use is due to be recorded again
        conn.execute(text("UPDATE api_tokens SET last_used_at = :t"), {"t": long_ago})
    held = _hold_token_rows(live_url)
    try:
        read = client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
    finally:
        _release(held)
    assert read.status_code == 200, read.get_json()
    app.extensions.pop("scim_read_credentials", None)  # this worker's one-second copy
    again = client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
    assert again.status_code == 200
    with engine.connect() as conn:
        used = conn.scalar(text("SELECT max(last_used_at) FROM api_tokens"))
    engine.dispose()
    assert used is not None and str(used) > "2020-01-02"  # recorded once the lock was free
    app.extensions["scim_engine"].dispose()


def test_a_write_waits_for_the_lock_and_goes_ahead_once_it_is_free(live_url, monkeypatch):
    app, org = _app_and_org(live_url)  # SCIM_LOCK_TIMEOUT_SECONDS=0.3
    client = app.test_client()
    pauses: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(scim_server.db.time, "sleep", lambda s: pauses.append(s) or real_sleep(s))
    held = _hold_write_lock(live_url)
    answers: list = []
    writer = threading.Thread(
        target=lambda: answers.append(
            client.post("/scim/v2/Users", json=_user("waited@example.com"), headers=org.headers)
        )
    )
    writer.start()
    real_sleep(0.15)
    waiting = writer.is_alive()  # still waiting for the lock
    _release(held)
    writer.join(5)
    assert waiting
    assert answers and answers[0].status_code == 201, answers and answers[0].get_json()
    if live_url.startswith("sqlite"):
        # It retried on its own every millisecond at most (SQLite's own wait sleeps up to
        # 25 ms and more between tries), and left the connection's busy timeout as it was.
        assert len(pauses) > 20 and max(pauses) <= 0.001
        with app.extensions["scim_engine"].connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
    app.extensions["scim_engine"].dispose()


def _ends_other_sessions(url: str) -> None:
    """End every other session on this database, as a restart or a firewall would."""
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    engine.dispose()


def _postgres_app_with_a_user(live_url: str):
    if live_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: a pooled connection to a server")
    app, org = _app_and_org(live_url)
    client = app.test_client()
    created = client.post("/scim/v2/Users", json=_user(), headers=org.headers)
    return app, client, org, created.get_json()["id"]


def test_a_pooled_connection_that_died_while_idle_is_replaced_unseen(live_url):
    app, client, org, scim_id = _postgres_app_with_a_user(live_url)
    _ends_other_sessions(live_url)
    time.sleep(IDLE_PING_SECONDS + 0.1)  # the pooled connection is idle, and dead
    read = client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
    assert read.status_code == 200, read.get_json()
    app.extensions["scim_engine"].dispose()


def test_a_connection_in_steady_use_is_not_pinged_before_each_request(live_url):
    app, client, org, scim_id = _postgres_app_with_a_user(live_url)
    dialect = app.extensions["scim_engine"].dialect
    pings: list[object] = []
    real_ping = dialect.do_ping
    dialect.do_ping = lambda conn: pings.append(conn) or real_ping(conn)
    try:
        for _ in range(5):
            client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
        assert pings == []  # a round trip per request saved
        time.sleep(IDLE_PING_SECONDS + 0.1)
        client.get(f"/scim/v2/Users/{scim_id}", headers=org.headers)
        assert len(pings) == 1  # idle: checked once before use
    finally:
        del dialect.do_ping
    app.extensions["scim_engine"].dispose()
