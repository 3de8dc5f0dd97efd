"""/Users through HTTP: RFC 7644 §3 and the lifecycle rows SCIM can reach."""

from __future__ import annotations

import pytest

from tests.scim_client import ENTERPRISE
from tests.scim_client import LIST
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error


def test_create_returns_201_with_location_equal_to_meta_location(scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "bjensen@example.com",
            "externalId": "ext-1",
            "password": "t1meMa$heen",
            "groups": [],
            "id": "client-chosen",
        },
    )
    body = response.get_json()
    assert response.status_code == 201
    assert response.mimetype == "application/scim+json"
    assert response.headers["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    assert body["id"] != "client-chosen"
    assert response.headers["ETag"] == body["meta"]["version"]
    assert body["active"] is True
    assert "password" not in body
    assert body[PRODUCT]["effectiveAccess"] is True
    assert body[PRODUCT]["adminDisabled"] is False


def test_get_returns_what_was_created(scim):
    created = scim.create_user(
        "read.back@example.com",
        displayName="Read Back",
        **{ENTERPRISE: {"employeeNumber": "42", "manager": {"value": "m-1"}}},
    )
    body = scim.get(f"/Users/{created['id']}").get_json()
    assert body["userName"] == "read.back@example.com"
    assert body["displayName"] == "Read Back"
    assert body[ENTERPRISE] == {"employeeNumber": "42", "manager": {"value": "m-1"}}
    assert ENTERPRISE in body["schemas"]
    assert body["emails"] == [{"value": "read.back@example.com", "type": "work", "primary": True}]


def test_unknown_id_is_404(scim):
    assert_scim_error(scim.get("/Users/00919288221112222"), 404)


def test_duplicate_user_name_in_any_case_is_409_naming_the_holder(scim):
    first = scim.create_user("Dup.User@example.com")
    response = scim.post("/Users", {"schemas": [USER], "userName": "dup.user@EXAMPLE.com"})
    body = assert_scim_error(response, 409, "uniqueness")
    assert first["id"] in body["detail"]


def test_duplicate_external_id_is_409(scim):
    scim.create_user("a1@example.com", externalId="same")
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "a2@example.com", "externalId": "same"}
    )
    assert_scim_error(response, 409, "uniqueness")


def test_filter_user_name_is_case_insensitive_and_no_match_is_empty_list(scim):
    created = scim.create_user("Case.Check@example.com")
    found = scim.filter_users('userName eq "CASE.CHECK@example.COM"')
    assert [r["id"] for r in found["Resources"]] == [created["id"]]
    empty = scim.filter_users('userName eq "nobody@example.com"', startIndex=1, count=100)
    assert empty == {
        "schemas": [LIST],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_filter_external_id_is_case_exact(scim):
    created = scim.create_user("ext@example.com", externalId="AbC")
    assert scim.filter_users('externalId eq "AbC"')["totalResults"] == 1
    assert scim.filter_users('externalId eq "abc"')["totalResults"] == 0
    assert scim.filter_users('externalId eq "AbC"')["Resources"][0]["id"] == created["id"]


def test_put_replaces_attributes_and_without_active_keeps_the_directory_state(scim):
    created = scim.create_user("put@example.com", displayName="Before")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    response = scim.put(
        f"/Users/{created['id']}",
        {"schemas": [USER], "userName": "put@example.com", "displayName": "After"},
    )
    body = response.get_json()
    assert response.status_code == 200
    assert body["displayName"] == "After"
    assert "name" not in body  # PUT replaced: omitted attributes are cleared
    assert body["active"] is False  # row U6: a PUT without active never flips access


def test_put_unknown_id_is_404_and_creates_nothing(scim):
    response = scim.put("/Users/does-not-exist", {"schemas": [USER], "userName": "x@example.com"})
    assert_scim_error(response, 404)
    assert scim.filter_users('userName eq "x@example.com"')["totalResults"] == 0


def test_deactivate_keeps_the_user_readable_and_filterable(scim):
    created = scim.create_user("leaver@example.com")
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "value": {"active": False}}]
    )
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    body = scim.get(f"/Users/{created['id']}").get_json()
    assert body["active"] is False
    assert body[PRODUCT]["effectiveAccess"] is False
    assert scim.filter_users('userName eq "leaver@example.com"')["totalResults"] == 1
    assert scim.filter_users("active eq false")["totalResults"] == 1


def test_reactivate_restores_access(scim):
    created = scim.create_user("back@example.com", active=False)
    assert created["active"] is False
    body = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}]
    ).get_json()
    assert body["active"] is True
    assert body[PRODUCT]["effectiveAccess"] is True


def test_delete_then_404_everywhere_and_second_delete_is_404(scim):
    created = scim.create_user("gone@example.com")
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)
    assert_scim_error(
        scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}]),
        404,
    )
    assert scim.filter_users('userName eq "gone@example.com"')["totalResults"] == 0
    assert_scim_error(scim.delete(f"/Users/{created['id']}"), 404)


def test_re_add_after_delete_gets_a_new_id_on_the_same_person(scim):
    created = scim.create_user("again@example.com", externalId="e-again")
    scim.delete(f"/Users/{created['id']}")
    again = scim.create_user("again@example.com", externalId="e-again")
    assert again["id"] != created["id"]
    assert again[PRODUCT]["userId"] == created[PRODUCT]["userId"]
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)


def test_re_add_conflicting_tombstones_is_409(scim):
    a = scim.create_user("a@example.com", externalId="ext-a")
    b = scim.create_user("b@example.com", externalId="ext-b")
    scim.delete(f"/Users/{a['id']}")
    scim.delete(f"/Users/{b['id']}")
    response = scim.post(
        "/Users", {"schemas": [USER], "userName": "b@example.com", "externalId": "ext-a"}
    )
    assert_scim_error(response, 409, "uniqueness")


def test_organizations_never_see_each_other(client, org, other_org):
    mine, theirs = Scim(client, org.token), Scim(client, other_org.token)
    created = mine.create_user("shared.name@example.com")
    assert_scim_error(theirs.get(f"/Users/{created['id']}"), 404)
    assert_scim_error(theirs.delete(f"/Users/{created['id']}"), 404)
    assert theirs.filter_users('userName eq "shared.name@example.com"')["totalResults"] == 0
    # the same userName is free in another organisation's directory
    assert (
        theirs.post("/Users", {"schemas": [USER], "userName": "other@example.com"}).status_code
        == 201
    )


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_missing_or_bad_token_is_401_with_www_authenticate(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/scim/v2/Users", headers=headers)
    assert_scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_etags_if_match_and_if_none_match(scim):
    created = scim.create_user("etag@example.com")
    version = created["meta"]["version"]
    assert (
        scim.get(f"/Users/{created['id']}", headers={"If-None-Match": version}).status_code == 304
    )
    stale = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "replace", "path": "displayName", "value": "x"}],
        headers={"If-Match": 'W/"999"'},
    )
    assert_scim_error(stale, 412)
    ok = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "replace", "path": "displayName", "value": "x"}],
        headers={"If-Match": version},
    )
    assert ok.status_code == 200
    assert ok.get_json()["meta"]["version"] != version
    assert (
        scim.get(f"/Users/{created['id']}", headers={"If-None-Match": version}).status_code == 200
    )


def test_attributes_and_excluded_attributes(scim):
    created = scim.create_user("proj@example.com", displayName="Proj")
    only = scim.get(
        f"/Users/{created['id']}", query_string={"attributes": "userName,name.givenName"}
    ).get_json()
    assert set(only) == {"schemas", "id", "userName", "name"}
    assert only["name"] == {"givenName": "Given"}
    without = scim.get(
        f"/Users/{created['id']}", query_string={"excludedAttributes": "emails,meta"}
    ).get_json()
    assert "emails" not in without and "meta" not in without
    assert without["id"] == created["id"] and without["displayName"] == "Proj"
    listed = scim.filter_users('userName eq "proj@example.com"', attributes="id")
    assert listed["Resources"] == [
        {"schemas": listed["Resources"][0]["schemas"], "id": created["id"]}
    ]


def test_pagination_is_stable_and_exact(scim):
    ids = {scim.create_user(f"page{i}@example.com")["id"] for i in range(7)}
    seen = []
    for start in (1, 3, 5, 7):
        page = scim.filter_users('userName sw "page"', startIndex=start, count=2)
        assert page["totalResults"] == 7
        assert page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        seen.extend(r["id"] for r in page["Resources"])
    assert sorted(seen) == sorted(ids)
    assert scim.filter_users('userName sw "page"', startIndex=0, count=1)["startIndex"] == 1
    counted = scim.filter_users('userName sw "page"', count=0)
    assert counted["totalResults"] == 7 and counted["Resources"] == []


def test_sort_by_user_name_descending(scim):
    for name in ("b", "c", "a"):
        scim.create_user(f"sort-{name}@example.com")
    body = scim.filter_users('userName sw "sort-"', sortBy="userName", sortOrder="descending")
    assert [r["userName"] for r in body["Resources"]] == [
        "sort-c@example.com",
        "sort-b@example.com",
        "sort-a@example.com",
    ]


def test_search_endpoint_takes_the_query_in_the_body(scim):
    created = scim.create_user("searched@example.com")
    response = scim.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "searched@example.com"',
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        },
    )
    body = response.get_json()
    assert response.status_code == 200
    assert body["totalResults"] == 1
    assert body["Resources"][0] == {
        "schemas": body["Resources"][0]["schemas"],
        "id": created["id"],
        "userName": "searched@example.com",
    }
