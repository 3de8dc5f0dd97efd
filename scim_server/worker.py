"""A gunicorn worker that reads whole requests before it spends a thread on them.

gunicorn's ``sync`` worker gives one process to one connection from the first byte to the
last, so four clients dribbling a request line one byte at a time leave every other
client unanswered; ``gthread`` does the same per thread once a connection has sent its
first byte. This worker keeps gunicorn's arbiter (process supervision, restarts, signals,
``--workers``) and serves each process's sockets with waitress, which reads request
headers and bodies in one non-blocking I/O loop and hands only complete requests to its
thread pool. A slow or idle client then costs one buffered connection slot
(``worker_connections``), never a thread. Idle keep-alive connections are closed after
``keepalive`` seconds. docs/benchmark.md records the measurements behind the choice.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import deque
from typing import Any
from typing import cast

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.server import create_server

# Longest request header block accepted (request line included): a 100-id OR filter in a
# GET query string fits with room to spare; the app answers 414 for query strings longer
# than SCIM_MAX_QUERY_BYTES, so this is only the transport's last line.
MAX_HEADER_BYTES = 64 * 1024


class BufferingWorker(Worker):  # type: ignore[misc]
    """Serve this worker's listening sockets with waitress's buffering I/O loop."""

    alive: bool

    def run(self) -> None:
        inline = _InlineDispatcher() if self.cfg.threads <= 1 else None
        channels: dict[int, Any] = {}  # waitress's socket map: listeners and connections
        server = create_server(
            self.wsgi,
            map=channels,
            _dispatcher=cast(Any, inline),
            sockets=[listener.sock for listener in self.sockets],
            threads=max(1, self.cfg.threads),
            connection_limit=self.cfg.worker_connections,
            channel_timeout=max(1, self.cfg.keepalive),
            cleanup_interval=max(1, min(30, self.cfg.keepalive)),
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=_body_limit(self.wsgi),
            # Inline, nothing may wait for the loop to drain a response: it is the loop.
            # Output past ``outbuf_overflow`` (1 MB) spills to a temporary file instead.
            outbuf_high_watermark=_NEVER if inline else _WAITRESS_HIGH_WATERMARK,
            asyncore_use_poll=True,
            ident="scim-server",
            expose_tracebacks=False,
        )
        threading.Thread(target=self._heartbeat, args=(server,), daemon=True).start()
        if inline is None:
            server.run()
            return
        while channels:
            # A pipelined request queued by the last round must not wait for a socket event.
            wait = 0.0 if inline.pending else server.adj.asyncore_loop_timeout
            wasyncore.poll2(wait, channels)
            inline.run_pending(self.log)

    def _heartbeat(self, server: Any) -> None:
        """Tell the arbiter we are alive; on shutdown, finish requests and stop the loop."""
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                self.alive = False
                break
            time.sleep(min(1.0, self.timeout / 2 if self.timeout else 1.0))
        server.task_dispatcher.shutdown(cancel_pending=False, timeout=self.cfg.graceful_timeout)
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))


_NEVER = 1 << 62
_WAITRESS_HIGH_WATERMARK = 16 * 1024 * 1024  # waitress's default


class _InlineDispatcher:
    """``--threads 1``: run each complete request in the I/O loop's thread, between polls.

    waitress hands a complete request to ``add_task`` while it holds the connection's
    lock, so the request is queued here and run by the loop once the poll round is over:
    no thread hand-off, no wake-up pipe, no lock convoy per request. While one runs, the
    worker reads nothing else (like gunicorn's ``sync`` worker), but a slow client still
    costs only a buffered connection, never the worker.
    """

    def __init__(self) -> None:
        self.pending: deque[Any] = deque()

    def set_thread_count(self, count: int) -> None:
        """No threads to start or stop."""

    def add_task(self, task: Any) -> None:
        self.pending.append(task)

    def run_pending(self, log: Any) -> None:
        """Run the requests that were complete at the last poll; a pipelined request queued
        meanwhile waits for the next round, so other connections get their turn."""
        for _ in range(len(self.pending)):
            task = self.pending.popleft()
            try:
                task.service()
            except Exception:
                log.error("Error servicing a request\n%s", traceback.format_exc())

    def shutdown(self, cancel_pending: bool = True, timeout: int = 5) -> bool:
        """The loop finishes the request it runs before it looks at the map again."""
        return True


def _body_limit(app: Any) -> int:
    """The app's own body limit plus headroom, so the app answers 413 as a SCIM error."""
    config = getattr(app, "config", {})
    return int(config.get("MAX_BODY_BYTES", 16 * 1024 * 1024)) + 64 * 1024
