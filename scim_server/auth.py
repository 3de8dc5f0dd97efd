"""Bearer-token authentication: a SCIM token identifies its organisation and directory.

Why one query and no cache: authentication is a single indexed statement (token joined to
its organisation and directory, ``tokens.find_scim_credentials``). A per-worker cache keyed
by the token hash would save that one statement but would have to hold the organisation
row too (``active``, the seat limit, the one-organisation policy), which the management API
changes at any time on any worker; keeping it honest would need a re-check, i.e. the same
query again. So every request reads the token afresh: a revocation, a disconnected or
deactivated organisation takes effect on the next request on every worker, with no bound
to document and no state that another worker could miss.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_httpauth import HTTPTokenAuth

from scim_server.config import retired_peppers
from scim_server.db import get_session
from scim_server.errors import scim_error_response
from scim_server.services.audit import Actor
from scim_server.services.organizations.tokens import find_scim_credentials
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
    pepper = current_app.config["TOKEN_PEPPER"]
    retired = retired_peppers(current_app.config)
    found = find_scim_credentials(get_session(), secret, pepper=pepper, retired=retired)
    if found is None:
        return None
    g.org_id = found.org.id
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    actor = Actor("scim", found.token.id, request_id)
    return Principal(found.org, found.directory_id, actor)


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
