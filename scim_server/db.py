"""Engine, sessions and the one-transaction-per-request rule.

A request gets one session; it commits when the response status is below 400 and
rolls back otherwise, so a failing request never leaves half a change behind.
Services may ``flush()``; only this module commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

# How long a statement waits for a lock before giving up (SCIM_LOCK_TIMEOUT_SECONDS): the
# request then answers 503 with Retry-After instead of hanging until the client gives up.
DEFAULT_LOCK_TIMEOUT = 10.0

# PostgreSQL SQLSTATEs that say "try again later", not "this request is wrong": connection
# failures (class 08), shutdowns, too many connections, lock and statement timeouts,
# serialisation failures and deadlocks.
_TRANSIENT_SQLSTATES = (
    "08",
    "57P01",
    "57P02",
    "57P03",
    "53300",
    "55P03",
    "57014",
    "40001",
    "40P01",
)
# SQLite's messages for a lock it could not get within busy_timeout, or a file it cannot open.
_TRANSIENT_SQLITE = ("database is locked", "database is busy", "unable to open database file")


def make_engine(
    url: str, *, echo: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and write-serialising BEGIN IMMEDIATE.

    Statement parameters (people's names and emails) are left out of logged errors unless
    ``echo`` asks for SQL debugging. PostgreSQL sessions get ``lock_timeout`` so a request
    blocked behind a stuck transaction fails fast (503) rather than holding a thread.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        options = f"-c lock_timeout={int(lock_timeout * 1000)}"
        return create_engine(
            url,
            echo=echo,
            hide_parameters=not echo,
            pool_pre_ping=True,
            connect_args={"options": options},
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, hide_parameters=not echo, connect_args={"timeout": lock_timeout}
    )
    _configure_sqlite(engine, lock_timeout)
    return engine


def is_unavailable(error: BaseException) -> bool:
    """Is this the database being unreachable or a lock timing out (503), not a bug (500)?"""
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_TRANSIENT_SQLSTATES)
    if isinstance(error, sa_exc.OperationalError):
        # psycopg raises OperationalError without a SQLSTATE when it cannot connect at all.
        message = str(error.orig).lower()
        return sqlstate is None and (
            "sqlite" not in type(error.orig).__module__ or message.startswith(_TRANSIENT_SQLITE)
        )
    return False


def _configure_sqlite(engine: Engine, lock_timeout: float) -> None:
    """Make SQLite behave like one serialised writer with many readers.

    SQLite ignores ``SELECT … FOR UPDATE``; ``BEGIN IMMEDIATE`` takes the write lock at
    the start of every transaction, so two PATCHes of one user serialise instead of one
    silently overwriting the other. ``case_sensitive_like`` makes LIKE honour
    ``caseExact`` the way PostgreSQL does; case-insensitive matches lower() both sides.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        # SQLite's lower() folds ASCII only; caseExact=false must fold "É" as PostgreSQL does.
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def init_app(app: Flask) -> None:
    """Create the engine and wire the request transaction."""
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        engine = make_engine(
            app.config["DATABASE_URL"],
            echo=app.config["ECHO_SQL"],
            lock_timeout=app.config["LOCK_TIMEOUT_SECONDS"],
        )
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["scim_engine"] = engine
    app.extensions["scim_sessionmaker"] = factory
    app.after_request(_finish_request)
    app.teardown_request(_close_session)


def commit_despite_error() -> None:
    """Keep this request's writes although it answers an error (e.g. a failed-attempt
    counter); the caller must have written nothing else."""
    g.commit_despite_error = True


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["scim_sessionmaker"]()
    session: Session = g.db_session
    return session


def _finish_request(response: Response) -> Response:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400 or g.pop("commit_despite_error", False):
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for a CLI command or job: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
