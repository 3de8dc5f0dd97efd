"""Run the app under gunicorn: several stateless workers over one database."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


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
            "accesslog": "-",
            "timeout": 60,
            "graceful_timeout": 10,
        }
    ).run()
