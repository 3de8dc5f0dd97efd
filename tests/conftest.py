"""Fixtures: one migrated database per run, one rolled-back transaction per test.

SQLite (a temporary file) by default; ``SCIM_TEST_DATABASE_URL=postgresql+psycopg://…``
runs everything on PostgreSQL (``make test`` does both).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import g
from flask import request
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.orm import Session

from scim_server import create_app
from scim_server.db import is_snapshot_request
from scim_server.db import make_engine
from scim_server.services.audit import Actor
from scim_server.services.organizations import orgs
from scim_server.services.organizations import tokens
from scim_server.storage import migrate

# No per-example deadline: a busy 2-core CI machine must not turn slowness into failures.
settings.register_profile("scim", deadline=None, print_blob=True)
settings.load_profile("scim")

PEPPER = "test-pepper"
PLATFORM_KEY = "test-platform-key"


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SCIM_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'scim.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# What a read snapshot may run (db.py, ``snapshot_read``): anything else would ask SQLite to
# turn the snapshot into a write, which it refuses once another connection has committed.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK")


@contextmanager
def snapshot_writes_on(target: object) -> Iterator[list[str]]:
    """Every statement other than a read that a snapshot request runs on ``target`` (a
    connection or an engine) outside ``write_apart``, while the block runs."""
    found: list[str] = []

    def guard(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        if (
            is_snapshot_request()
            and not g.get("separate_transaction")
            and not statement.lstrip().upper().startswith(_READS)
        ):
            found.append(f"{request.method} {request.path}: {statement[:120]}")

    event.listen(target, "before_cursor_execute", guard)
    try:
        yield found
    finally:
        event.remove(target, "before_cursor_execute", guard)


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    """The test's connection, in a transaction rolled back at the end. Every test's sessions
    join it, so the snapshot reads' rule is checked here: a request served in a snapshot
    may write only through ``db.write_apart`` (its own transaction)."""
    conn = engine.connect()
    outer = conn.begin()
    with snapshot_writes_on(conn) as snapshot_writes:
        yield conn
    outer.rollback()
    conn.close()
    assert not snapshot_writes, f"a snapshot read wrote outside write_apart: {snapshot_writes}"


@pytest.fixture
def db(connection) -> Iterator[Session]:
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()


@pytest.fixture
def app_overrides() -> dict:
    """Extra app config for a test module (override this fixture, e.g. a fake resolver)."""
    return {}


def build_app(connection, database_url: str, overrides: dict):
    """An app whose sessions join the test's transaction; a test may build several (one
    per configuration) over the same rolled-back data."""

    def factory() -> Session:
        return Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return create_app(
        {
            "DATABASE_URL": database_url,
            "SESSION_FACTORY": factory,
            "TOKEN_PEPPER": PEPPER,
            "PLATFORM_KEY": PLATFORM_KEY,
            "TESTING": True,
            **overrides,
        }
    )


@pytest.fixture
def app(connection, database_url: str, app_overrides: dict):
    return build_app(connection, database_url, app_overrides)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class OrgFixture:
    id: str
    token: str
    management_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_org(db: Session, name: str = "Acme") -> OrgFixture:
    actor = Actor.system()
    org = orgs.create_org(db, name, actor=actor)
    scim = tokens.create_token(db, org, "scim", pepper=PEPPER, actor=actor)
    mgmt = tokens.create_token(db, org, "management", pepper=PEPPER, actor=actor)
    db.commit()
    return OrgFixture(org.id, scim.secret, mgmt.secret)


@pytest.fixture
def org(db: Session) -> OrgFixture:
    return make_org(db, "Acme")


@pytest.fixture
def other_org(db: Session) -> OrgFixture:
    return make_org(db, "Globex")


@pytest.fixture
def scim(client, org):
    """SCIM requests with the organisation's token."""
    from tests.scim_client import Scim

    return Scim(client, org.token)


@pytest.fixture
def admin(client, org):
    """Management API calls with the organisation's management key."""
    from tests.scim_client import Admin

    return Admin(client, org.management_key, org.id)


@pytest.fixture
def platform(client, org):
    """Management API calls with the platform key, aimed at the organisation."""
    from tests.scim_client import Admin

    return Admin(client, PLATFORM_KEY, org.id)
