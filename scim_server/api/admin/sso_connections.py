"""Management API: an organisation's SSO connections (JIT settings, enable, disable)."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.signin import sso_connections
from scim_server.services.signin.representation import connection_json

bp = auth.blueprint("sso_connections", __name__, "/api/v1/organizations/<org_id>/sso-connections")


@bp.get("")
def list_connections(org_id: str) -> Response:
    rows = sso_connections.list_connections(get_session(), auth.organization(org_id))
    return reply({"sso_connections": [connection_json(c) for c in rows]})


@bp.post("")
def create_connection(org_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.create(get_session(), org, body(), actor=auth.acting(org).actor)
    return reply(connection_json(conn), 201)


@bp.patch("/<connection_id>")
def update_connection(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.update(
        get_session(), org, connection_id, body(), actor=auth.acting(org).actor
    )
    return reply(connection_json(conn))


@bp.post("/<connection_id>/disable")
def disable_connection(org_id: str, connection_id: str) -> Response:
    revoke_all = body().get("revoke_all_org_sessions", False)
    if not isinstance(revoke_all, bool):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "'revoke_all_org_sessions' is a boolean."
        )
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    fields("revoke_all_org_sessions")
    conn, revoked = sso_connections.disable(
        get_session(), org, connection_id, revoke_all=revoke_all, actor=actor
    )
    return reply({**connection_json(conn), "sessions_revoked": revoked})


@bp.post("/<connection_id>/enable")
def enable_connection(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    fields()
    conn = sso_connections.enable(get_session(), org, connection_id, actor=actor)
    return reply(connection_json(conn))
