"""Run the app under gunicorn: several stateless workers over one database.

Each worker is a :class:`scim_server.worker.BufferingWorker`: whole requests are read by a
non-blocking loop before a thread runs them, so slow clients cannot pin the service, and
connections are kept alive for IdPs that reuse them.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

WORKER_CLASS = "scim_server.worker.BufferingWorker"
# Threads per worker: requests run on these once fully read; SQLite serialises writers
# anyway, and the PostgreSQL pool is sized to them (scim_server/db.py, SCIM_DB_POOL_SIZE).
THREADS = 4
# Seconds an idle keep-alive connection stays open (IdPs send bursts of requests).
KEEPALIVE = 30


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from scim_server import create_app

        return create_app()


def run_gunicorn(host: str, port: int, workers: int) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": WORKER_CLASS,
            "threads": THREADS,
            "keepalive": KEEPALIVE,
            "worker_connections": 1000,
            "timeout": 60,
            "graceful_timeout": 10,
        }
    ).run()
