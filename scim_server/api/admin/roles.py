"""Management API: an organisation's roles (the built-in ones and its custom roles)."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.organizations import catalog
from scim_server.services.organizations.representation import role_json

bp = auth.blueprint("roles", __name__, "/api/v1/organizations/<org_id>/roles")


@bp.get("")
def list_roles(org_id: str) -> Response:
    roles = catalog.list_roles(get_session(), auth.organization(org_id))
    return reply({"roles": [role_json(r) for r in roles]})


@bp.post("")
def create_role(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    role = catalog.create_role(get_session(), org, fields("name", "privileged"), actor=actor)
    return reply(role_json(role), 201)
