"""Discovery (RFC 7644 §4), served from the schema registry so advertised = enforced.

These endpoints need no token: they describe the server, not an organisation's data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app

from scim_server.api.scim import requests
from scim_server.scim.errors import excerpt
from scim_server.scim.json_tree import copy_tree
from scim_server.scim.listing import Page
from scim_server.scim.listing import list_response
from scim_server.scim.listing import pagination_config
from scim_server.services.errors import NotFound

bp = Blueprint("discovery", __name__, url_prefix="/scim/v2")


def _located(doc: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy_tree(doc)
    out.setdefault("meta", {})["location"] = f"{requests.scim_base_url()}/{path}"
    return out


def _schemas() -> list[dict[str, Any]]:
    return [_located(s.document, f"Schemas/{s.id}") for s in requests.registry().schemas.values()]


def _resource_types() -> list[dict[str, Any]]:
    return [
        _located(rt.document, f"ResourceTypes/{rt.name}")
        for rt in requests.registry().resource_types.values()
    ]


def _listed(items: list[dict[str, Any]]) -> Response:
    return requests.scim_response(list_response(items, len(items), Page(1, len(items))))


@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    doc = _located(requests.registry().service_provider_config, "ServiceProviderConfig")
    config = current_app.config
    doc["filter"]["maxResults"] = config["MAX_PAGE_SIZE"]
    doc["pagination"] = pagination_config(
        default_size=config["DEFAULT_PAGE_SIZE"],
        max_size=config["MAX_PAGE_SIZE"],
        timeout=config["CURSOR_TIMEOUT_SECONDS"],
    )
    doc["bulk"]["maxOperations"] = config["BULK_MAX_OPERATIONS"]
    doc["bulk"]["maxPayloadSize"] = config["BULK_MAX_PAYLOAD_BYTES"]
    return requests.scim_response(doc)


@bp.get("/ResourceTypes")
def resource_types() -> Response:
    return _listed(_resource_types())


@bp.get("/ResourceTypes/<name>")
def resource_type(name: str) -> Response:
    for doc in _resource_types():
        if doc["name"].lower() == name.lower():
            return requests.scim_response(doc)
    raise NotFound(f"No resource type {excerpt(name)}.")


@bp.get("/Schemas")
def schemas() -> Response:
    return _listed(_schemas())


@bp.get("/Schemas/<path:urn>")
def schema(urn: str) -> Response:
    for doc in _schemas():
        if doc["id"].lower() == urn.lower():
            return requests.scim_response(doc)
    raise NotFound(f"No schema {excerpt(urn)}.")
