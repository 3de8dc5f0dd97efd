"""Unsupported is explicit: /Me is 501 (RFC 7644 §3.11) and a wrong method on a known
path is 405 with ``Allow``, never a 404 that reads like a typo."""

from __future__ import annotations

import pytest

from tests.scim_client import assert_scim_error

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@pytest.mark.parametrize("method", METHODS)
def test_me_is_not_implemented(scim, method):
    response = scim.request(method, "/Me", {"schemas": []} if method != "GET" else None)
    body = assert_scim_error(response, 501)
    assert "/Me is not supported" in body["detail"]


def test_me_needs_a_token_like_every_resource_endpoint(client):
    assert client.get("/scim/v2/Me").status_code == 401


@pytest.mark.parametrize("path", ["/Users/.search", "/Groups/.search", "/.search"])
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_search_endpoints_take_post_only(scim, path, method):
    response = scim.request(method, path)
    body = assert_scim_error(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    assert "GET" not in response.headers["Allow"].split(", ")
    assert body["detail"].endswith("use POST.")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/Users", {"GET", "POST"}),
        ("PUT", "/Groups", {"GET", "POST"}),
        ("POST", "/ServiceProviderConfig", {"GET"}),
    ],
)
def test_a_wrong_method_on_a_known_path_is_405_with_allow(scim, method, path, allowed):
    response = scim.request(method, path)
    assert_scim_error(response, 405)
    assert allowed <= set(response.headers["Allow"].split(", "))


def test_a_user_id_is_still_a_user_id(scim):
    user = scim.create_user()
    assert scim.get(f"/Users/{user['id']}").status_code == 200
    assert scim.get("/Users/no-such-id").status_code == 404
