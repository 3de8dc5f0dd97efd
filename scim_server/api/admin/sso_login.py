"""The SSO login hook (platform key): the host product's OIDC/SAML layer has validated a
login and forwards its claims; JIT provisions or recognises the person and a session is
issued, tied to the connection."""

from __future__ import annotations

from typing import Any

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.api.admin.http import required_string
from scim_server.db import get_session
from scim_server.services.membership.representation import member_profile
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
    db = get_session()
    signed_in = jit.sign_in_with_sso(db, connection_id, claims, actor=auth.key_actor())
    return reply(sso_login_json(signed_in, _profile(signed_in)))


@bp.post("/link")
def sso_link() -> Response:
    """Complete a pending link for a person signed in to their existing account, then
    sign in as ``/sso/login`` does (docs/lifecycle.md §3.6)."""
    auth.require_platform()
    payload = fields("connection_id", "user_id", "claims")
    claims = jit.Claims.from_json(payload.get("claims"))
    connection_id = required_string(payload, "connection_id")
    user_id = required_string(payload, "user_id")
    db = get_session()
    signed_in = jit.complete_link(db, connection_id, user_id, claims, actor=auth.key_actor())
    return reply(sso_login_json(signed_in, _profile(signed_in)))


def _profile(signed_in: jit.SsoSignIn) -> dict[str, Any] | None:
    result = signed_in.result
    return member_profile(get_session(), result.organization_id, result.user_id)
