"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from scim_server import config
from scim_server import db
from scim_server import metrics
from scim_server import request_log
from scim_server.api import guards
from scim_server.api import register_blueprints
from scim_server.errors import register_error_handlers
from scim_server.scim.schema import load_registry
from scim_server.scim.validation import ResourceValidator
from scim_server.services.signin.domains import DnsPythonResolver


class ScimFlask(Flask):
    """Flask, asking once per function whether it is a coroutine.

    Flask passes every hook and view through ``ensure_sync`` on every call, and the answer
    (``inspect.iscoroutinefunction``) costs more than a dictionary lookup: a request runs
    about a dozen hooks. They are the app's own, registered at start-up; a function made
    per request (``after_this_request``) would only fill the cache to its bound.
    """

    MAX_CACHED = 512

    def __init__(self, import_name: str) -> None:
        super().__init__(import_name)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            synced = self._synced.get(func)
        except TypeError:  # an unhashable callable object: asked every time
            return super().ensure_sync(func)
        if synced is None:
            synced = super().ensure_sync(func)
            if len(self._synced) < self.MAX_CACHED:
                self._synced[func] = synced
        return synced


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the WSGI app: config, database, schemas, errors and blueprints."""
    app = ScimFlask("scim_server")
    config.load(app, test_config)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    schema_dir = app.config["SCHEMA_DIR"]
    registry = load_registry(Path(schema_dir) if schema_dir else None)
    app.extensions["scim_registry"] = registry
    app.extensions["scim_validators"] = {
        name: ResourceValidator(rtype) for name, rtype in registry.resource_types.items()
    }
    app.extensions["txt_resolver"] = app.config.get("TXT_RESOLVER") or DnsPythonResolver()
    db.init_app(app)
    metrics.init_app(app)
    register_error_handlers(app)
    guards.init_app(app)
    register_blueprints(app)
    request_log.init_app(app)  # after db.init_app: its after_request runs before the commit
    logging.getLogger("scim_server").setLevel(logging.INFO)
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        # Opt-in: X-Forwarded-* is trusted only from the number of proxies configured.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app
