"""Microsoft Entra ID's traffic replayed (docs/idp-dialects.md §2 and §5)."""

from __future__ import annotations

import uuid

import pytest

from tests.idp_samples import sample
from tests.scim_client import ENTERPRISE
from tests.scim_client import GROUP
from tests.scim_client import PRODUCT
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error


@pytest.fixture
def entra(client, org) -> Scim:
    return Scim(client, org.token)


def entra_user(n: str = "00aa") -> dict:
    """Entra's create body, with the ids and names of person ``n``."""
    body = sample("entra-create-user")
    body["externalId"] = f"0a21f0f2-{n}"
    body["userName"] = body["emails"][0]["value"] = f"Test_User_{n}@testuser.com"
    return body


def test_connection_test_with_a_random_guid_is_an_empty_list(entra):
    body = entra.filter_users(f'userName eq "{uuid.uuid4()}"')
    assert body["totalResults"] == 0 and body["Resources"] == []


def test_create_with_meta_and_roles_then_find_by_external_id(client, entra):
    created = entra.post("/Users", entra_user())
    assert created.status_code == 201
    found = client.get(
        "/scim/v2/Users?filter=externalId+eq+%220a21f0f2-00aa%22", headers=entra.headers
    ).get_json()
    assert [r["id"] for r in found["Resources"]] == [created.get_json()["id"]]
    different_case = entra.filter_users('userName eq "test_user_00AA@TESTUSER.com"')
    assert different_case["totalResults"] == 1


@pytest.mark.parametrize("value", ["False", "false", False])
def test_disable_with_capitalised_op_and_string_boolean(entra, value):
    user = entra.post("/Users", entra_user()).get_json()
    body = sample("entra-patch-replace-active-string-bool")
    body["Operations"][0]["value"] = value
    response = entra.request("PATCH", f"/Users/{user['id']}", body)
    assert response.status_code == 200
    assert entra.get(f"/Users/{user['id']}").get_json()["active"] is False


def test_add_op_on_active(entra):
    user = entra.post("/Users", entra_user()).get_json()
    entra.request("PATCH", f"/Users/{user['id']}", sample("entra-patch-add-active-string-bool"))
    assert entra.get(f"/Users/{user['id']}").get_json()["active"] is False


def test_periodic_active_true_patch_is_a_no_op(entra, db):
    from sqlalchemy import func
    from sqlalchemy import select

    from scim_server.storage.models import Event

    user = entra.post("/Users", entra_user()).get_json()
    events = db.scalar(select(func.count()).select_from(Event))
    response = entra.request(
        "PATCH", f"/Users/{user['id']}", sample("entra-patch-replace-active-string-true")
    )
    assert response.get_json()["meta"]["version"] == user["meta"]["version"]
    assert db.scalar(select(func.count()).select_from(Event)) == events


def test_default_client_attribute_replaces(entra):
    user = entra.post("/Users", entra_user()).get_json()
    response = entra.request(
        "PATCH", f"/Users/{user['id']}", sample("entra-patch-replace-attributes")
    )
    body = response.get_json()
    assert response.status_code == 200
    assert body["displayName"] == "Bjfe" and body["externalId"] == "ext-new"
    assert body["emails"][0]["value"] == "new@testuser.com"
    assert body["name"]["givenName"] == "Kkom" and body["name"]["familyName"] == "Unua"
    assert body[ENTERPRISE]["employeeNumber"] == "Aklq"
    assert (
        entra.filter_users('emails[type eq "work"].value eq "new@testuser.com"')["totalResults"]
        == 1
    )


def test_path_less_replace_with_dotted_and_urn_keys(entra):
    user = entra.post("/Users", entra_user()).get_json()
    response = entra.request(
        "PATCH", f"/Users/{user['id']}", sample("entra-patch-pathless-replace-path-keys")
    )
    body = response.get_json()
    assert body["name"]["givenName"] == "Kkom" and body["name"]["familyName"] == "Unua"
    assert body[ENTERPRISE]["employeeNumber"] == "Aklq" and body["displayName"] == "Bjfe"


@pytest.mark.parametrize(
    "shape",
    [
        lambda m: {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": m},
        lambda m: {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": m}},
        lambda m: {"op": "Add", "path": "manager", "value": [{"$ref": None, "value": m}]},
    ],
)
def test_manager_shapes_and_removal(entra, shape):
    boss = entra.post("/Users", entra_user("boss")).get_json()["id"]
    user = entra.post("/Users", entra_user()).get_json()
    body = entra.patch(f"/Users/{user['id']}", [shape(boss)]).get_json()
    assert body[ENTERPRISE]["manager"]["value"] == boss
    assert entra.filter_users(f'{ENTERPRISE}:manager.value eq "{boss}"')["totalResults"] == 1
    removed = entra.patch(
        f"/Users/{user['id']}", [{"op": "remove", "path": f"{ENTERPRISE}:manager"}]
    ).get_json()
    assert "manager" not in removed.get(ENTERPRISE, {})


def test_manager_as_bare_string_in_create_body(entra):
    body = entra_user()
    body[ENTERPRISE] = {"manager": "boss-id", "department": "Ops"}
    created = entra.post("/Users", body).get_json()
    assert created[ENTERPRISE]["manager"] == {"value": "boss-id"}


def test_legacy_member_removal_removes_only_the_listed_members(entra):
    a, b, c = (entra.post("/Users", entra_user(n)).get_json()["id"] for n in ("a", "b", "c"))
    group = entra.create_group("Legacy", members=[a, b, c])
    response = entra.request(
        "PATCH",
        f"/Groups/{group['id']}",
        sample("entra-patch-remove-members-legacy", first=a, second=b),
    )
    assert response.status_code == 204
    body = entra.get(f"/Groups/{group['id']}").get_json()
    assert [m["value"] for m in body["members"]] == [c]


def test_add_member_with_null_ref_and_add_then_remove_in_one_patch(entra):
    a, b = (entra.post("/Users", entra_user(n)).get_json()["id"] for n in ("a", "b"))
    group = entra.create_group("Both")
    entra.request(
        "PATCH", f"/Groups/{group['id']}", sample("entra-patch-add-member-null-ref", member=a)
    )
    entra.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "Add", "path": "members", "value": [{"value": b}]},
            {"op": "Remove", "path": f'members[value eq "{b}"]'},
        ],
    )
    body = entra.get(f"/Groups/{group['id']}").get_json()
    assert [m["value"] for m in body["members"]] == [a]


def test_group_reads_exclude_members_and_duplicates_are_409(client, entra):
    a = entra.post("/Users", entra_user()).get_json()["id"]
    group = entra.create_group("displayName", members=[a])
    found = client.get(
        "/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22DISPLAYNAME%22",
        headers=entra.headers,
    )
    resources = found.get_json()["Resources"]
    assert [g["id"] for g in resources] == [group["id"]] and "members" not in resources[0]
    assert_scim_error(
        entra.post("/Groups", {"schemas": [GROUP], "displayName": "displayname"}), 409, "uniqueness"
    )
    renamed = entra.patch(
        f"/Groups/{group['id']}", [{"op": "Replace", "path": "displayName", "value": "Renamed"}]
    )
    assert renamed.status_code == 204


def test_soft_delete_then_hard_delete(entra):
    user = entra.post("/Users", entra_user()).get_json()
    entra.request("PATCH", f"/Users/{user['id']}", sample("entra-patch-replace-active-string-bool"))
    soft = entra.get(f"/Users/{user['id']}")
    assert soft.status_code == 200 and soft.get_json()[PRODUCT]["effectiveAccess"] is False
    assert entra.delete(f"/Users/{user['id']}").status_code == 204
    assert_scim_error(entra.get(f"/Users/{user['id']}"), 404)
    assert_scim_error(entra.delete(f"/Users/{user['id']}"), 404)
    assert_scim_error(entra.delete(f"/Groups/{uuid.uuid4()}"), 404)


def test_multiple_ops_on_the_same_attribute(entra):
    user = entra.post("/Users", entra_user()).get_json()
    body = entra.patch(
        f"/Users/{user['id']}",
        [
            {"op": "Add", "path": "nickName", "value": "Babs"},
            {"op": "Replace", "path": "nickName", "value": "Barbie"},
        ],
    ).get_json()
    assert body["nickName"] == "Barbie"


def test_primary_string_boolean_in_filter_and_body(entra):
    body = entra_user()
    body["emails"][0]["primary"] = "True"
    created = entra.post("/Users", body).get_json()
    assert created["emails"][0]["primary"] is True
    assert entra.filter_users('emails[primary EQ "True"]')["totalResults"] == 1
