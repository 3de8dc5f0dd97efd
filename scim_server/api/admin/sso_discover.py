"""Sign-in routing for the host product (platform key): which organisation and SSO
connection the email a person types belongs to (docs/api.md §3.7)."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.signin import discover
from scim_server.services.signin.representation import discover_json

bp = auth.blueprint("sso_discover", __name__, "/api/v1/sso")


@bp.get("/discover")
def discover_sso() -> Response:
    auth.require_platform()
    domain, routes = discover.discover(get_session(), request.args.get("email"))
    return reply(discover_json(domain, routes))
