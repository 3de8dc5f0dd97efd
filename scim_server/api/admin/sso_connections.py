"""Management API: an organisation's SSO connections (JIT settings, enable, disable)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import config
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import writable_fields
from scim_server.services.signin import sso_connections
from scim_server.services.signin.representation import connection_json
from scim_server.services.signin.representation import service_provider_json
from scim_server.storage.models import SsoConnection

bp = auth.blueprint("sso_connections", __name__, "/api/v1/organizations/<org_id>/sso-connections")


@bp.get("")
def list_connections(org_id: str) -> Response:
    rows = sso_connections.list_connections(get_session(), auth.organization(org_id))
    return reply({"sso_connections": [connection_json(c) for c in rows]})


def full_json(conn: SsoConnection) -> dict[str, Any]:
    """A connection with our side's values for the IdP (ACS URL, entity id, redirect URI)."""
    base = config("BASE_URL") or request.host_url
    return {**connection_json(conn), "service_provider": service_provider_json(conn, base)}


@bp.get("/<connection_id>")
def get_connection(org_id: str, connection_id: str) -> Response:
    """What the host product reads to run the SAML or OIDC handshake itself."""
    conn = sso_connections.get(get_session(), auth.organization(org_id), connection_id)
    return reply(full_json(conn))


@bp.post("")
def create_connection(org_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.create(
        get_session(), org, body(), actor=auth.acting(org).actor, pepper=pepper()
    )
    return reply(full_json(conn), 201)


@bp.patch("/<connection_id>")
def update_connection(org_id: str, connection_id: str) -> Response:
    """The representation may come back whole: ``service_provider`` (derived, ours) is
    accepted when unchanged and refused when not, as every read-only field is."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    db = get_session()
    shown = full_json(sso_connections.get(db, org, connection_id))
    sent = body()
    changes = {k: v for k, v in sent.items() if k != "service_provider"}
    writable_fields({k: v for k, v in sent.items() if k == "service_provider"}, frozenset(), shown)
    conn = sso_connections.update(db, org, connection_id, changes, actor=actor, pepper=pepper())
    return reply(full_json(conn))


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
