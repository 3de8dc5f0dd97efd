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
