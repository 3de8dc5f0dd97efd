"""Bearer-token authentication: a SCIM token identifies its organisation and directory."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_httpauth import HTTPTokenAuth

from scim_server.db import get_session
from scim_server.errors import scim_error_response
from scim_server.services.audit import Actor
from scim_server.services.organizations.orgs import directory_of
from scim_server.services.organizations.tokens import find_token
from scim_server.storage.models import Organization


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organisation, its directory and the actor for the audit trail."""

    org: Organization
    directory_id: str
    actor: Actor


scim_auth = HTTPTokenAuth(scheme="Bearer")


@scim_auth.verify_token
def _verify_scim_token(secret: str) -> Principal | None:
    if not secret:
        return None
    session = get_session()
    token = find_token(session, secret, "scim", pepper=current_app.config["TOKEN_PEPPER"])
    if token is None:
        return None
    org = session.get(Organization, token.org_id)
    if org is None:
        return None
    g.org_id = org.id
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    return Principal(org, directory_of(session, org.id).id, Actor("scim", token.id, request_id))


@scim_auth.error_handler
def _scim_auth_error(status: int) -> Response:
    response = scim_error_response(
        status, "A valid bearer token is required: Authorization: Bearer <SCIM token>."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def current_principal() -> Principal:
    principal: Principal = scim_auth.current_user()
    return principal


@scim_auth.login_required
def require_scim_token() -> None:
    """A blueprint's ``before_request``: answers 401 unless a SCIM token authenticates."""
