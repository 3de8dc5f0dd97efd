"""A small SCIM client over Flask's test client, so tests read like IdP traffic."""

from __future__ import annotations

import json
import uuid
from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PRODUCT = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class Scim:
    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        all_headers = {**self.headers, **(headers or {})}
        data = None
        if body is not None:
            data = body if isinstance(body, (str, bytes)) else json.dumps(body)
            all_headers.setdefault("Content-Type", "application/scim+json")
        return self.client.open(
            f"/scim/v2{path}", method=method, data=data, headers=all_headers, **kwargs
        )

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, ops: list[dict[str, Any]], **kw: Any) -> Any:
        return self.request("PATCH", path, {"schemas": [PATCH_OP], "Operations": ops}, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def create_user(self, user_name: str | None = None, **extra: Any) -> dict[str, Any]:
        user_name = user_name or f"user-{uuid.uuid4().hex[:8]}@example.com"
        body = {
            "schemas": [USER],
            "userName": user_name,
            "name": {"givenName": "Given", "familyName": "Family"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            **extra,
        }
        response = self.post("/Users", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def create_group(self, name: str | None = None, members: list[str] = ()) -> dict[str, Any]:
        body = {
            "schemas": [GROUP],
            "displayName": name or f"group-{uuid.uuid4().hex[:8]}",
            "members": [{"value": m} for m in members],
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def filter_users(self, text: str, **params: Any) -> dict[str, Any]:
        response = self.get("/Users", query_string={"filter": text, **params})
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """RFC 7644 §3.12: Error schema, status as a string, scimType, a detail, SCIM media type."""
    body = response.get_json(force=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/scim+json"
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body["detail"]
    return body


class Admin:
    """The management API over Flask's test client."""

    def __init__(self, client: Any, key: str, org_id: str | None = None) -> None:
        self.client = client
        self.key = key
        self.org_id = org_id

    def call(self, method: str, path: str, body: Any = None, acting: str | None = "key") -> Any:
        """``acting`` is the X-Acting-User header: the key acts unless a member is named;
        ``None`` sends no header."""
        headers = {"Authorization": f"Bearer {self.key}"}
        if acting is not None:
            headers["X-Acting-User"] = acting
        return self.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    def member_path(self, user_id: str, suffix: str = "") -> str:
        return f"/organizations/{self.org_id}/members/{user_id}{suffix}"

    def member(self, user_id: str) -> dict[str, Any]:
        response = self.call("GET", self.member_path(user_id))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def disable(self, user_id: str, reason: str = "offboarding", acting: str | None = "key") -> Any:
        return self.call("POST", self.member_path(user_id, "/disable"), {"reason": reason}, acting)

    def enable(self, user_id: str, acting: str | None = "key") -> Any:
        return self.call("POST", self.member_path(user_id, "/enable"), {}, acting)

    def edit(self, user_id: str, changes: dict[str, Any], acting: str | None = "key") -> Any:
        return self.call("PATCH", self.member_path(user_id), changes, acting)

    def remove(self, user_id: str, acting: str | None = "key") -> Any:
        return self.call("DELETE", self.member_path(user_id), None, acting)

    def events(self, after: str | None = None, limit: int = 1000) -> dict[str, Any]:
        query = f"?limit={limit}" + (f"&after={after}" if after else "")
        return self.call("GET", f"/organizations/{self.org_id}/events{query}").get_json()


def assert_api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body
