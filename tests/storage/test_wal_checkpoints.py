"""SQLite checkpoints run beside the requests, not in their commits (storage/wal_checkpoints.py).

A checkpoint copies the write-ahead log into the database file; until then the file itself
does not grow. So the database file's size says whether a checkpoint has run: a commit of
more than SQLite's default 1,000 log pages leaves it as it was, and the checkpointer's
round (or its thread) brings the rows in.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from scim_server.db import make_engine
from scim_server.storage import wal_checkpoints

PAGES = 1_500  # past SQLite's default automatic checkpoint (1,000 pages)


def _write_pages(url: str) -> Engine:
    """About ``PAGES`` pages of 4 KiB in one commit, through the server's engine. The
    caller disposes of the engine: closing the last connection checkpoints by itself."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE filler (body BLOB)"))
        conn.execute(text("INSERT INTO filler VALUES (randomblob(4000))"), [{}] * PAGES)
    return engine


@pytest.fixture
def slow_thread(monkeypatch):
    """The background thread waits an hour, so only the test checkpoints."""
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 3600.0)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    yield
    wal_checkpoints.stop_all()  # the threads this test started


def test_a_large_commit_leaves_the_checkpoint_to_the_checkpointer(tmp_path, slow_thread):
    path = tmp_path / "a.db"
    engine = _write_pages(f"sqlite:///{path}")
    assert path.stat().st_size < PAGES * 4000 // 2  # the commit left the log as it was

    busy, frames, done = wal_checkpoints.Checkpointer(str(path)).run_once()
    assert (busy, done) == (0, frames) and frames >= PAGES
    assert path.stat().st_size > PAGES * 4000
    engine.dispose()


def test_the_thread_checkpoints_without_being_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    path = tmp_path / "b.db"
    engine = _write_pages(f"sqlite:///{path}")
    deadline = time.monotonic() + 10
    while path.stat().st_size < PAGES * 4000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size > PAGES * 4000
    [checkpointer] = wal_checkpoints._running.values()
    assert checkpointer.path == str(path.resolve())
    checkpointer.stop()
    engine.dispose()


def test_one_thread_per_process_and_file(tmp_path, slow_thread):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    for _ in range(3):
        engine = make_engine(url)
        with engine.connect():
            pass
        engine.dispose()
    assert list(wal_checkpoints._running) == [(os.getpid(), str((tmp_path / "c.db").resolve()))]


def test_an_in_memory_database_has_no_checkpointer(slow_thread):
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    assert wal_checkpoints._running == {}


def _checkpointer_of_a_deleted_database(path: Path) -> wal_checkpoints.Checkpointer:
    """Open a database (its checkpointer starts), then delete its files."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    engine.dispose()
    [checkpointer] = wal_checkpoints._running.values()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return checkpointer


def test_the_interval_is_read_when_a_thread_starts(tmp_path, slow_thread):
    engine = make_engine(f"sqlite:///{tmp_path / 'i.db'}")
    with engine.connect():
        pass
    assert [c.interval for c in wal_checkpoints._running.values()] == [3600.0]
    engine.dispose()


def test_a_thread_ends_with_its_database_and_a_new_one_starts_for_the_next(tmp_path, monkeypatch):
    """A database deleted (a test's) or moved away ends its thread without creating an
    empty file in its place; a database opened at that path later gets a thread again."""
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 0.02)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    path = tmp_path / "d.db"
    first = _checkpointer_of_a_deleted_database(path)
    first._thread.join(timeout=5)
    assert not first._thread.is_alive()
    assert not path.exists()
    assert wal_checkpoints._running == {}
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    [second] = wal_checkpoints._running.values()
    assert second is not first and second._thread.is_alive()
    second.stop()
    engine.dispose()


def test_a_round_that_finds_the_log_locked_skips_quietly(tmp_path, monkeypatch, caplog):
    """A connection in exclusive locking mode (or another checkpoint) holds the log: the
    round skips without a warning, since the next one checkpoints; other errors warn."""
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 0.02)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    path = tmp_path / "l.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")  # the first write takes the exclusive lock
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        wal_checkpoints.Checkpointer(str(path)).run_once()
    levels = _round_log_levels(path, caplog)
    holder.close()
    assert levels == {"DEBUG"}


def test_a_round_that_fails_otherwise_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 0.02)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    path = tmp_path / "n.db"
    path.write_bytes(b"not a database" * 512)
    assert _round_log_levels(path, caplog) == {"WARNING"}


def _round_log_levels(path: Path, caplog: pytest.LogCaptureFixture) -> set[str]:
    """The levels of the first records this process's checkpointer of ``path`` logs."""
    caplog.set_level("DEBUG", logger=wal_checkpoints.__name__)
    wal_checkpoints.ensure_running(str(path))
    [checkpointer] = wal_checkpoints._running.values()

    def mine() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.name == wal_checkpoints.__name__ and str(path) in r.getMessage()
        ]

    deadline = time.monotonic() + 10
    while not mine() and time.monotonic() < deadline:
        time.sleep(0.02)
    checkpointer.stop()
    return {r.levelname for r in mine()}


def test_one_shot_engines_start_no_thread(tmp_path, slow_thread):
    """``serve`` migrates in the process that becomes gunicorn's arbiter, which forks
    every worker: nothing of the migration's may keep running there."""
    from scim_server.storage import migrate

    migrate.upgrade(f"sqlite:///{tmp_path / 'm.db'}")
    assert wal_checkpoints._running == {}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12: fork with threads running
def test_a_fork_never_lands_inside_a_checkpoint(tmp_path):
    """Forks while a checkpointer runs flat out: every child's SQLite works. A child
    forked mid-checkpoint inherits SQLite's locks held by a thread it does not have, and
    hangs (the alarm ends it) or fails."""
    path = tmp_path / "f.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    checkpointer = wal_checkpoints.Checkpointer(str(path), interval=0.0005)
    checkpointer.start()
    failed = []
    try:
        for _ in range(40):
            pid = os.fork()
            if pid == 0:  # the child: three fresh connections, each writes a row
                signal.alarm(5)
                try:
                    for _ in range(3):
                        child = sqlite3.connect(path, timeout=1)
                        child.execute("INSERT INTO t VALUES (1)")
                        child.commit()
                        child.close()
                except BaseException:
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            if status != 0:
                failed.append(status)
    finally:
        checkpointer.stop()
    assert failed == []


def test_a_database_reopened_while_its_checkpointer_leaves_gets_one(tmp_path, monkeypatch):
    """The checkpointer of a deleted file is leaving (its round failed, the file is gone)
    when a server re-creates the file and connects: one of them must checkpoint it."""
    import threading
    import types

    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 0.02)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    in_window, go = threading.Event(), threading.Event()

    def exists(p):  # the leaving thread, held between its check and what follows it
        answer = os.path.exists(p)
        if not answer:
            in_window.set()
            go.wait(5)
        return answer

    shim = types.SimpleNamespace(getpid=os.getpid, path=types.SimpleNamespace(exists=exists))
    monkeypatch.setattr(wal_checkpoints, "os", shim)
    path = tmp_path / "r.db"
    first = _checkpointer_of_a_deleted_database(path)
    assert in_window.wait(5)
    threading.Timer(0.3, go.set).start()
    engine = make_engine(f"sqlite:///{path}")  # the database is back; a server connects
    conn = engine.connect()
    first._thread.join(5)
    try:
        assert [c._thread.is_alive() for c in wal_checkpoints._running.values()] == [True]
    finally:
        conn.close()
        wal_checkpoints.stop_all()
        engine.dispose()


def test_a_thread_that_could_not_start_is_tried_again(tmp_path, monkeypatch):
    """A thread limit refuses one start: that connect fails, the next one gets a
    checkpointer, and stopping them all still works."""
    monkeypatch.setattr(wal_checkpoints, "INTERVAL_SECONDS", 3600.0)
    monkeypatch.setattr(wal_checkpoints, "_running", {})
    calls = []

    def start(self):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("can't start new thread")
        self._thread.start()

    monkeypatch.setattr(wal_checkpoints.Checkpointer, "start", start)
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(RuntimeError):
        engine.connect()
    with engine.connect():
        pass
    assert [c._thread.is_alive() for c in wal_checkpoints._running.values()] == [True]
    wal_checkpoints.stop_all()
    assert wal_checkpoints._running == {}
    engine.dispose()
