"""Management API authentication: an org's management key, or the platform key.

An org key sees only its own organisation (others are 404, never 403); the platform key
(``SCIM_PLATFORM_KEY``, compared as an HMAC digest in constant time) sees all. Every
change to an organisation names who acts with ``X-Acting-User``: an effective Owner or
Admin (user id or email), or ``key`` for the key itself; anything else is refused
(docs/api.md §1, "Acting person"). Routes without an organisation (creating one, sessions,
sign-in) act as the key.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_httpauth import HTTPTokenAuth
from werkzeug.exceptions import Unauthorized

from scim_server import secrets
from scim_server.api.admin.http import body
from scim_server.db import get_session
from scim_server.errors import api_error_response
from scim_server.request_ids import current_request_id
from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.admin import resolve_actor
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
    bp.before_request(_parse_body)
    return bp


def _parse_body() -> None:
    """A malformed JSON body is 400 ``invalid_json`` before anything else is checked: views
    resolve the acting user before refusing unknown fields (``http.fields``), and a body
    that is not JSON at all should not be answered with a complaint about a header."""
    if request.method in ("POST", "PUT", "PATCH"):
        body()


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


def key_actor() -> Actor:
    """The key as the audit actor (``admin`` for an org key, ``system`` for the platform's)."""
    who = principal()
    request_id = current_request_id()
    return Actor("system" if who.is_platform else "admin", f"key:{who.key_id}", request_id)


def acting(org: Organization) -> AdminActor:
    """Who changes ``org``: the member ``X-Acting-User`` names, or the key; else refused."""
    return resolve_actor(
        get_session(),
        org,
        request.headers.get("X-Acting-User"),
        key=key_actor(),
        platform=principal().is_platform,
    )
