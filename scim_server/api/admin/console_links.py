"""Management API, platform key only: one-time links into the console — a set-up portal
link for a customer's IT admin, and a console sign-in for one of the host's admins."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.api.admin.http import required_string
from scim_server.db import get_session
from scim_server.services.formats import timestamp
from scim_server.services.organizations import console_access
from scim_server.services.organizations.console_access import Minted

bp = auth.blueprint("console_links", __name__, "/api/v1")


def _link_json(minted: Minted) -> dict[str, object]:
    """The only response that carries the link's secret; the host product hands it on."""
    url = f"{request.host_url.rstrip('/')}/console/start?token={minted.secret}"
    return {
        "id": minted.link.id,
        "organization_id": minted.link.org_id,
        "sections": minted.link.sections,
        "url": url,
        "expires_at": timestamp(minted.link.expires_at),
    }


@bp.post("/organizations/<org_id>/portal-links")
def create_portal_link(org_id: str) -> Response:
    auth.require_platform()
    org = auth.organization(org_id)
    minted = console_access.mint_portal_link(
        get_session(), org, body(), actor=auth.key_actor(), pepper=pepper()
    )
    return reply(_link_json(minted), 201)


@bp.post("/console-sessions")
def create_console_session() -> Response:
    """A one-time URL that signs ``acting_user`` (an effective Owner or Admin) in."""
    auth.require_platform()
    payload = fields("organization_id", "acting_user")
    org = auth.organization(required_string(payload, "organization_id"))
    acting = auth.resolve_named(org, required_string(payload, "acting_user"))
    minted = console_access.mint_admin_link(
        get_session(), org, acting, actor=auth.key_actor(), pepper=pepper()
    )
    return reply({**_link_json(minted), "acting_user_id": acting.user_id}, 201)
