"""HTTP edge: one thin blueprint per resource."""

from __future__ import annotations

from flask import Flask

from scim_server.api import console
from scim_server.api import ops
from scim_server.api.admin import console_links
from scim_server.api.admin import directory
from scim_server.api.admin import domains
from scim_server.api.admin import events
from scim_server.api.admin import group_mappings
from scim_server.api.admin import idp_migration
from scim_server.api.admin import invitations
from scim_server.api.admin import jit
from scim_server.api.admin import members
from scim_server.api.admin import openapi
from scim_server.api.admin import organizations
from scim_server.api.admin import provisioning_log
from scim_server.api.admin import roles
from scim_server.api.admin import scim_tokens
from scim_server.api.admin import seats
from scim_server.api.admin import sessions
from scim_server.api.admin import sites
from scim_server.api.admin import sso_connections
from scim_server.api.admin import sso_discover
from scim_server.api.admin import sso_login
from scim_server.api.scim import bulk
from scim_server.api.scim import discovery
from scim_server.api.scim import groups
from scim_server.api.scim import requests
from scim_server.api.scim import root
from scim_server.api.scim import users


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["resource_id"] = requests.ResourceIdConverter
    for bp in (
        users.bp,
        groups.bp,
        discovery.bp,
        root.bp,
        bulk.bp,
        organizations.bp,
        seats.bp,
        events.bp,
        roles.bp,
        sites.bp,
        directory.bp,
        members.bp,
        sessions.bp,
        sso_login.bp,
        domains.bp,
        sso_connections.bp,
        jit.bp,
        invitations.bp,
        openapi.bp,
        group_mappings.bp,
        scim_tokens.bp,
        sso_discover.bp,
        provisioning_log.bp,
        ops.bp,
        console_links.bp,
        console.bp,
        idp_migration.bp,
    ):
        app.register_blueprint(bp)
