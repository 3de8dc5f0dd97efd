"""HTTP edge: one thin blueprint per resource."""

from __future__ import annotations

from flask import Flask

from scim_server.api.admin import members
from scim_server.api.admin import openapi
from scim_server.api.admin import organizations
from scim_server.api.admin import sessions
from scim_server.api.admin import signin
from scim_server.api.scim import discovery
from scim_server.api.scim import groups
from scim_server.api.scim import users


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
