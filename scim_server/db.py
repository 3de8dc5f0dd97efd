"""Engine, sessions and the one-transaction-per-request rule.

A request gets one session; it commits when the response status is below 400 and
rolls back otherwise, so a failing request never leaves half a change behind.
Services may ``flush()``; only this module commits.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path
from typing import Any
from typing import TypeVar

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from sqlalchemy import Connection
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from scim_server.storage import wal_checkpoints

_View = TypeVar("_View")

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


# Connections per worker process for PostgreSQL (SCIM_DB_POOL_SIZE, SCIM_DB_MAX_OVERFLOW).
# A request holds one connection from its first statement to its commit, and a worker runs
# at most ``--threads`` requests at once (``server.THREADS``, 1 by default; up to 4 served
# from the pool without opening a connection per request: the pool opens connections only
# when they are needed); 2 overflow connections absorb anything else in the process (the
# SDK, a CLI job) without waiting. PostgreSQL sees at most workers × (pool + overflow) sessions:
# 4 workers → 24, well inside the default max_connections of 100.
DEFAULT_POOL_SIZE = 4
DEFAULT_MAX_OVERFLOW = 2
SQLITE_SYNCHRONOUS = ("NORMAL", "FULL")
# Requests that only read (a read's credentials may come from the worker's cache: auth.py).
READ_METHODS = frozenset({"GET", "HEAD"})
# A view marked ``@snapshot_read`` reads and writes nothing else: on SQLite its GET or HEAD
# runs in a deferred BEGIN, a WAL snapshot that takes no lock, so it neither waits for a
# writer nor holds one up (every other transaction is BEGIN IMMEDIATE, below). A snapshot
# must not write once it has read (SQLite refuses to turn a snapshot older than the last
# commit into a write), so what such a request records (a token's last use, a
# provisioning-log entry) goes through ``write_apart``. Views are marked one by one, not
# every GET: some GETs write (an unfiltered list page's bookmark, a console session's
# last-seen time); ``snapshot_read_if`` marks a view that only reads for some requests.
_SQLITE_BEGIN = "scim_sqlite_begin"  # an execution option: "IMMEDIATE" (default) or "DEFERRED"
_SNAPSHOT = "scim_snapshot"  # in the ``info`` of a snapshot_read view's session
# A pooled PostgreSQL connection idle for longer than this is checked (one round trip)
# before a request uses it; see ``_ping_when_idle``.
IDLE_PING_SECONDS = 1.0


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
    sqlite_synchronous: str = "NORMAL",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    checkpoint_thread: bool = True,
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and write-serialising BEGIN IMMEDIATE.

    ``checkpoint_thread``: a SQLite file's WAL is checkpointed by a background thread of
    this process (storage/wal_checkpoints.py); a one-shot engine (a migration, a check)
    passes False and leaves the log to the server's processes.

    Statement parameters (people's names and emails) are left out of logged errors unless
    ``echo`` asks for SQL debugging. Both backends wait at most ``lock_timeout`` seconds
    for a lock (PostgreSQL ``lock_timeout``, SQLite ``busy_timeout``), so a request blocked
    behind a stuck transaction fails fast (503) rather than holding a thread.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=not echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            connect_args={"options": f"-c lock_timeout={int(lock_timeout * 1000)}"},
        )
        _ping_when_idle(engine, IDLE_PING_SECONDS)
        return engine
    in_file = parsed.database if parsed.database not in (None, "", ":memory:") else None
    if in_file is not None:
        Path(in_file).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, hide_parameters=not echo, connect_args={"timeout": lock_timeout}
    )
    _configure_sqlite(
        engine,
        synchronous=sqlite_synchronous,
        lock_timeout=lock_timeout,
        checkpoint_file=(
            str(Path(in_file).resolve()) if in_file is not None and checkpoint_thread else None
        ),
    )
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    A connection dies while nobody uses it: the database restarts, a firewall drops an idle
    flow, ``idle_session_timeout`` ends it. SQLAlchemy's ``pool_pre_ping`` checks it at every
    checkout instead, a round trip that cost a quarter of a millisecond on every request
    (16% of a GET, measured in-process on a local server). Here a connection idle for more
    than ``idle_seconds`` is pinged, and replaced, with every connection the pool opened
    before it, if the ping finds it dead; one used within that time is used as it is. If
    the database went away in that moment, the request answers 503 with Retry-After (the
    IdP retries) and SQLAlchemy drops the pool's older connections, so the next request
    reconnects.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_conn, None):
                raise sa_exc.InvalidatePoolError() from error
            raise


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


# Every connection's pragmas, each with its trade-off. (``synchronous`` and ``busy_timeout``
# are added per engine: a statement waits up to SCIM_LOCK_TIMEOUT_SECONDS for a lock, then the
# request is a 503; a write transaction's BEGIN IMMEDIATE waits in ``_begin_immediate``.)
SQLITE_PRAGMAS = (
    # Readers never block the writer nor each other; one writer at a time. Persistent.
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    # caseExact=true LIKE (co, sw, ew) compares as PostgreSQL does.
    "PRAGMA case_sensitive_like=ON",
    # Read the file through a 256 MiB memory map: page reads cost no read() call and no
    # copy. The mapped pages are the OS page cache, shared by every worker, so they show
    # in each worker's RSS as shared, not private, memory.
    "PRAGMA mmap_size=268435456",
    # 16 MiB of page cache per connection (default 2 MiB), so the hot index pages of a
    # large directory stay cached: at most workers × pool connections × 16 MiB.
    "PRAGMA cache_size=-16384",
    # Temporary files in memory. A statement on a table with triggers (the live counters
    # of scim_users and scim_groups) keeps a statement journal of the pages it changes, and
    # a SCIM create's INSERT changes more than the 64 KiB SQLite keeps in memory before
    # spilling it to a temporary file: about 27 pwrite calls per create (strace), a third
    # of that INSERT's time. The cost moves to memory: a sort with no index to follow
    # (``sortBy``) holds its rows there, at most startIndex + count of them with its LIMIT.
    "PRAGMA temp_store=MEMORY",
)


def _configure_sqlite(
    engine: Engine,
    *,
    synchronous: str = "NORMAL",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    checkpoint_file: str | None = None,
) -> None:
    """Make SQLite behave like one serialised writer with many readers.

    SQLite ignores ``SELECT … FOR UPDATE``; ``BEGIN IMMEDIATE`` takes the write lock at
    the start of every transaction but a ``snapshot_read`` view's, so two PATCHes of one
    user serialise instead of one silently overwriting the other. ``case_sensitive_like``
    makes LIKE honour ``caseExact`` the way PostgreSQL does; case-insensitive matches
    lower() both sides.

    Durability (``SCIM_SQLITE_SYNCHRONOUS``): with WAL, ``NORMAL`` (the default) syncs the
    log at checkpoints instead of at every commit. A crash of the process or of a worker
    loses nothing; a power loss or OS crash can lose the transactions committed since the
    last checkpoint (usually about a second: ``checkpoint_file`` is checkpointed by a
    background thread, storage/wal_checkpoints.py; longer while an old read transaction
    stays open), but never corrupts the database (it opens consistent, as of an earlier
    commit). ``FULL`` syncs at every commit and survives a
    power loss too, at roughly one disk flush per write request. Choose ``FULL`` where
    losing the last second of IdP writes on power loss is not acceptable (the IdP would
    resend them at its next sync).
    """
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SQLITE_SYNCHRONOUS}")
    pragmas: tuple[str, ...] = (
        *SQLITE_PRAGMAS,
        f"PRAGMA synchronous={synchronous}",
        f"PRAGMA busy_timeout={int(lock_timeout * 1000)}",
    )
    if checkpoint_file is not None:  # requests checkpoint only past the backstop
        pragmas = (*pragmas, f"PRAGMA wal_autocheckpoint={wal_checkpoints.BACKSTOP_PAGES}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        # SQLite's lower() folds ASCII only; caseExact=false must fold "É" as PostgreSQL does.
        dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_conn.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()
        if checkpoint_file is not None:
            wal_checkpoints.ensure_running(checkpoint_file)

    busy_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
        if mode != "IMMEDIATE":
            # Straight to the driver: a BEGIN through exec_driver_sql costs as much Python
            # as a SELECT, and a snapshot GET runs only two statements besides it.
            try:
                conn.connection.dbapi_connection.execute(f"BEGIN {mode}")
            except sqlite3.Error:  # again through SQLAlchemy, to fail as its wrapped error
                conn.exec_driver_sql(f"BEGIN {mode}")
            return
        _begin_immediate(conn, lock_timeout, busy_ms)


def _begin_immediate(conn: Any, lock_timeout: float, busy_ms: int) -> None:
    """Take the write lock, waking within a fraction of a millisecond of its release.

    SQLite's own wait (busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries, so a
    worker waiting behind another's two-millisecond write sleeps past the release, and the
    worker that just committed, trying again at once, usually wins: under load one worker
    starves while the other runs. Here the lock is tried with no wait, then again after
    0.1 ms, growing to at most 1 ms, until ``lock_timeout``; the statements after it keep
    the busy timeout."""
    raw = conn.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + lock_timeout
        pause = 0.0001
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.Error as error:
                if not str(error).startswith(_TRANSIENT_SQLITE[:2]):
                    break  # not the lock: the last try below reports it as SQLAlchemy's error
            time.sleep(pause)
            pause = min(pause * 1.5, 0.001)
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the last try: fails as SQLAlchemy's error
    finally:
        with suppress(sqlite3.Error):  # a broken connection: its own error is the one to see
            raw.execute(f"PRAGMA busy_timeout={busy_ms}")


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def init_app(app: Flask) -> None:
    """Create the engine and wire the request transaction."""
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        engine = make_engine(
            app.config["DATABASE_URL"],
            echo=app.config["ECHO_SQL"],
            pool_size=app.config["DB_POOL_SIZE"],
            max_overflow=app.config["DB_MAX_OVERFLOW"],
            sqlite_synchronous=app.config["SQLITE_SYNCHRONOUS"],
            lock_timeout=app.config["LOCK_TIMEOUT_SECONDS"],
        )
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        reads = engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"})
        app.extensions["scim_read_sessionmaker"] = sessionmaker(
            bind=reads, expire_on_commit=False, info={_SNAPSHOT: True}
        )
        app.extensions["scim_engine"] = engine
        app.extensions["scim_read_engine"] = reads
    else:  # the caller's sessions (a test's, joining its transaction) serve reads too
        app.extensions["scim_read_sessionmaker"] = factory
    app.extensions["scim_sessionmaker"] = factory
    app.after_request(_finish_request)
    app.teardown_request(_close_session)


def commit_despite_error() -> None:
    """Keep this request's writes although it answers an error (e.g. a failed-attempt
    counter); the caller must have written nothing else."""
    g.commit_despite_error = True


def end_operation(*, succeeded: bool) -> None:
    """Commit (or roll back) the request's work so far, for a request made of independent
    operations (RFC 7644 §3.7 Bulk): each operation is its own transaction, so a long Bulk
    request never holds the write lock for longer than one operation."""
    session = get_session()
    if succeeded:
        session.commit()
    else:
        session.rollback()


def get_session() -> Session:
    """The request's session, opened on first use: a snapshot for a ``snapshot_read`` view."""
    if "db_session" not in g:
        reads = "scim_read_sessionmaker" if is_snapshot_request() else "scim_sessionmaker"
        g.db_session = current_app.extensions[reads]()
    session: Session = g.db_session
    return session


def snapshot_connection() -> Connection:
    """A ``snapshot_read`` view's connection, for a view whose reads are all Core
    statements (GET /Users/{id}: one statement, ``storage/prepared.py``): the same
    deferred snapshot its session would begin, without the session. Opening and closing an
    ORM session and its transaction costs about 50 µs of Python, more than that indexed
    read (docs/benchmark.md). If the request has opened its session already (its token's
    credentials read on a cache miss), or the app runs on the caller's sessions (a test's,
    joining its transaction), the session's connection serves: one snapshot per request."""
    engine: Engine | None = current_app.extensions.get("scim_read_engine")
    if engine is None or "db_session" in g or not is_snapshot_request():
        return get_session().connection()
    connection: Connection | None = g.get("db_snapshot_connection")
    if connection is None:
        connection = engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        g.db_snapshot_connection = connection
    return connection


def _close_snapshot_connection() -> None:
    connection: Connection | None = g.pop("db_snapshot_connection", None)
    if connection is not None:
        connection.close()  # ends the snapshot (a rollback); back to the pool


def _finish_request(response: Response) -> Response:
    try:
        _close_snapshot_connection()
    finally:
        _end_session(response.status_code)
    return response


def _end_session(status: int) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    if session.info.get(_SNAPSHOT):
        # It wrote nothing, so ending it is all a commit would do: close() alone ends it
        # with one rollback, where commit() then close() runs twice the Python.
        session.close()
        return
    try:
        if status < 400 or g.pop("commit_despite_error", False):
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def _close_session(_exc: BaseException | None) -> None:
    _close_snapshot_connection()
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def snapshot_read(view: _View) -> _View:
    """Mark a view whose GET and HEAD only read: its session is a snapshot (above)."""
    view.snapshot_read = True  # type: ignore[attr-defined]
    return view


def snapshot_read_if(reads_only: Callable[[], bool]) -> Callable[[_View], _View]:
    """Mark a view whose GET and HEAD only read when ``reads_only()`` says so for the
    request (asked before the view runs: authentication may open the session)."""

    def mark(view: _View) -> _View:
        view.snapshot_read = reads_only  # type: ignore[attr-defined]
        return view

    return mark


def is_snapshot_request() -> bool:
    """Is this request's session a read snapshot that must not write (``snapshot_read``)?"""
    if not has_request_context() or request.method not in READ_METHODS:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    rule = getattr(view, "snapshot_read", None)
    return rule is True or (rule is not None and bool(rule()))


@contextmanager
def write_apart() -> Iterator[Session]:
    """Where the current request records something that need not share its fate: a
    transaction of its own for a snapshot (which must not write), the request's own
    session otherwise (whose write lock is already held: a second writer would wait on it)."""
    if not is_snapshot_request():
        yield get_session()
        return
    with separate_transaction() as session:
        yield session


@contextmanager
def separate_transaction() -> Iterator[Session]:
    """A short write transaction beside the request's, committed on its own."""
    g.separate_transaction = True
    try:
        with session_scope(current_app.extensions["scim_sessionmaker"]) as session:
            yield session
    finally:
        g.pop("separate_transaction", None)


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
