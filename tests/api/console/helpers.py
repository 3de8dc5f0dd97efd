"""Getting into the console the way the host product does: a link from the management
API with the platform key, opened by the browser (Flask's test client keeps the cookie)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT

PLATFORM = {"Authorization": f"Bearer {PLATFORM_KEY}"}


def portal_link(client: Any, org_id: str, sections: list[str], ttl: int = 3600) -> str:
    response = client.post(
        f"/api/v1/organizations/{org_id}/portal-links",
        json={"sections": sections, "expires_in_seconds": ttl},
        headers=PLATFORM,
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["url"])


def admin_link(client: Any, org_id: str, acting_user: str) -> str:
    response = client.post(
        "/api/v1/console-sessions",
        json={"organization_id": org_id, "acting_user": acting_user},
        headers=PLATFORM,
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["url"])


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def open_link(client: Any, url: str) -> Any:
    response = client.get(path_of(url))
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def csrf(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "no CSRF field on the page"
    return found.group(1)


def make_admin(scim: Any, admin: Any, email: str = "boss@acme.com", role: str = "admin") -> str:
    user_id = str(scim.create_user(email)[PRODUCT]["userId"])
    assert admin.edit(user_id, {"role": role}).status_code == 200
    return user_id
