"""Management API: invitations (create, list, revoke, resend) and, with the platform key,
accepting one for the person who followed its link."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import config
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.api.admin.http import required_string
from scim_server.db import commit_despite_error
from scim_server.db import get_session
from scim_server.services.signin import invitations
from scim_server.services.signin.representation import accepted_json
from scim_server.services.signin.representation import invitation_json
from scim_server.services.signin.representation import issued_json

bp = auth.blueprint("invitations", __name__, "/api/v1")
ORG = "/organizations/<org_id>/invitations"


@bp.post(ORG)
def create_invitation(org_id: str) -> Response:
    org = auth.organization(org_id)
    db = get_session()
    by = auth.acting(org)
    payload = fields(*invitations.CREATE_FIELDS)
    issued = invitations.create(db, org, payload, by=by, pepper=pepper())
    return reply(issued_json(db, issued, config("INVITATION_ACCEPT_URL")), 201)


@bp.get(ORG)
def list_invitations(org_id: str) -> Response:
    db = get_session()
    rows = invitations.list_invitations(db, auth.organization(org_id))
    return reply({"invitations": [invitation_json(db, i) for i in rows]})


@bp.post(f"{ORG}/<invitation_id>/revoke")
def revoke_invitation(org_id: str, invitation_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    fields()
    row = invitations.revoke(db, org, invitation_id, actor=actor)
    return reply(invitation_json(db, row))


@bp.post(f"{ORG}/<invitation_id>/resend")
def resend_invitation(org_id: str, invitation_id: str) -> Response:
    org = auth.organization(org_id)
    db = get_session()
    actor = auth.acting(org).actor
    fields()
    issued = invitations.resend(db, org, invitation_id, actor=actor, pepper=pepper())
    return reply(issued_json(db, issued, config("INVITATION_ACCEPT_URL")))


@bp.post("/invitations/accept")
def accept_invitation() -> Response:
    """Platform key: the host's sign-up/sign-in flow, for the person who clicked the link."""
    auth.require_platform()
    payload = fields("token", "user")
    token = required_string(payload, "token")
    user = invitations.Invitee.from_json(payload.get("user"))
    result = invitations.accept_token(
        get_session(), token, user, pepper=pepper(), keep_failed_attempt=commit_despite_error
    )
    return reply(accepted_json(result))
