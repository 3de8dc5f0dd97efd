"""POST /scim/v2/.search (RFC 7644 §3.4.3): Users and Groups in one filtered, sorted,
paged list, by startIndex or by cursor, compared with the per-type lists."""

from __future__ import annotations

import pytest

from tests.scim_client import GROUP
from tests.scim_client import USER
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def search(scim: Scim, **body) -> dict:
    response = scim.post("/.search", {"schemas": [SEARCH], **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def directory(scim: Scim) -> dict[str, list[dict]]:
    users = [scim.create_user(f"ada{i}@example.com", displayName=f"Ada {i}") for i in range(4)]
    users.append(scim.create_user("bob@example.com", displayName="Bob"))
    groups = [scim.create_group(name) for name in ("Admins", "Ada fans", "Builders")]
    return {"users": users, "groups": groups}


def test_an_unfiltered_search_lists_users_and_groups_with_their_schemas(scim, directory):
    body = search(scim, count=100)
    assert body["totalResults"] == 8 == len(body["Resources"])
    kinds = {r["meta"]["resourceType"] for r in body["Resources"]}
    assert kinds == {"User", "Group"}
    for resource in body["Resources"]:
        core = USER if resource["meta"]["resourceType"] == "User" else GROUP
        assert core in resource["schemas"]


def test_a_filter_on_a_shared_attribute_finds_both_kinds(scim, directory):
    body = search(scim, filter='displayName sw "Ada"', sortBy="displayName")
    names = [r["displayName"] for r in body["Resources"]]
    assert names == ["Ada 0", "Ada 1", "Ada 2", "Ada 3", "Ada fans"]
    assert body["totalResults"] == 5


def test_a_filter_on_a_user_attribute_finds_users_only(scim, directory):
    body = search(scim, filter='userName eq "bob@example.com"')
    assert [r["id"] for r in body["Resources"]] == [directory["users"][4]["id"]]
    assert body["totalResults"] == 1


def test_a_filter_nobody_understands_is_invalid_filter(scim, directory):
    response = scim.post("/.search", {"schemas": [SEARCH], "filter": 'nosuch eq "x"'})
    assert_scim_error(response, 400, "invalidFilter")
    broken = scim.post("/.search", {"schemas": [SEARCH], "filter": "userName eq bob"})
    assert "must be quoted" in assert_scim_error(broken, 400, "invalidFilter")["detail"]


def test_sorting_spans_both_kinds_and_index_paging_slices_it(scim, directory):
    everything = search(scim, sortBy="displayName", sortOrder="descending", count=100)
    names = [r["displayName"] for r in everything["Resources"]]
    assert names == sorted(names, key=str.lower, reverse=True)
    page = search(scim, sortBy="displayName", sortOrder="descending", startIndex=3, count=2)
    assert [r["displayName"] for r in page["Resources"]] == names[2:4]
    assert page["startIndex"] == 3 and page["totalResults"] == 8


def test_sorting_by_an_attribute_of_one_kind_puts_the_other_last(scim, directory):
    body = search(scim, sortBy="userName", count=100)
    kinds = [r["meta"]["resourceType"] for r in body["Resources"]]
    assert kinds == ["User"] * 5 + ["Group"] * 3
    refused = scim.post("/.search", {"schemas": [SEARCH], "sortBy": "nosuch"})
    assert_scim_error(refused, 400, "invalidValue")


@pytest.mark.parametrize("sort", [{}, {"sortBy": "displayName"}, {"sortBy": "meta.created"}])
def test_a_cursor_walk_over_the_root_matches_the_index_list(scim, directory, sort):
    truth = [r["id"] for r in search(scim, count=100, **sort)["Resources"]]
    found, token, pages = [], "", 0
    while True:
        body = search(scim, cursor=token, count=3, **sort)
        assert body["totalResults"] == 8 and "startIndex" not in body
        found += [r["id"] for r in body["Resources"]]
        pages += 1
        if "nextCursor" not in body:
            break
        token = body["nextCursor"]
    assert found == truth and pages == 3
    back = search(scim, cursor=body["previousCursor"], count=3, **sort)
    assert [r["id"] for r in back["Resources"]] == truth[3:6]


def test_a_root_cursor_is_not_a_users_cursor(scim, directory):
    token = search(scim, cursor="", count=2)["nextCursor"]
    response = scim.get("/Users", query_string={"cursor": token})
    assert_scim_error(response, 400, "invalidCursor")


def test_attributes_apply_to_each_kind(scim, directory):
    body = search(scim, attributes=["displayName"], count=100)
    for resource in body["Resources"]:
        assert set(resource) <= {"schemas", "id", "displayName"}, resource


def test_the_search_needs_a_token_and_a_search_request(client, scim):
    assert client.post("/scim/v2/.search", json={"schemas": [SEARCH]}).status_code == 401
    assert_scim_error(scim.post("/.search", {"filter": "x pr"}), 400, "invalidSyntax")
