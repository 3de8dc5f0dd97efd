"""scim_server: a SCIM 2.0 directory-sync server that never loses a person."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the WSGI app (imported lazily so the CLI and migrations start fast)."""
    from scim_server.app import create_app as factory

    return factory(test_config)
