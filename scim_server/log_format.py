"""Where the server's log lines go and what they look like.

One handler on the ``scim_server`` logger writes to stderr: JSON lines (python-json-logger)
for a log collector, or plain readable lines when stderr is a terminal (``SCIM_LOG_FORMAT``
``auto``, the default; ``json`` or ``text`` force one). Each request's line carries its
fields (request id, organisation, token, method, path, status, scimType, duration,
detail) as JSON keys; the text form appends them as ``key=value``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_LOGGER = "scim_server"
_FIELDS = ("request_id", "org_id", "token_id", "scim_type", "detail")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _TextFormatter(logging.Formatter):
    """``12:00:01 INFO POST /scim/v2/Users 409 uniqueness 12ms request_id=… org_id=…``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in _FIELDS if getattr(record, k, None)]
        return " ".join([line, *extras])


def formatter(log_format: str, *, is_terminal: bool) -> logging.Formatter:
    """JSON unless asked for text, or ``auto`` on a terminal."""
    if log_format == "text" or (log_format == "auto" and is_terminal):
        return _TextFormatter()
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


def configure_logging(log_format: str) -> None:
    """Attach the one stderr handler to ``scim_server`` (once per process) at INFO."""
    logger = logging.getLogger(_LOGGER)
    logger.setLevel(logging.INFO)
    handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler()
        logger.addHandler(handler)
    handler.setFormatter(formatter(log_format, is_terminal=sys.stderr.isatty()))
