"""Management API authentication: an org's management key, or the platform key.

An org key sees only its own organisation (others are 404, never 403); the platform key
(``SCIM_PLATFORM_KEY``, compared as an HMAC digest in constant time) sees all. The
caller may name the acting person with ``X-Acting-User`` (a user id or an email); it is
recorded as the actor and drives the admin guards.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_httpauth import HTTPTokenAuth
from werkzeug.exceptions import Unauthorized

from scim_server import secrets
from scim_server.db import get_session
from scim_server.errors import api_error_response
from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.admin import acting_user_id
from scim_server.services.organizations.orgs import get_org
from scim_server.services.organizations.tokens import find_token
from scim_server.storage.models import Organization


@dataclass(frozen=True)
class AdminPrincipal:
    org_id: str | None  # None: the platform key, which sees every organisation
    key_id: str

    @property
    def is_platform(self) -> bool:
        return self.org_id is None


admin_auth = HTTPTokenAuth(scheme="Bearer")


@admin_auth.verify_token
def _verify(secret: str) -> AdminPrincipal | None:
    if not secret:
        return None
    pepper = current_app.config["TOKEN_PEPPER"]
    platform = current_app.config["PLATFORM_KEY"]
    if platform and secrets.same_digest(
        secrets.digest(secret, pepper), secrets.digest(str(platform), pepper)
    ):
        return AdminPrincipal(None, "platform")
    token = find_token(get_session(), secret, "management", pepper=pepper)
    if token is None:
        return None
    g.org_id = token.org_id
    return AdminPrincipal(token.org_id, token.id)


@admin_auth.error_handler
def _auth_error(status: int) -> Response:
    response = api_error_response(
        status, ErrorCode.UNAUTHORIZED, "A management key is required: Authorization: Bearer <key>."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="management"'
    return response


@admin_auth.login_required
def require_admin_key() -> None:
    """A blueprint's ``before_request``: 401 unless a management or platform key."""


def blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A management-API blueprint: every route behind a management or platform key."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(require_admin_key)
    return bp


def principal() -> AdminPrincipal:
    found: AdminPrincipal | None = admin_auth.current_user()
    if found is None:  # flask-httpauth lets OPTIONS through unauthenticated
        raise Unauthorized()
    return found


def require_platform() -> None:
    if request.method == "OPTIONS":  # a CORS preflight carries no credentials
        return
    if not principal().is_platform:
        raise ProvisioningError(ErrorCode.PLATFORM_KEY_REQUIRED, "This needs the platform key.")


def organization(org_id: str) -> Organization:
    """The organisation, if this key may see it; another org's is 404, never 403."""
    who = principal()
    if who.org_id is not None and who.org_id != org_id:
        raise NotFound(f"No organization {excerpt(org_id)}.")
    return get_org(get_session(), org_id)


def acting() -> AdminActor:
    """The audit actor: the named person, else the key."""
    who = principal()
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    named = (request.headers.get("X-Acting-User") or "").strip()
    user_id = acting_user_id(get_session(), named) if named else None
    label = named or f"key:{who.key_id}"
    kind = "admin" if who.org_id is not None or named else "system"
    return AdminActor(Actor(kind, label, request_id), user_id)
