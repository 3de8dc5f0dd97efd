"""Management API: an organisation's sites, which members can be assigned to."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.organizations import catalog
from scim_server.services.organizations.representation import site_json

bp = auth.blueprint("sites", __name__, "/api/v1/organizations/<org_id>/sites")


@bp.get("")
def list_sites(org_id: str) -> Response:
    sites = catalog.list_sites(get_session(), auth.organization(org_id))
    return reply({"sites": [site_json(s) for s in sites]})


@bp.post("")
def create_site(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    site = catalog.create_site(get_session(), org, fields("name"), actor=actor)
    return reply(site_json(site), 201)
