"""/scim/v2/Users (RFC 7644 §3): parse, call the service, render. No rules live here."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from scim_server.api.scim import requests
from scim_server.auth import require_scim_token
from scim_server.db import get_session
from scim_server.db import snapshot_connection
from scim_server.db import snapshot_read
from scim_server.db import snapshot_read_if
from scim_server.scim import compat
from scim_server.scim.projection import project
from scim_server.scim.schema import CORE_USER
from scim_server.services.directory import search
from scim_server.services.directory import users
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.users import UserView

bp = Blueprint("users", __name__, url_prefix="/scim/v2/Users")
bp.before_request(require_scim_token)


def _render(ctx: ScimContext, view: UserView, status: int = 200, *, new: bool = False) -> Response:
    """``new``: created by this request, so in no group yet (no query for its groups).
    A view read with its groups (a PATCH's, a PUT's) needs no query either."""
    rtype = ctx.registry.user
    projection = requests.projection_from(
        rtype, request.args.get("attributes"), request.args.get("excludedAttributes")
    )
    groups = None
    if projection.wants(rtype, "groups") and not new:
        if view.group_pairs is not None:
            groups = users.group_refs(ctx, view.group_pairs)
        else:
            groups = users.user_groups(get_session(), ctx, [view.row.id]).get(view.row.id)
    doc = view.to_scim(ctx, groups)
    return requests.scim_response(
        project(doc, rtype, projection),
        status,
        location=doc["meta"]["location"],
        version=doc["meta"]["version"],
    )


def _validated(ctx: ScimContext) -> dict[str, object]:
    return validated_body(ctx, requests.json_body())


def validated_body(ctx: ScimContext, raw: dict[str, object]) -> dict[str, object]:
    """A User body for POST or PUT, normalised and validated (also for Bulk operations)."""
    # Normalised first, so that a dialect's schema URNs (OneLogin's SCIM 1.1 names) count.
    body = compat.normalise_resource(raw, ctx.registry.user)
    requests.require_schema(body, CORE_USER)
    return ctx.validators["User"].validate(body)


@bp.get("")
@snapshot_read_if(requests.list_reads_only)
def list_users() -> Response:
    return requests.list_resources("User", search.search_users, from_body=False)


@bp.post("/.search")
def search_users() -> Response:
    return requests.list_resources("User", search.search_users, from_body=True)


@bp.post("")
def create_user() -> Response:
    ctx = requests.context()
    view = users.create_user(get_session(), ctx, _validated(ctx))
    return _render(ctx, view, 201, new=True)


@bp.get("/<resource_id:scim_id>")
@snapshot_read
def get_user(scim_id: str) -> Response:
    ctx = requests.context()
    rtype = ctx.registry.user
    projection = requests.projection_from(
        rtype, request.args.get("attributes"), request.args.get("excludedAttributes")
    )
    doc = users.read_user(
        snapshot_connection(), ctx, scim_id, with_groups=projection.wants(rtype, "groups")
    )
    version = doc["meta"]["version"]
    if requests.not_modified(version):
        return requests.scim_response(None, 304, version=version)
    return requests.scim_response(
        project(doc, rtype, projection), location=doc["meta"]["location"], version=version
    )


@bp.put("/<resource_id:scim_id>")
def replace_user(scim_id: str) -> Response:
    ctx = requests.context()
    view = users.replace_user(
        get_session(), ctx, scim_id, _validated(ctx), if_match=requests.if_match()
    )
    return _render(ctx, view)


@bp.patch("/<resource_id:scim_id>")
def patch_user(scim_id: str) -> Response:
    """200 with the whole resource (docs/api.md §4: some conformance tools insist)."""
    ctx = requests.context()
    ops = requests.patch_operations(ctx, ctx.registry.user, requests.json_body())
    view = users.patch_user(get_session(), ctx, scim_id, ops, if_match=requests.if_match())
    return _render(ctx, view)


@bp.delete("/<resource_id:scim_id>")
def delete_user(scim_id: str) -> Response:
    ctx = requests.context()
    users.delete_user(get_session(), ctx, scim_id, if_match=requests.if_match())
    return requests.scim_response(None, 204)
