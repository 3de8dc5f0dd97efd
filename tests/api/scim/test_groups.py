"""/Groups: members are rows, member changes are set-based, PATCH answers 204."""

from __future__ import annotations

import pytest

from tests.scim_client import GROUP
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error
from tests.sql_statements import statements_during


def member_ids(scim, group_id):
    body = scim.get(f"/Groups/{group_id}").get_json()
    return sorted(m["value"] for m in body.get("members", []))


def test_create_with_members_and_read_back(scim):
    alice, bob = scim.create_user()["id"], scim.create_user()["id"]
    group = scim.create_group("Engineering", members=[alice, bob])
    assert group["displayName"] == "Engineering"
    assert sorted(m["value"] for m in group["members"]) == sorted([alice, bob])
    member = next(m for m in group["members"] if m["value"] == alice)
    assert member["type"] == "User"
    assert member["$ref"].endswith(f"/Users/{alice}")
    user = scim.get(f"/Users/{alice}").get_json()
    assert user["groups"] == [
        {
            "value": group["id"],
            "$ref": group["meta"]["location"],
            "display": "Engineering",
            "type": "direct",
        }
    ]


def test_a_users_groups_are_by_name_in_a_get_and_in_a_list_page(scim):
    """GET and list pages read a user's groups with the user's row (one statement):
    each user gets their own, by displayName, and a user in none shows none."""
    alice, bob, carol = (scim.create_user()["id"] for _ in range(3))
    zeta = scim.create_group("Zeta", members=[alice])
    alpha = scim.create_group("alpha", members=[alice, bob])
    beta = scim.create_group("Beta", members=[alice])
    by_name = [beta["id"], zeta["id"], alpha["id"]]  # code point order: upper case first
    got = scim.get(f"/Users/{alice}").get_json()
    assert [g["value"] for g in got["groups"]] == by_name
    assert [g["display"] for g in got["groups"]] == ["Beta", "Zeta", "alpha"]
    page = scim.get("/Users", query_string={"filter": "userName pr", "count": 10}).get_json()
    groups = {u["id"]: [g["value"] for g in u.get("groups", [])] for u in page["Resources"]}
    assert groups == {alice: by_name, bob: [alpha["id"]], carol: []}
    assert "groups" not in scim.get(f"/Users/{carol}").get_json()
    trimmed = scim.get(f"/Users/{alice}", query_string={"excludedAttributes": "groups"})
    assert "groups" not in trimmed.get_json()
    # A PATCH's and a PUT's answer read the groups with the locked row.
    patched = scim.patch(f"/Users/{alice}", [{"op": "replace", "path": "active", "value": False}])
    assert [g["value"] for g in patched.get_json()["groups"]] == by_name
    put = dict(got, active=True)
    put.pop("groups")
    replaced = scim.put(f"/Users/{alice}", put)
    assert replaced.status_code == 200, replaced.get_json()
    assert [g["display"] for g in replaced.get_json()["groups"]] == ["Beta", "Zeta", "alpha"]
    assert (
        "groups"
        not in scim.patch(
            f"/Users/{carol}", [{"op": "replace", "path": "title", "value": "x"}]
        ).get_json()
    )


def test_excluded_members_are_not_returned(scim):
    alice = scim.create_user()["id"]
    group = scim.create_group("Quiet", members=[alice])
    body = scim.get(
        f"/Groups/{group['id']}", query_string={"excludedAttributes": "members"}
    ).get_json()
    assert "members" not in body and body["displayName"] == "Quiet"
    listed = scim.get(
        "/Groups",
        query_string={"filter": 'displayName eq "quiet"', "excludedAttributes": "members"},
    ).get_json()
    assert listed["totalResults"] == 1 and "members" not in listed["Resources"][0]


def test_duplicate_display_name_in_any_case_is_409(scim):
    scim.create_group("Sales")
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "SALES"})
    assert_scim_error(response, 409, "uniqueness")


def test_patch_add_and_remove_member_answers_204(scim):
    alice, bob = scim.create_user()["id"], scim.create_user()["id"]
    group = scim.create_group(members=[alice])
    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "add", "path": "members", "value": [{"value": bob}]},
            {"op": "remove", "path": f'members[value eq "{alice}"]'},
        ],
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert member_ids(scim, group["id"]) == [bob]


def test_patch_with_attributes_answers_200_projected(scim):
    alice = scim.create_user()["id"]
    group = scim.create_group()
    response = scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": alice}]}],
        query_string={"excludedAttributes": "members"},
    )
    assert response.status_code == 200
    assert "members" not in response.get_json()
    assert response.get_json()["id"] == group["id"]


def test_adding_an_existing_member_is_no_change(scim):
    alice = scim.create_user()["id"]
    group = scim.create_group(members=[alice])
    scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": alice}]}]
    )
    after = scim.get(f"/Groups/{group['id']}").get_json()
    assert after["meta"]["version"] == group["meta"]["version"]
    assert member_ids(scim, group["id"]) == [alice]


def test_unknown_member_is_400_and_nothing_changes(scim):
    alice = scim.create_user()["id"]
    group = scim.create_group(members=[alice])
    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "remove", "path": f'members[value eq "{alice}"]'},
            {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]},
        ],
    )
    body = assert_scim_error(response, 400, "invalidValue")
    assert "no-such-user" in body["detail"]
    assert member_ids(scim, group["id"]) == [alice]


def test_replace_members_and_rename(scim):
    a, b, c = (scim.create_user()["id"] for _ in range(3))
    group = scim.create_group("Old", members=[a, b])
    scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]},
            {"op": "replace", "path": "displayName", "value": "New"},
        ],
    )
    body = scim.get(f"/Groups/{group['id']}").get_json()
    assert body["displayName"] == "New"
    assert sorted(m["value"] for m in body["members"]) == sorted([b, c])


def test_put_without_members_keeps_them_and_empty_list_clears(scim):
    a = scim.create_user()["id"]
    group = scim.create_group("Keep", members=[a])
    scim.put(f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Kept"})
    assert member_ids(scim, group["id"]) == [a]
    scim.put(f"/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Kept", "members": []})
    assert member_ids(scim, group["id"]) == []


def test_delete_group_and_deleted_user_leaves_groups(scim):
    a, b = scim.create_user()["id"], scim.create_user()["id"]
    group = scim.create_group(members=[a, b])
    scim.delete(f"/Users/{a}")
    assert member_ids(scim, group["id"]) == [b]
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim.get(f"/Groups/{group['id']}"), 404)
    assert "groups" not in scim.get(f"/Users/{b}").get_json()


def test_nested_group_member(scim):
    inner = scim.create_group("Inner")
    outer = scim.create_group("Outer", members=[inner["id"]])
    assert outer["members"][0]["type"] == "Group"


def test_groups_of_another_organisation_are_404(client, org, other_org):
    group = Scim(client, org.token).create_group("Private")
    assert_scim_error(Scim(client, other_org.token).get(f"/Groups/{group['id']}"), 404)


@pytest.mark.parametrize("size", [3, 120])
def test_one_member_change_never_reads_the_member_list(scim, app, connection, size):
    members = [scim.create_user()["id"] for _ in range(size)]
    group = scim.create_group(members=members)
    newcomer = scim.create_user()["id"]

    def add_and_remove():
        assert (
            scim.patch(
                f"/Groups/{group['id']}",
                [
                    {"op": "add", "path": "members", "value": [{"value": newcomer}]},
                    {"op": "remove", "path": f'members[value eq "{members[0]}"]'},
                ],
            ).status_code
            == 204
        )

    statements = statements_during(connection, add_and_remove)
    reads = [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "group_members" in s.lower()
    ]
    assert reads == []  # members are never selected to change one
    assert len(statements) <= 16
