"""Boundary lengths through the HTTP API: the limit passes, limit + 1 is a 400, never a 500.

The same cases run on SQLite and PostgreSQL (``SCIM_TEST_DATABASE_URL``): SQLite ignores
VARCHAR lengths, PostgreSQL does not, and the answer must be the same on both. The limits
come from the schema (``maxLength``/``maxItems`` in ``schemas/``) and from
``services/inputs.MANAGEMENT_FIELD_LIMITS``; the expected numbers are written out here so
that a limit raised past its column shows up as a review diff, not only as a drift test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PRODUCT = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"


def _user(**extra: Any) -> dict[str, Any]:
    name = f"u{uuid.uuid4().hex[:10]}@example.com"
    return {"schemas": [USER], "userName": name, **extra}


def _email(length: int) -> str:
    domain = "@example.com"
    return "e" * (length - len(domain)) + domain


def _emails(count: int) -> list[dict[str, Any]]:
    return [{"value": f"m{i}-{uuid.uuid4().hex[:6]}@example.com"} for i in range(count)]


# (attribute as the error names it, limit, body builder for a value of n characters/items)
USER_CASES: list[tuple[str, int, Callable[[int], dict[str, Any]]]] = [
    ("userName", 300, lambda n: {**_user(), "userName": "u" * n}),
    ("externalId", 300, lambda n: _user(externalId="x" * n)),
    ("displayName", 300, lambda n: _user(displayName="d" * n)),
    ("name.givenName", 128, lambda n: _user(name={"givenName": "g" * n})),
    ("name.familyName", 128, lambda n: _user(name={"familyName": "f" * n})),
    (
        "name",
        128,
        lambda n: _user(name={"givenName": "g" * n, "familyName": "f" * n}, displayName=None),
    ),
    ("emails[0].value", 254, lambda n: _user(emails=[{"value": _email(n), "primary": True}])),
    ("emails[0].type", 100, lambda n: _user(emails=[{"value": _email(30), "type": "t" * n}])),
    ("title", 300, lambda n: _user(title="t" * n)),
    ("emails", 50, lambda n: _user(emails=_emails(n))),
    (
        "phoneNumbers",
        50,
        lambda n: _user(phoneNumbers=[{"value": f"+1 555 {i}"} for i in range(n)]),
    ),
]


@pytest.mark.parametrize(
    ("attribute", "limit", "build"), USER_CASES, ids=[c[0] for c in USER_CASES]
)
def test_user_attribute_boundaries(scim, attribute, limit, build) -> None:
    ok = scim.post("/Users", build(limit))
    assert ok.status_code == 201, ok.get_json()
    too_long = scim.post("/Users", build(limit + 1))
    _assert_limit_error(too_long, attribute.partition(".")[0].partition("[")[0], limit)


def test_group_display_name_boundary(scim) -> None:
    ok = scim.post("/Groups", {"schemas": [GROUP], "displayName": "g" * 300})
    assert ok.status_code == 201, ok.get_json()
    _assert_limit_error(
        scim.post("/Groups", {"schemas": [GROUP], "displayName": "h" * 301}), "displayName", 300
    )


def test_patch_and_put_are_held_to_the_same_limits(scim) -> None:
    user = scim.create_user()
    path = f"/Users/{user['id']}"
    ok = scim.patch(path, [{"op": "replace", "path": "title", "value": "t" * 300}])
    assert ok.status_code == 200, ok.get_json()
    refused = scim.patch(path, [{"op": "replace", "path": "title", "value": "t" * 301}])
    _assert_limit_error(refused, "title", 300)
    body = {"schemas": [USER], "userName": user["userName"], "displayName": "d" * 301}
    _assert_limit_error(scim.put(path, body), "displayName", 300)


def test_a_ten_megabyte_title_is_refused(scim) -> None:
    response = scim.post("/Users", _user(title="t" * (10 * 1024 * 1024)))
    _assert_limit_error(response, "title", 300)


def test_a_user_document_is_capped_in_bytes(scim) -> None:
    """Each value within its limit, the whole document past maxResourceBytes (128 KiB)."""
    entitlements = [{"value": "v" * 290, "display": "d" * 290} for _ in range(200)]
    response = scim.post("/Users", _user(entitlements=entitlements, roles=entitlements[:50]))
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert "131072" in response.get_json()["detail"]


def test_limits_are_advertised_at_schemas(scim) -> None:
    doc = scim.get(f"/Schemas/{USER}").get_json()
    by_name = {a["name"]: a for a in doc["attributes"]}
    assert by_name["userName"]["maxLength"] == 300
    assert by_name["emails"]["maxItems"] == 50
    resource_type = scim.get("/ResourceTypes/User").get_json()
    assert resource_type["maxResourceBytes"] == 131072


# Management API: (method, path template, body builder, field, limit)
def _org_path(admin: Any, suffix: str = "") -> str:
    return f"/organizations/{admin.org_id}{suffix}"


@pytest.mark.parametrize(
    ("field", "limit", "call"),
    [
        (
            "name",
            100,
            lambda a, n, s: a.call("POST", _org_path(a, "/sites"), {"name": s * n}, "key"),
        ),
        (
            "name",
            100,
            lambda a, n, s: a.call("POST", _org_path(a, "/roles"), {"name": s * n}, "key"),
        ),
        ("name", 100, lambda a, n, s: a.call("PATCH", _org_path(a), {"name": s * n}, "key")),
        (
            "email",
            320,
            lambda a, n, s: a.call(
                "POST", _org_path(a, "/invitations"), {"email": _email(n).replace("e", s)}, "key"
            ),
        ),
    ],
    ids=["site name", "role name", "organisation name", "invitation email"],
)
def test_management_field_boundaries(platform, field, limit, call) -> None:
    ok = call(platform, limit, "a")
    assert ok.status_code < 500, ok.get_json()
    if field != "email":  # a 320-character address is refused by the email rules (422)
        assert ok.status_code < 400, ok.get_json()
    refused = call(platform, limit + 1, "b")
    assert refused.status_code == 400, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "validation_error"
    assert f"'{field}'" in error["message"] and str(limit) in error["message"]


def test_disable_reason_boundary(scim, platform) -> None:
    first = scim.create_user()[PRODUCT]["userId"]
    second = scim.create_user()[PRODUCT]["userId"]
    assert platform.disable(first, reason="r" * 2000, acting="key").status_code < 400
    refused = platform.disable(second, reason="r" * 2001, acting="key")
    assert refused.status_code == 400
    assert "'reason'" in refused.get_json()["error"]["message"]


def _assert_limit_error(response: Any, attribute: str, limit: int) -> None:
    assert response.status_code == 400, (response.status_code, response.get_json())
    body = response.get_json()
    assert body["scimType"] == "invalidValue", body
    assert attribute in body["detail"] and str(limit) in body["detail"], body["detail"]
