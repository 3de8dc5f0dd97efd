"""HTTP edge: one thin blueprint per resource."""

from __future__ import annotations

from flask import Flask

from scim_server.api import discovery
from scim_server.api import groups
from scim_server.api import members
from scim_server.api import openapi
from scim_server.api import organizations
from scim_server.api import sessions
from scim_server.api import signin
from scim_server.api import users


def register_blueprints(app: Flask) -> None:
    for bp in (
        users.bp,
        groups.bp,
        discovery.bp,
        organizations.bp,
        members.bp,
        sessions.bp,
        signin.bp,
        openapi.bp,
    ):
        app.register_blueprint(bp)
