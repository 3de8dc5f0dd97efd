"""Run the app under gunicorn: several stateless workers over one database.

Each worker is a :class:`scim_server.worker.BufferingWorker` by default: whole requests are
read by a non-blocking loop before a thread runs them, so slow clients cannot pin the
service, and connections are kept alive for IdPs that reuse them.

Tuning (README "Running in production"): the settings below are defaults; a gunicorn
config file named by ``--config`` in ``GUNICORN_CMD_ARGS`` overrides them, and the other
options in ``GUNICORN_CMD_ARGS`` (``--workers 8 --threads 8 --timeout 120``, another
``--worker-class``) override both, the same order plain gunicorn applies.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import Application

WORKER_CLASS = "scim_server.worker.BufferingWorker"
# Request threads per worker. 1 (the default) runs each fully read request in the worker's
# I/O loop itself (scim_server/worker.py): measured fastest at concurrency 1 and 8 on
# SQLite (docs/benchmark.md, "Gunicorn worker classes"), where writers serialise anyway;
# `--threads N` in GUNICORN_CMD_ARGS gives a pool of N threads instead.
THREADS = 1
# Seconds an idle keep-alive connection stays open (IdPs send bursts of requests).
KEEPALIVE = 30
# prometheus-client's directory for the per-worker sample files (scim_server/metrics.py).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class _Gunicorn(Application):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def init(self, parser: Any, opts: Any, args: Any) -> None:
        """Unused: options come from :func:`run_gunicorn`, not from ``sys.argv``."""

    def load_config(self) -> None:
        """Our defaults, then a ``--config`` file, then ``GUNICORN_CMD_ARGS``."""
        for key, value in self.options.items():
            self.cfg.set(key, value)
        env_args = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        if env_args.config:
            self.load_config_from_file(env_args.config)
        for key, value in vars(env_args).items():
            if value is not None and key not in ("args", "config"):
                self.cfg.set(key.lower(), value)

    def load(self) -> Any:
        return serving_app()


def serving_app() -> Flask:
    """The app for a process that serves it until it exits (a gunicorn worker, wsgi.py).

    What the imports and the app's set-up allocate (about 145,000 objects: modules,
    SQLAlchemy's mappers, the schemas) lives as long as the process. Left to the cyclic
    garbage collector, each of its full collections walks them all: about 90 ms, once
    every 1,500 requests or so, stalling whichever request allocates at that moment; 55-80
    µs per request on average in all, against 6-11 µs frozen (measured in process with
    ``gc.callbacks`` over 1,500 POST, PATCH, GET and filter requests). ``gc.freeze``
    moves them out of the collector's sight; reference counting still frees them, and the
    requests' own objects are collected as before.
    """
    from scim_server import create_app

    app = create_app()
    gc.collect()  # what start-up left as garbage is freed, not frozen for good
    gc.freeze()
    return app


def prepare_multiprocess_dir() -> Path:
    """Give prometheus-client an empty directory shared by this server's workers.

    Runs before ``prometheus_client`` is first imported by the serving process, since the
    library picks file-backed values at import. An operator's own
    ``PROMETHEUS_MULTIPROC_DIR`` is used as given and emptied, as the library requires at
    each start; otherwise a fresh temporary directory is made.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="scim-metrics-"))
        atexit.register(_remove_if_owner, path, os.getpid())
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def _remove_if_owner(path: Path, owner: int) -> None:
    """Remove our temporary metrics directory when the arbiter exits; forked workers
    inherit this handler and must leave the directory to the others."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _child_exit(_arbiter: Any, worker: Any) -> None:
    """Retire a dead worker's live-gauge files; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


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
            "child_exit": _child_exit,
        }
    ).run()
