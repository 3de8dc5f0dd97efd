"""/scim/v2/Groups. Member changes never serialise the other members: PATCH answers 204
unless the request names ``attributes``/``excludedAttributes`` (docs/api.md §4)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import request

from scim_server.api.scim import requests
from scim_server.auth import require_scim_token
from scim_server.db import get_session
from scim_server.db import snapshot_read
from scim_server.db import snapshot_read_if
from scim_server.scim import compat
from scim_server.scim.projection import project
from scim_server.scim.schema import CORE_GROUP
from scim_server.services.directory import groups
from scim_server.services.directory import search
from scim_server.services.directory.context import ScimContext
from scim_server.services.formats import etag
from scim_server.storage.models import ScimGroup

bp = Blueprint("groups", __name__, url_prefix="/scim/v2/Groups")
bp.before_request(require_scim_token)


def _render(ctx: ScimContext, group: ScimGroup, status: int = 200) -> Response:
    rtype = ctx.registry.group
    projection = requests.projection_from(
        rtype, request.args.get("attributes"), request.args.get("excludedAttributes")
    )
    doc = groups.to_scim(get_session(), ctx, group, with_members=projection.wants(rtype, "members"))
    return requests.scim_response(
        project(doc, rtype, projection),
        status,
        location=doc["meta"]["location"],
        version=doc["meta"]["version"],
    )


def _validated(ctx: ScimContext) -> dict[str, Any]:
    return validated_body(ctx, requests.json_body())


def validated_body(ctx: ScimContext, body: dict[str, Any]) -> dict[str, Any]:
    """The validated body (also for Bulk operations); an explicit ``members: []`` survives
    as an empty list."""
    # Normalised first, so that a dialect's schema URNs (OneLogin's SCIM 1.1 names) count.
    normalised = compat.normalise_resource(body, ctx.registry.group)
    requests.require_schema(normalised, CORE_GROUP)
    doc = ctx.validators["Group"].validate(normalised)
    if "members" in normalised and "members" not in doc:
        doc["members"] = []
    return doc


@bp.get("")
@snapshot_read_if(requests.list_reads_only)
def list_groups() -> Response:
    return requests.list_resources("Group", search.search_groups, from_body=False)


@bp.post("/.search")
def search_groups() -> Response:
    return requests.list_resources("Group", search.search_groups, from_body=True)


@bp.post("")
def create_group() -> Response:
    ctx = requests.context()
    return _render(ctx, groups.create_group(get_session(), ctx, _validated(ctx)), 201)


@bp.get("/<resource_id:group_id>")
@snapshot_read
def get_group(group_id: str) -> Response:
    ctx = requests.context()
    group = groups.get_group(get_session(), ctx, group_id)
    version = etag(group.version)
    if requests.not_modified(version):
        return requests.scim_response(None, 304, version=version)
    return _render(ctx, group)


@bp.put("/<resource_id:group_id>")
def replace_group(group_id: str) -> Response:
    ctx = requests.context()
    group = groups.replace_group(
        get_session(), ctx, group_id, _validated(ctx), if_match=requests.if_match()
    )
    return _render(ctx, group)


@bp.patch("/<resource_id:group_id>")
def patch_group(group_id: str) -> Response:
    ctx = requests.context()
    ops = requests.patch_operations(ctx, ctx.registry.group, requests.json_body())
    group = groups.patch_group(get_session(), ctx, group_id, ops, if_match=requests.if_match())
    if request.args.get("attributes") or request.args.get("excludedAttributes"):
        return _render(ctx, group)
    return requests.scim_response(None, 204, version=etag(group.version))


@bp.delete("/<resource_id:group_id>")
def delete_group(group_id: str) -> Response:
    ctx = requests.context()
    groups.delete_group(get_session(), ctx, group_id, if_match=requests.if_match())
    return requests.scim_response(None, 204)
