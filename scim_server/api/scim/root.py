"""Root-level SCIM endpoints: ``POST /.search`` over every resource type (RFC 7644
§3.4.3) and ``/Me``, which this server does not offer and says so (RFC 7644 §3.11)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response

from scim_server.api.scim import paging
from scim_server.api.scim import requests
from scim_server.auth import require_scim_token
from scim_server.db import get_session
from scim_server.scim.errors import NotImplementedScimError
from scim_server.scim.listing import list_response
from scim_server.services.directory import root_search

bp = Blueprint("scim_root", __name__, url_prefix="/scim/v2")
bp.before_request(require_scim_token)

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.post("/.search")
def search_all() -> Response:
    """Users and Groups in one list; paged by startIndex, or by cursor when named."""
    ctx = requests.context()
    params = requests.list_params(from_body=True)
    query = requests.query_from(ctx.registry.user, params)
    projections = {
        name: requests.projection_from(
            ctx.registry.resource_types[name],
            params.get("attributes"),
            params.get("excludedAttributes"),
        )
        for name in ("User", "Group")
    }
    if "cursor" not in params:
        page = root_search.search_root(
            get_session(), ctx, query, projections, None, by_cursor=False
        )
        return requests.scim_response(list_response(page.resources, page.total, query.page))
    query = paging.cursor_query(query, params)
    position = paging.position(ctx, root_search.ROOT, query, params["cursor"])
    page = root_search.search_root(get_session(), ctx, query, projections, position, by_cursor=True)
    return requests.scim_response(paging.cursor_response(ctx, root_search.ROOT, query, page))


@bp.route("/Me", methods=_ALL_METHODS)
def me() -> Response:
    """501, not 404: the endpoint exists in the RFC, and a client should learn that this
    server does not offer it rather than that it mistyped a URL."""
    raise NotImplementedScimError(
        "/Me is not supported: a SCIM token here belongs to an organisation's directory, "
        "not to a person, so there is no authenticated subject for /Me to name "
        "(RFC 7644 §3.11). Use /Users/{id}."
    )
