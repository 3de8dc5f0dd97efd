"""Sign-in hooks for the host product (platform key): register and check sessions."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import sessions
from scim_server.services.membership.representation import member_profile
from scim_server.services.membership.representation import session_check_json
from scim_server.services.membership.representation import session_json
from scim_server.services.signin import jit_config

bp = auth.blueprint("sessions", __name__, "/api/v1/sessions")
bp.before_request(auth.require_platform)


@bp.post("")
def create_session() -> Response:
    payload = fields("user_id", "organization_id", "method", "sso_connection_id")
    for key in ("user_id", "organization_id", "method"):
        if not isinstance(payload.get(key), str):
            raise ProvisioningError(ErrorCode.VALIDATION_ERROR, f"'{key}' is required.")
    connection = payload.get("sso_connection_id")
    if connection is not None and not isinstance(connection, str):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'sso_connection_id' must be a string.")
    db = get_session()
    session = jit_config.sign_in(
        db,
        user_id=payload["user_id"],
        org_id=payload["organization_id"],
        method=payload["method"],
        sso_connection_id=connection,
        actor=auth.key_actor(),
    )
    profile = member_profile(db, session.org_id, session.user_id)
    return reply(session_json(session, profile), 201)


@bp.get("/<session_id>")
def check_session(session_id: str) -> Response:
    valid, reason = sessions.check_session(get_session(), session_id)
    return reply(session_check_json(valid, reason))


@bp.delete("/<session_id>")
def end_session(session_id: str) -> Response:
    sessions.end_session(get_session(), session_id, actor=auth.key_actor())
    return reply(None, 204)
