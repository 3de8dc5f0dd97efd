"""Every bad input gets its RFC 7644 §3.12 error, and nothing is half written."""

from __future__ import annotations

import json

import pytest

from tests.scim_client import GROUP
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error


def test_malformed_json_is_invalid_syntax(scim):
    assert_scim_error(scim.post("/Users", '{"schemas": ['), 400, "invalidSyntax")


def test_non_object_body_is_invalid_syntax(scim):
    assert_scim_error(scim.post("/Users", "[1, 2]"), 400, "invalidSyntax")


def test_missing_or_wrong_schemas_is_invalid_syntax(scim):
    assert_scim_error(scim.post("/Users", {"userName": "x@example.com"}), 400, "invalidSyntax")
    assert_scim_error(
        scim.post("/Users", {"schemas": [GROUP], "userName": "x@example.com"}), 400, "invalidSyntax"
    )


def test_unknown_attribute_is_invalid_syntax_naming_it(scim):
    body = assert_scim_error(
        scim.post(
            "/Users", {"schemas": [USER], "userName": "u@example.com", "favouriteColour": "red"}
        ),
        400,
        "invalidSyntax",
    )
    assert "favouriteColour" in body["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"userName": 42},
        {"userName": "u@example.com", "active": "maybe"},
        {"userName": "u@example.com", "emails": "u@example.com"},
        {"userName": "u@example.com", "name": "Bob"},
        {"userName": ""},
        {},
    ],
)
def test_wrong_types_and_missing_required_are_invalid_value(scim, body):
    response = scim.post("/Users", {"schemas": [USER], **body})
    assert_scim_error(response, 400, "invalidValue")
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_read_only_attributes_in_a_create_body_are_ignored(scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "ro@example.com",
            "meta": {"resourceType": "User"},
            "groups": [],
            PRODUCT: {"adminDisabled": True},
        },
    )
    assert response.status_code == 201
    assert response.get_json()[PRODUCT]["adminDisabled"] is False


def test_patch_of_read_only_attribute_is_mutability(scim):
    created = scim.create_user()
    response = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "replace", "path": f"{PRODUCT}:adminDisabled", "value": True}],
    )
    assert_scim_error(response, 400, "mutability")


def test_remove_without_path_is_no_target(scim):
    created = scim.create_user()
    assert_scim_error(scim.patch(f"/Users/{created['id']}", [{"op": "remove"}]), 400, "noTarget")


def test_bad_path_is_invalid_path(scim):
    created = scim.create_user()
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": "nosuch.thing", "value": "x"}]
    )
    assert_scim_error(response, 400, "invalidPath")


def test_patch_is_atomic(scim):
    created = scim.create_user("atomic@example.com", displayName="Before")
    response = scim.patch(
        f"/Users/{created['id']}",
        [
            {"op": "replace", "path": "displayName", "value": "After"},
            {"op": "replace", "path": "active", "value": "sometimes"},
        ],
    )
    assert_scim_error(response, 400, "invalidValue")
    body = scim.get(f"/Users/{created['id']}").get_json()
    assert body["displayName"] == "Before"
    assert body["meta"]["version"] == created["meta"]["version"]


def test_patch_without_operations_is_invalid_syntax(scim):
    created = scim.create_user()
    response = scim.request(
        "PATCH",
        f"/Users/{created['id']}",
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_oversized_body_is_413(client, org):
    big = json.dumps({"schemas": [USER], "userName": "x" * (17 * 1024 * 1024)})
    response = client.post(
        "/scim/v2/Users",
        data=big,
        headers={"Authorization": f"Bearer {org.token}", "Content-Type": "application/scim+json"},
    )
    assert_scim_error(response, 413)


def test_unsupported_content_type_is_rejected(scim):
    response = scim.post("/Users", "userName=x", headers={"Content-Type": "text/plain"})
    assert_scim_error(response, 400, "invalidSyntax")


def test_bad_paging_and_sorting_parameters(scim):
    assert_scim_error(scim.get("/Users", query_string={"startIndex": "one"}), 400, "invalidValue")
    assert_scim_error(
        scim.get("/Users", query_string={"sortOrder": "sideways"}), 400, "invalidValue"
    )
    assert_scim_error(scim.get("/Users", query_string={"sortBy": "nosuch"}), 400, "invalidValue")


def test_unknown_endpoint_and_method(scim):
    assert_scim_error(scim.get("/Nope"), 404)
    assert_scim_error(scim.post("/ServiceProviderConfig", {}), 405)


def test_unexpected_errors_are_500_without_traceback(app, client, org, monkeypatch):
    from scim_server.services.directory import users

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(users, "read_user", boom)
    response = Scim(client, org.token).get("/Users/x")
    body = assert_scim_error(response, 500)
    assert "secret internals" not in body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
