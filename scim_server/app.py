"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from scim_server import config
from scim_server import db
from scim_server import request_log
from scim_server.api import guards
from scim_server.api import register_blueprints
from scim_server.errors import register_error_handlers
from scim_server.scim.schema import load_registry
from scim_server.scim.validation import ResourceValidator
from scim_server.services.signin.domains import DnsPythonResolver


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the WSGI app: config, database, schemas, errors and blueprints."""
    app = Flask("scim_server")
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
    register_error_handlers(app)
    guards.init_app(app)
    register_blueprints(app)
    request_log.init_app(app)  # after db.init_app: its after_request runs before the commit
    logging.getLogger("scim_server").setLevel(logging.INFO)
    return app
