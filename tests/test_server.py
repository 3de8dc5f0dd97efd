"""gunicorn settings: serve's defaults, then a --config file, then GUNICORN_CMD_ARGS."""

from __future__ import annotations

from scim_server.server import WORKER_CLASS
from scim_server.server import _Gunicorn


def _settings(**options):
    return _Gunicorn({"bind": "127.0.0.1:8000", "workers": 2, "threads": 4, **options}).cfg


def test_serve_defaults_stand_without_gunicorn_cmd_args(monkeypatch):
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    cfg = _settings(worker_class=WORKER_CLASS, timeout=60)
    assert (cfg.workers, cfg.threads, cfg.timeout) == (2, 4, 60)
    assert cfg.worker_class_str == WORKER_CLASS


def test_a_config_file_then_the_command_line_arguments_override(monkeypatch, tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("workers = 5\ntimeout = 90\nthreads = 2\n")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--config {conf} --threads 8 --worker-class gthread")
    cfg = _settings(timeout=60)
    assert cfg.workers == 5 and cfg.timeout == 90  # from the file
    assert cfg.threads == 8  # the command line wins over the file
    assert cfg.worker_class_str == "gthread"


def test_a_worker_loads_the_app_with_its_set_up_frozen_out_of_the_gc(monkeypatch, tmp_path):
    """A worker's (and wsgi.py's) app comes with every object its loading allocated out
    of the cyclic collector's sight, so no request pays for walking them."""
    import gc
    import importlib
    import sys

    from flask import Flask

    monkeypatch.setenv("SCIM_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    gc.unfreeze()
    try:
        worker_app = _Gunicorn({"bind": "127.0.0.1:8000"}).load()
        assert isinstance(worker_app, Flask)
        assert gc.get_freeze_count() > 10_000
        gc.unfreeze()
        sys.modules.pop("wsgi", None)
        wsgi = importlib.import_module("wsgi")
        assert isinstance(wsgi.app, Flask) and gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        sys.modules.pop("wsgi", None)
