"""One page of an organisation's management-API list, with query parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


def page(admin: Any, resource: str, **params: str) -> Any:
    """``GET /organizations/{org}/{resource}?…`` with the admin's key."""
    query = f"?{urlencode(params)}" if params else ""
    return admin.call("GET", f"/organizations/{admin.org_id}/{resource}{query}")


def items(admin: Any, resource: str, key: str, **params: str) -> list[dict[str, Any]]:
    """The page's ``key`` list; the page must be a 200."""
    response = page(admin, resource, **params)
    assert response.status_code == 200, response.get_json()
    found: list[dict[str, Any]] = response.get_json()[key]
    return found
