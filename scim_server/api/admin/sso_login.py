"""The SSO login hook (platform key): the host product's OIDC/SAML layer has validated a
login and forwards its claims; JIT provisions or recognises the person and a session is
issued, tied to the connection."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.api.admin.http import required_string
from scim_server.db import get_session
from scim_server.services.signin import jit
from scim_server.services.signin.representation import sso_login_json

bp = auth.blueprint("sso_login", __name__, "/api/v1/sso")


@bp.post("/login")
def sso_login() -> Response:
    """Provision or recognise the person, then issue a session tied to the connection."""
    auth.require_platform()
    payload = fields("connection_id", "claims")
    claims = jit.Claims.from_json(payload.get("claims"))
    connection_id = required_string(payload, "connection_id")
    signed_in = jit.sign_in_with_sso(get_session(), connection_id, claims, actor=auth.key_actor())
    return reply(sso_login_json(signed_in))
