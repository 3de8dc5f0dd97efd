"""Management API: an organisation's SCIM tokens, so its IT admin rotates them self-serve.

Rotation is create, switch the IdP, watch ``last_used_at`` of the old token stop moving,
then revoke it (docs/api.md §3.1). The secret is in the creation answer only.
"""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.inputs import writable_fields
from scim_server.services.organizations import tokens
from scim_server.services.organizations.representation import token_json

bp = auth.blueprint("scim_tokens", __name__, "/api/v1/organizations/<org_id>/scim-tokens")


@bp.get("")
def list_scim_tokens(org_id: str) -> Response:
    rows = tokens.list_tokens(get_session(), auth.organization(org_id), "scim")
    return reply({"scim_tokens": [token_json(t) for t in rows]})


@bp.post("")
def create_scim_token(org_id: str) -> Response:
    """A new SCIM token beside the existing ones (which stay valid until revoked)."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    writable_fields(body(), frozenset(), {})
    issued = tokens.create_token(get_session(), org, "scim", pepper=pepper(), actor=actor)
    return reply({**token_json(issued.row), "token": issued.secret}, 201)


@bp.post("/<token_id>/revoke")
def revoke_scim_token(org_id: str, token_id: str) -> Response:
    """Revoke at once: the next SCIM request with it, on any worker, is 401."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    writable_fields(body(), frozenset(), {})
    token = tokens.revoke_org_token(get_session(), org, token_id, "scim", actor=actor)
    return reply(token_json(token))
