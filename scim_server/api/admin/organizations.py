"""Management API: organisations (creating, listing and changing them is the platform's)."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import config
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.organizations import orgs
from scim_server.services.organizations.representation import org_json
from scim_server.services.organizations.representation import provisioned_json

bp = auth.blueprint("organizations", __name__, "/api/v1/organizations")


@bp.post("")
def create_organization() -> Response:
    """Platform key: a new organisation with its first SCIM token and management key."""
    auth.require_platform()
    payload = body()
    settings = {k: v for k, v in payload.items() if k != "name"}
    created = orgs.provision(
        get_session(), payload.get("name"), settings, pepper=pepper(), actor=auth.key_actor()
    )
    base = (config("BASE_URL") or request.host_url).rstrip("/")
    return reply(provisioned_json(created, base), 201)


@bp.get("")
def list_organizations() -> Response:
    auth.require_platform()
    return reply({"organizations": [org_json(o) for o in orgs.list_orgs(get_session())]})


@bp.get("/<org_id>")
def get_organization(org_id: str) -> Response:
    return reply(org_json(auth.organization(org_id)))


@bp.patch("/<org_id>")
def update_organization(org_id: str) -> Response:
    """The platform key changes any setting; the organisation's own key (with an acting
    Owner or Admin) only its sign-in policy (docs/api.md §3.1)."""
    org = auth.organization(org_id)
    platform = auth.principal().is_platform
    actor = auth.key_actor() if platform else auth.acting(org).actor
    orgs.update_org(get_session(), org, body(), actor=actor, platform=platform)
    return reply(org_json(org))
