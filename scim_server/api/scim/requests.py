"""What every SCIM view shares: body parsing, the service context, responses."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flask import Response
from flask import current_app
from flask import request
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter
from werkzeug.sansio.utils import get_current_url

from scim_server.api.scim import paging
from scim_server.auth import current_principal
from scim_server.db import get_session
from scim_server.errors import SCIM_MEDIA_TYPE
from scim_server.scim import compat
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import excerpt
from scim_server.scim.errors import quoted
from scim_server.scim.listing import list_response
from scim_server.scim.listing import parse_page
from scim_server.scim.listing import parse_sort_order
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import parse_patch
from scim_server.scim.projection import Projection
from scim_server.scim.projection import parse_projection
from scim_server.scim.schema import SEARCH_REQUEST
from scim_server.scim.schema import ResourceType
from scim_server.scim.schema import SchemaRegistry
from scim_server.services.directory import cursor_pages
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.search import Query

_JSON_TYPES = ("application/scim+json", "application/json")


def registry() -> SchemaRegistry:
    reg: SchemaRegistry = current_app.extensions["scim_registry"]
    return reg


def scim_base_url() -> str:
    configured: str | None = current_app.config["BASE_URL"]
    if configured:
        return configured.rstrip("/") + "/scim/v2"
    return _base_url(request.scheme, request.host)


@lru_cache(maxsize=64)
def _base_url(scheme: str, host: str) -> str:
    """What ``request.host_url`` gives, remembered: werkzeug rebuilds it through IRI
    decoding at every request (about 3% of a GET), and the requests of a deployment name
    a handful of hosts. ``request.host`` is still checked against ``trusted_hosts`` at
    every request, before it keys this cache."""
    return get_current_url(scheme, host).rstrip("/") + "/scim/v2"


def context() -> ScimContext:
    principal = current_principal()
    return ScimContext(
        org=principal.org,
        directory_id=principal.directory_id,
        actor=principal.actor,
        base_url=scim_base_url(),
        registry=registry(),
        validators=current_app.extensions["scim_validators"],
        max_patch_operations=current_app.config["MAX_PATCH_OPERATIONS"],
    )


def json_body() -> dict[str, Any]:
    """The request body as a JSON object; RFC 7644 §3.12 invalidSyntax otherwise."""
    mimetype = request.mimetype
    if mimetype and mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise InvalidSyntaxError(
            f"Content-Type {excerpt(mimetype)} is not supported; send application/scim+json."
        )
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidSyntaxError(f"The body is not valid JSON: {error}.") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxError("The body must be a JSON object.")
    return body  # its strings passed api/guards.py's check before authentication


def patch_operations(
    ctx: ScimContext, rtype: ResourceType, body: dict[str, Any]
) -> list[PatchOperation]:
    """A PATCH body, IdP dialects normalised (``scim.compat``), parsed (RFC 7644 §3.5.2):
    for PATCH requests and Bulk PATCH operations alike."""
    normalised = compat.normalise_patch(body, rtype)
    return parse_patch(normalised, rtype, max_operations=ctx.max_patch_operations)


def require_schema(body: dict[str, Any], urn: str) -> None:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == urn.lower() for s in schemas
    ):
        raise InvalidSyntaxError(f"'schemas' must list {urn}.")


def scim_response(
    doc: dict[str, Any] | None,
    status: int = 200,
    *,
    location: str | None = None,
    version: str | None = None,
) -> Response:
    body = "" if doc is None else json.dumps(doc, separators=(",", ":"))
    response = Response(body, status=status, mimetype=SCIM_MEDIA_TYPE)
    if location:
        response.headers["Location"] = location
    if version:
        response.headers["ETag"] = version
    return response


def projection_from(rtype: ResourceType, attributes: Any, excluded: Any) -> Projection:
    attributes, excluded = _joined(attributes), _joined(excluded)
    if attributes and excluded:
        raise InvalidValueError("Give either 'attributes' or 'excludedAttributes', not both.")
    return parse_projection(rtype, attributes, excluded)


def _joined(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, str):
        return value
    raise InvalidValueError(f"Attribute lists must be strings, got {quoted(value)}.")


_LIST_PARAMS = (
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "attributes",
    "excludedAttributes",
    "cursor",
)


def list_params(*, from_body: bool) -> dict[str, Any]:
    """The list parameters of a GET query string, or of a POST /.search SearchRequest body
    (RFC 7644 §3.4.3), by name; absent ones are left out. ``cursor`` present but empty
    asks for the first page by cursor (RFC 9865)."""
    if not from_body:
        return {name: request.args[name] for name in _LIST_PARAMS if name in request.args}
    body = json_body()
    require_schema(body, SEARCH_REQUEST)
    text = body.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValueError("'filter' must be a string.")
    return {name: body[name] for name in _LIST_PARAMS if body.get(name) is not None}


def query_from(rtype: ResourceType, params: dict[str, Any]) -> Query:
    return _query(
        rtype,
        params.get("filter"),
        params.get("sortBy"),
        params.get("sortOrder"),
        params.get("startIndex"),
        params.get("count"),
        params.get("attributes"),
        params.get("excludedAttributes"),
    )


def _query(
    rtype: ResourceType,
    text: Any,
    sort_by: Any,
    sort_order: Any,
    start: Any,
    count: Any,
    attributes: Any,
    excluded: Any,
) -> Query:
    config = current_app.config
    if sort_by is not None and not isinstance(sort_by, str):
        raise InvalidValueError("'sortBy' must be an attribute name.")
    if sort_order is not None and not isinstance(sort_order, str):
        raise InvalidValueError("'sortOrder' must be ascending or descending.")
    return Query(
        filter=text or None,
        sort_by=sort_by or None,
        descending=parse_sort_order(sort_order),
        page=parse_page(
            start, count, default=config["DEFAULT_PAGE_SIZE"], maximum=config["MAX_PAGE_SIZE"]
        ),
        projection=projection_from(rtype, attributes, excluded),
    )


def if_match() -> str | None:
    return request.headers.get("If-Match")


def not_modified(version: str) -> bool:
    """If-None-Match naming the current version (RFC 7644 §3.14) -> 304."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or version in tags


def list_reads_only() -> bool:
    """Does this GET list only read? A filtered page and a cursor page do; an unfiltered
    ``startIndex`` page saves the bookmark the next page seeks from (services/directory/
    search.py), so it is no snapshot (db.py, ``snapshot_read``)."""
    return bool(request.args.get("filter")) or "cursor" in request.args


def list_resources(
    resource_type: str,
    search: Callable[[Session, ScimContext, Query], tuple[int, list[dict[str, Any]]]],
    *,
    from_body: bool,
) -> Response:
    """GET /Users or /Groups, or their POST /.search (RFC 7644 §3.4.2, §3.4.3), paged by
    startIndex or, when the request names ``cursor``, by cursor (RFC 9865)."""
    ctx = context()
    rtype = ctx.registry.resource_types[resource_type]
    params = list_params(from_body=from_body)
    query = query_from(rtype, params)
    if "cursor" not in params:
        total, resources = search(get_session(), ctx, query)
        return scim_response(list_response(resources, total, query.page))
    paged = paging.cursor_query(query, params)
    position = paging.position(ctx, resource_type, paged, params["cursor"])
    serve = cursor_pages.cursor_users if resource_type == "User" else cursor_pages.cursor_groups
    page = serve(get_session(), ctx, paged, position)
    return scim_response(paging.cursor_response(ctx, resource_type, paged, page))


class ResourceIdConverter(BaseConverter):
    """A resource id in a URL: never starting with ".", so ``/Users/.search`` is only the
    search route and any other method on it is 405 with ``Allow: POST`` (RFC 7644 §3.4.3),
    not a lookup of a resource whose id is ".search". The server never mints such ids."""

    regex = r"[^/.][^/]*"
