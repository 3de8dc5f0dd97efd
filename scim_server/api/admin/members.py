"""Management API: an organisation's members and the admin override (docs/api.md §3.2)."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import writable_fields
from scim_server.services.membership import admin
from scim_server.services.membership.admin import MEMBER_FIELDS
from scim_server.services.membership.representation import describe
from scim_server.services.membership.representation import member_page

bp = auth.blueprint("members", __name__, "/api/v1/organizations/<org_id>/members")


@bp.get("")
def list_members(org_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    rows, cursor = admin.list_members(
        db,
        org,
        email=request.args.get("email"),
        state=request.args.get("state"),
        cursor=request.args.get("cursor"),
        limit=limit_arg(),
    )
    return reply(member_page(db, rows, cursor))


@bp.get("/<user_id>")
def get_member(org_id: str, user_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    return reply(describe(db, admin.get_membership(db, org, user_id)))


@bp.post("/<user_id>/disable")
def disable(org_id: str, user_id: str) -> Response:
    reason = body().get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'reason' must be a string.")
    db = get_session()
    org = auth.organization(org_id)
    by = auth.acting(org)
    fields("reason")
    m = admin.disable(db, org, user_id, reason=reason, by=by)
    return reply(describe(db, m))


@bp.post("/<user_id>/enable")
def enable(org_id: str, user_id: str) -> Response:
    if "force" in body():
        raise ProvisioningError(
            ErrorCode.FORCE_NOT_SUPPORTED,
            "There is no force-enable: an admin cannot keep someone the directory deprovisioned.",
        )
    db = get_session()
    org = auth.organization(org_id)
    by = auth.acting(org)
    fields()
    m = admin.enable(db, org, user_id, by=by)
    return reply(describe(db, m))


@bp.patch("/<user_id>")
def edit(org_id: str, user_id: str) -> Response:
    """Row A4; the member's whole representation may come back (docs/api.md §1)."""
    sent = body()
    if not sent:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "Send any of 'role', 'scope', 'sites'.")
    db = get_session()
    org = auth.organization(org_id)
    by = auth.acting(org)
    shown = describe(db, admin.get_membership(db, org, user_id))
    changes = writable_fields(sent, MEMBER_FIELDS, shown)
    m = admin.edit(db, org, user_id, changes, by=by, round_trip="grant_overrides" in sent)
    return reply(describe(db, m))


@bp.delete("/<user_id>")
def remove(org_id: str, user_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    m = admin.remove(db, org, user_id, by=auth.acting(org))
    return reply(describe(db, m))
