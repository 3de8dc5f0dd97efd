"""Management API: organisations, seats, the event feed, roles, sites, the directory."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.json_io import body
from scim_server.api.admin.json_io import limit_arg
from scim_server.api.admin.json_io import reply
from scim_server.db import get_session
from scim_server.services import audit
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import seats
from scim_server.services.organizations import catalog
from scim_server.services.organizations import orgs

bp = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations")
bp.before_request(auth.require_admin_key)


@bp.post("")
def create_organization() -> Response:
    """Platform key: a new organisation with its first SCIM token and management key."""
    auth.require_platform()
    payload = body()
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string.")
    db = get_session()
    actor = auth.acting().actor
    org = orgs.create_org(db, name.strip(), actor=actor)
    orgs.update_org(db, org, {k: v for k, v in payload.items() if k != "name"}, actor=actor)
    pepper = current_app.config["TOKEN_PEPPER"]
    scim = orgs.create_token(db, org, "scim", pepper=pepper, actor=actor)
    mgmt = orgs.create_token(db, org, "management", pepper=pepper, actor=actor)
    base = (current_app.config["BASE_URL"] or request.host_url).rstrip("/")
    return reply(
        {
            **orgs.org_json(org),
            "scim_base_url": f"{base}/scim/v2",
            "scim_token": scim.secret,
            "management_key": mgmt.secret,
        },
        201,
    )


@bp.get("")
def list_organizations() -> Response:
    auth.require_platform()
    return reply({"organizations": [orgs.org_json(o) for o in orgs.list_orgs(get_session())]})


@bp.get("/<org_id>")
def get_organization(org_id: str) -> Response:
    return reply(orgs.org_json(auth.organization(org_id)))


@bp.patch("/<org_id>")
def update_organization(org_id: str) -> Response:
    auth.require_platform()
    org = auth.organization(org_id)
    orgs.update_org(get_session(), org, body(), actor=auth.acting().actor)
    return reply(orgs.org_json(org))


@bp.get("/<org_id>/seats")
def get_seats(org_id: str) -> Response:
    org = auth.organization(org_id)
    count = seats.count(get_session(), org)
    return reply(
        {
            "used": count.used,
            "limit": count.limit,
            "members": count.members,
            "pending_invitations": count.pending_invitations,
            "free": count.free,
            "over_limit": org.over_seat_limit_at is not None,
        }
    )


@bp.get("/<org_id>/events")
def list_events(org_id: str) -> Response:
    org = auth.organization(org_id)
    try:
        events, cursor = audit.feed(
            get_session(), org.id, after=request.args.get("after"), limit=limit_arg()
        )
    except audit.InvalidCursor:
        raise ProvisioningError(
            ErrorCode.CURSOR_INVALID, "'after' is the next_cursor of the previous page."
        ) from None
    return reply({"events": [audit.event_json(e) for e in events], "next_cursor": cursor})


@bp.get("/<org_id>/roles")
def list_roles(org_id: str) -> Response:
    roles = catalog.list_roles(get_session(), auth.organization(org_id))
    return reply({"roles": [catalog.role_json(r) for r in roles]})


@bp.post("/<org_id>/roles")
def create_role(org_id: str) -> Response:
    org = auth.organization(org_id)
    role = catalog.create_role(get_session(), org, body(), actor=auth.acting().actor)
    return reply(catalog.role_json(role), 201)


@bp.get("/<org_id>/sites")
def list_sites(org_id: str) -> Response:
    sites = catalog.list_sites(get_session(), auth.organization(org_id))
    return reply({"sites": [catalog.site_json(s) for s in sites]})


@bp.post("/<org_id>/sites")
def create_site(org_id: str) -> Response:
    org = auth.organization(org_id)
    site = catalog.create_site(get_session(), org, body(), actor=auth.acting().actor)
    return reply(catalog.site_json(site), 201)


@bp.post("/<org_id>/directory/disconnect")
def disconnect_directory(org_id: str) -> Response:
    """K1 needs an explicit confirmation: it ends directory management for everyone."""
    if body().get("confirm") is not True:
        raise ProvisioningError(
            ErrorCode.CONFIRMATION_REQUIRED,
            'Send {"confirm": true} to disconnect the SCIM directory.',
        )
    org = auth.organization(org_id)
    changed = orgs.disconnect_directory(get_session(), org, actor=auth.acting().actor)
    return reply({"disconnected": True, "members_changed": changed})
