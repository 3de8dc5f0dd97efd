"""SQLite WAL checkpoints in a background thread, not inside a request's commit.

By default SQLite checkpoints from whichever commit pushes the write-ahead log past 1,000
pages: that one request copies the log into the database and syncs both files to disk,
tens of milliseconds on a virtual disk, and every write request pays for it on average
(a create writes about 25 pages, so one create in 40 did it). Measured side by side (live
server, SQLite, 2 workers, one client): POST /Users 266, 264 and 298 /s with SQLite's own
checkpoints, 338, 396 and 418 /s with none in the requests.

So each process that serves from the database runs one daemon thread that checkpoints
every ``INTERVAL_SECONDS`` on its own connection (``PASSIVE``: it never waits for, nor
blocks, readers or the writer, and releases the GIL while it copies and syncs). The
requests' connections keep an automatic checkpoint only as a backstop, at
``BACKSTOP_PAGES``, for a process whose thread has stopped. With ``synchronous=NORMAL`` a
commit reaches the disk at the next checkpoint that can copy it, so a power loss usually
loses about the last second of commits — longer while a read transaction that began
before them stays open, since a PASSIVE checkpoint copies nothing past what a reader
still needs (with SQLite's own checkpoints: whatever was written since the last 1,000
pages, hours on a quiet directory).

**Forks.** Gunicorn forks its workers from the arbiter, and a host product may fork too.
A fork copies SQLite's process-wide state (its mutexes, its table of file locks) as it
is at that instant, but not the thread using it: a fork in the middle of a checkpoint
leaves the child's SQLite hung or failing for good. So every checkpoint holds a lock
that ``os.fork`` takes first (``os.register_at_fork``): a fork waits for the checkpoint
in progress (a copy of the pages written since the last round, and a disk sync; a round
that finds the database locked skips at once) and never lands inside one. The same holds
for an open connection, so gunicorn's arbiter keeps neither: one-shot engines (the
migrations ``serve`` runs there, ``config check``) start no thread, and ``serve`` stops
the one its bootstrap started and closes its connections before gunicorn forks.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

INTERVAL_SECONDS = 1.0
BACKSTOP_PAGES = 20_000  # 80 MiB of log at SQLite's 4 KiB pages
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary codes of a skipped round

log = logging.getLogger(__name__)

_lock = threading.Lock()  # guards _running
_checkpointing = threading.Lock()  # held through each checkpoint; a fork waits for it
_running: dict[tuple[int, str], Checkpointer] = {}


class Checkpointer:
    """Checkpoints one database file, from a daemon thread of this process."""

    def __init__(self, path: str, interval: float | None = None) -> None:
        self.path = path
        self.interval = INTERVAL_SECONDS if interval is None else interval
        # mode=rw: a file deleted meanwhile is not created again, empty, by the connect.
        self._uri = Path(path).absolute().as_uri() + "?mode=rw"
        self._key = (os.getpid(), path)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"wal-checkpoint {Path(path).name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def run_once(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the log, frames checkpointed)."""
        with _checkpointing:  # timeout 0: a round that cannot get in skips, never waits
            conn = sqlite3.connect(self._uri, uri=True, isolation_level=None, timeout=0)
            try:
                busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                conn.close()
        return busy, frames, done

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except sqlite3.Error as error:  # the next round tries again; the backstop holds
                    if self._gone():
                        return
                    # Busy is the design: another checkpoint (a closing connection's, the
                    # backstop's) or an exclusive lock holds the log, and this round skips.
                    busy = (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _BUSY
                    log.log(
                        logging.DEBUG if busy else logging.WARNING,
                        "WAL checkpoint of %s failed: %s",
                        self.path,
                        error,
                    )
        finally:
            with _lock:
                self._deregister()

    def _gone(self) -> bool:
        """Whether the file is gone (a test's database, or one moved away); if so the
        checkpointer deregisters in the same critical section, so a connection that
        re-creates the file meanwhile either finds this one still serving it or starts
        its own."""
        with _lock:
            if os.path.exists(self.path):
                return False
            self._deregister()
            return True

    def _deregister(self) -> None:  # under _lock
        if _running.get(self._key) is self:
            del _running[self._key]


def ensure_running(path: str) -> None:
    """Start this process's checkpointer for ``path`` unless it runs already (a forked
    worker starts its own: threads do not survive a fork). Called for each new
    connection, not each request."""
    key = (os.getpid(), path)
    with _lock:
        if key in _running:
            return
        checkpointer = Checkpointer(path)
        _running[key] = checkpointer
        try:
            checkpointer.start()
        except BaseException:  # no thread (a thread limit): the next connection tries again
            del _running[key]
            raise


def running() -> frozenset[str]:
    """The files this process checkpoints now."""
    with _lock:
        return frozenset(path for pid, path in _running if pid == os.getpid())


def stop(paths: Iterable[str]) -> None:
    """Stop this process's checkpointers of ``paths``: those a one-shot command started,
    once it is done (a connection opened later starts one again)."""
    wanted = set(paths)
    with _lock:
        mine = [c for (pid, p), c in _running.items() if pid == os.getpid() and p in wanted]
    for checkpointer in mine:
        checkpointer.stop()


def stop_all() -> None:
    """Stop this process's checkpointers: for a process about to become a fork parent
    only (gunicorn's arbiter), which serves nothing and needs none."""
    stop(running())


def _before_fork() -> None:
    _lock.acquire()
    _checkpointing.acquire()


def _after_fork() -> None:
    _checkpointing.release()
    _lock.release()


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork, after_in_child=_after_fork)
