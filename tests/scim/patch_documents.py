"""Documents and shorthands shared by the PATCH tests (``test_patch_*.py``)."""

from __future__ import annotations

from typing import Any

from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import parse_patch
from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import load_registry

REGISTRY = load_registry()
USER = REGISTRY.user
GROUP = REGISTRY.group


def user_doc() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER, PRODUCT_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        PRODUCT_USER: {
            "userId": "u-1",
            "adminDisabled": False,
            "effectiveAccess": True,
            "linkPending": False,
        },
        "meta": {"resourceType": "User", "version": 'W/"3"', "location": "/v2/Users/2819c223"},
    }


def minimal_user_doc() -> dict[str, Any]:
    return {"schemas": [CORE_USER], "id": "u-2", "userName": "min", "meta": {"version": 'W/"1"'}}


def group_doc() -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Tour Guides",
        "members": [{"value": "m-1", "type": "User"}, {"value": "m-2"}],
        "meta": {"resourceType": "Group"},
    }


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def ops(*operations: dict[str, Any], rtype: Any = USER) -> list[PatchOperation]:
    return parse_patch(body(*operations), rtype, max_operations=100)


def patch(doc: dict[str, Any], *operations: dict[str, Any], rtype: Any = USER) -> dict[str, Any]:
    return apply_patch(doc, ops(*operations, rtype=rtype), rtype)


def emails(doc: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = doc["emails"]
    return result
