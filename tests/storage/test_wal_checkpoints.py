"""SQLite checkpoints run beside the requests, not in their commits (storage/wal_checkpoints.py).

A checkpoint copies the write-ahead log into the database file; until then the file itself
does not grow. So the database file's size says whether a checkpoint has run: a commit of
more than SQLite's default 1,000 log pages leaves it as it was, and the checkpointer's
round (or its thread) brings the rows in.
"""

from __future__ import annotations

import os
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


def test_the_thread_ends_with_its_database(tmp_path):
    path = tmp_path / "d.db"
    sqlite3.connect(path).close()
    checkpointer = wal_checkpoints.Checkpointer(str(path), interval=0.02)
    checkpointer.start()
    Path(path).unlink()
    checkpointer._thread.join(timeout=5)
    assert not checkpointer._thread.is_alive()
