"""Defects an independent review found, each kept as a regression test."""

from __future__ import annotations

import pytest

from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import Scim
from tests.scim_client import assert_api_error
from tests.scim_client import assert_scim_error


def test_a_pending_link_does_not_show_another_orgs_directory_data(client, other_org, scim, admin):
    Scim(client, other_org.token).create_user("carol@a.com", displayName="Carol Secret")
    created = scim.create_user("carol@a.com")
    assert created[PRODUCT]["linkPending"] is True
    # Its own directory's name (docs/lifecycle.md §9), never the other organisation's.
    assert admin.member(created[PRODUCT]["userId"])["name"] == "Given Family"


def test_a_reconnected_directory_lists_the_members_it_left_behind(client, scim, admin, org):
    kept = scim.create_user("fay@c.com")
    admin.call("POST", f"/organizations/{org.id}/directory/disconnect", {"confirm": True})
    from scim_server.services.organizations import tokens as token_service  # the CLI's
    from scim_server.storage.models import Organization
    from tests.conftest import PEPPER

    db = client.application.extensions["scim_sessionmaker"]()
    issued = token_service.create_token(
        db, db.get(Organization, org.id), "scim", pepper=PEPPER, actor=token_service.Actor.system()
    )
    db.commit()
    again = Scim(client, issued.secret)
    found = again.filter_users('userName eq "fay@c.com"')
    assert found["totalResults"] == 1
    assert found["Resources"][0][PRODUCT]["userId"] == kept[PRODUCT]["userId"]


def test_a_users_etag_changes_when_its_groups_change(scim):
    user = scim.create_user()
    group = scim.create_group()
    scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
    )
    response = scim.get(f"/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert response.status_code == 200
    assert response.get_json()["groups"][0]["value"] == group["id"]
    after_add = response.get_json()["meta"]["version"]
    scim.delete(f"/Groups/{group['id']}")
    assert scim.get(f"/Users/{user['id']}").get_json()["meta"]["version"] != after_add


@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_a_start_index_past_every_directory_is_an_empty_page(scim, path):
    body = scim.get(path, query_string={"startIndex": "99999999999999999999"}).get_json()
    assert body["Resources"] == [] and body["startIndex"] == 2**31 - 1


@pytest.mark.parametrize("query", ["limit=%C2%B2", "after=%C2%B2", "after=99999999999999999999"])
def test_odd_numbers_in_management_queries_are_400(client, admin, org, query):
    response = admin.call("GET", f"/organizations/{org.id}/events?{query}")
    assert response.status_code == 400, response.get_json()


def test_deeply_nested_json_is_invalid_syntax(client, org):
    deep = "[" * 100_000 + "]" * 100_000
    assert_scim_error(Scim(client, org.token).post("/Users", deep), 400, "invalidSyntax")
    assert_api_error(_post_role(client, org, deep), 400, "invalid_json")


def _post_role(client, org, raw: str):
    """POST a raw body to the management API (a route that takes a JSON object)."""
    return client.post(
        f"/api/v1/organizations/{org.id}/roles",
        data=raw,
        headers={
            "Authorization": f"Bearer {org.management_key}",
            "Content-Type": "application/json",
        },
    )


def _nested(depth: int) -> str:
    value = "1"
    for _ in range(depth):
        value = '{"a":' + value + "}"
    return value


@pytest.mark.parametrize("depth", [33, 400, 900])
def test_json_nested_below_the_parsers_limit_is_invalid_syntax_too(client, org, depth):
    """A few hundred levels parse, then overflowed Python's stack in the next walker (a
    copy, the validation, Bulk's references): a 500. Every route refuses them up front."""
    scim = Scim(client, org.token)
    user_id = scim.create_user()["id"]
    deep = _nested(depth)
    bodies = {
        "POST /Users": ("POST", "/Users", f'{{"schemas":["{USER}"],"userName":"d","name":{deep}}}'),
        "PATCH /Users": (
            "PATCH",
            f"/Users/{user_id}",
            '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],'
            f'"Operations":[{{"op":"add","value":{deep}}}]}}',
        ),
        "POST /Bulk": (
            "POST",
            "/Bulk",
            '{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],'
            f'"Operations":[{{"method":"POST","path":"/Users","bulkId":"b","data":{deep}}}]}}',
        ),
    }
    for method, path, body in bodies.values():
        response = scim.request(method, path, body)
        assert_scim_error(response, 400, "invalidSyntax")
        assert "nests deeper than 32" in response.get_json()["detail"]
    assert_api_error(_post_role(client, org, deep), 400, "invalid_json")
    assert scim.get(f"/Users/{user_id}").get_json()["name"]["givenName"] == "Given"


def test_a_bulk_patch_of_a_complex_attribute_is_not_too_deep(client, org):
    """The deepest thing an IdP sends (8 levels) stays well inside the limit."""
    scim = Scim(client, org.token)
    user_id = scim.create_user()["id"]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "value": {"addresses": [{"type": "work", "locality": "X"}]}}],
    }
    bulk = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "PATCH", "path": f"/Users/{user_id}", "data": patch}],
    }
    response = scim.post("/Bulk", bulk)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["Operations"][0]["status"] == "200"
    assert scim.get(f"/Users/{user_id}").get_json()["addresses"][0]["locality"] == "X"


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": "active", "value": None},
        {"op": "remove", "path": "active"},
        {"op": "replace", "value": {"active": None}},
    ],
)
def test_active_cannot_be_cleared(scim, op):
    user = scim.create_user()
    assert_scim_error(scim.patch(f"/Users/{user['id']}", [op]), 400, "invalidValue")
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is True


def test_two_primary_emails_are_refused(scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "two@example.com",
            "emails": [
                {"value": "a@example.com", "primary": True},
                {"value": "b@example.com", "primary": True},
            ],
        },
    )
    assert_scim_error(response, 400, "invalidValue")


def test_a_fractional_start_index_in_a_search_is_refused(scim):
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "startIndex": 1.5}
    assert_scim_error(scim.post("/Users/.search", search), 400, "invalidValue")


@pytest.mark.parametrize("path", ["/api/v1/sessions", "/api/v1/sessions/anything"])
def test_options_on_platform_only_routes_is_not_a_500(client, path):
    """Found by schemathesis: the platform check ran on unauthenticated preflights."""
    assert client.options(path).status_code == 200


def test_brackets_inside_strings_do_not_count_as_nesting(client, org):
    """Only structure nests: brackets and escaped quotes in a string are text."""
    scim = Scim(client, org.token)
    text = "[" * 20 + "{" * 20 + '"' + "}" * 20 + "]" * 20  # 40 levels, were it structure
    user = scim.create_user(displayName=text)
    assert user["displayName"] == text
