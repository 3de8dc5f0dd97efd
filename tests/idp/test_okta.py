"""Okta's provisioning traffic replayed (docs/idp-dialects.md §1, Okta SCIM 2.0 reference)."""

from __future__ import annotations

import pytest

from tests.idp_samples import sample
from tests.scim_client import LIST
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error

OKTA_USER = sample("okta-create-user")


@pytest.fixture
def okta(client, org) -> Scim:
    return Scim(client, org.token)


def test_connection_test_and_import_paging(okta):
    okta.create_user()
    body = okta.get("/Users", query_string={"startIndex": 1, "count": 2}).get_json()
    assert body["schemas"] == [LIST]
    assert all(isinstance(body[k], int) for k in ("totalResults", "startIndex", "itemsPerPage"))
    groups = okta.get("/Groups", query_string={"startIndex": 1, "count": 100})
    assert groups.status_code == 200 and groups.get_json()["Resources"] == []


def test_lookup_create_duplicate_and_password_never_returned(client, okta):
    lookup = client.get(
        "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        headers=okta.headers,
    )
    assert lookup.status_code == 200 and lookup.get_json()["totalResults"] == 0
    created = okta.post("/Users", OKTA_USER)
    assert created.status_code == 201
    body = created.get_json()
    assert "password" not in body and body["active"] is True
    assert body["name"] == {"givenName": "Test", "familyName": "User"}
    assert_scim_error(okta.post("/Users", OKTA_USER), 409, "uniqueness")


def test_update_is_get_then_full_put_with_read_only_fields(okta):
    created = okta.post("/Users", OKTA_USER).get_json()
    current = okta.get(f"/Users/{created['id']}").get_json()
    current["name"]["givenName"] = "Changed"
    current["groups"] = []
    response = okta.put(f"/Users/{created['id']}", current)
    assert response.status_code == 200
    assert response.get_json()["name"]["givenName"] == "Changed"
    assert response.get_json()["id"] == created["id"]


def test_deactivate_and_reactivate_with_path_less_patch(okta):
    created = okta.post("/Users", OKTA_USER).get_json()
    off = okta.request("PATCH", f"/Users/{created['id']}", sample("okta-patch-deactivate"))
    assert off.status_code == 200 and off.get_json()["active"] is False
    found = okta.filter_users('userName eq "test.user@okta.local"')
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    on = okta.request("PATCH", f"/Users/{created['id']}", sample("okta-patch-reactivate"))
    assert on.get_json()["active"] is True


def test_deactivate_through_put_for_aiw_apps(okta):
    created = okta.post("/Users", OKTA_USER).get_json()
    body = {**OKTA_USER, "id": created["id"], "active": False}
    assert okta.put(f"/Users/{created['id']}", body).get_json()["active"] is False


def test_group_push_lookup_create_rename_and_members(client, okta):
    alice = okta.create_user()["id"]
    bob = okta.create_user()["id"]
    lookup = client.get(
        "/scim/v2/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100",
        headers=okta.headers,
    )
    assert lookup.get_json()["totalResults"] == 0
    group = okta.post("/Groups", sample("okta-create-group")).get_json()
    rename = okta.request(
        "PATCH",
        f"/Groups/{group['id']}",
        sample("okta-patch-group-rename", group=group["id"], display_name="Test SCIMv2 renamed"),
    )
    assert rename.status_code in (200, 204)
    members = okta.request(
        "PATCH",
        f"/Groups/{group['id']}",
        sample(
            "okta-patch-group-members",
            removed=alice,
            first=alice,
            first_display="alice",
            second=bob,
            second_display="bob",
        ),
    )
    assert members.status_code == 204
    body = okta.get(f"/Groups/{group['id']}").get_json()
    assert body["displayName"] == "Test SCIMv2 renamed"
    assert sorted(m["value"] for m in body["members"]) == sorted([alice, bob])
    okta.patch(
        f"/Groups/{group['id']}", [{"op": "replace", "path": "members", "value": [{"value": bob}]}]
    )
    assert [m["value"] for m in okta.get(f"/Groups/{group['id']}").get_json()["members"]] == [bob]
    assert okta.delete(f"/Groups/{group['id']}").status_code == 204


def test_spec_test_unknown_id_and_bare_filter(okta):
    body = assert_scim_error(okta.get("/Users/010101001010101011001010101011"), 404)
    assert body["detail"]
    assert_scim_error(
        okta.get("/Users", query_string={"filter": "RANDOMUSERNAMECAPS"}), 400, "invalidFilter"
    )
