"""PATCH and PUT on extension schemas addressed by URN (RFC 7644 §3.5.2, §3.10).

scim2-tester sends ``"path": "urn:…:enterprise:2.0:User"`` with an object of the
extension's attributes for add, replace and remove; our product extension is readOnly, so
the same paths on it are ``mutability``, never ``invalidPath``.
"""

from __future__ import annotations

import pytest

from tests.scim_client import ENTERPRISE
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import assert_scim_error


def _user_with_enterprise(scim):
    return scim.create_user(
        schemas=[USER, ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "701", "department": "Sales"}},
    )


@pytest.mark.parametrize("op", ["add", "replace"])
def test_whole_extension_add_and_replace_set_its_attributes(scim, op):
    created = scim.create_user()
    value = {"employeeNumber": "42", "manager": {"value": "boss-1"}}
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": op, "path": ENTERPRISE, "value": value}]
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body[ENTERPRISE]["employeeNumber"] == "42"
    assert body[ENTERPRISE]["manager"]["value"] == "boss-1"
    assert ENTERPRISE in body["schemas"]
    stored = scim.get(f"/Users/{created['id']}").get_json()
    assert stored[ENTERPRISE] == body[ENTERPRISE]


@pytest.mark.parametrize("op", ["add", "replace"])
def test_schemas_inside_the_extension_value_is_ignored(scim, op):
    """scim2-tester serialises the extension object with its own ``schemas`` key."""
    created = scim.create_user()
    value = {"schemas": [ENTERPRISE], "department": "QA"}
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": op, "path": ENTERPRISE, "value": value}]
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body[ENTERPRISE] == {"department": "QA"}


def test_whole_extension_replace_keeps_attributes_it_does_not_name(scim):
    created = _user_with_enterprise(scim)
    body = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "replace", "path": ENTERPRISE, "value": {"department": "Legal"}}],
    ).get_json()
    assert body[ENTERPRISE] == {"employeeNumber": "701", "department": "Legal"}


def test_whole_extension_remove_clears_it_and_its_schema(scim):
    created = _user_with_enterprise(scim)
    response = scim.patch(f"/Users/{created['id']}", [{"op": "remove", "path": ENTERPRISE}])
    body = response.get_json()
    assert response.status_code == 200, body
    assert ENTERPRISE not in body
    assert ENTERPRISE not in body["schemas"]
    assert ENTERPRISE not in scim.get(f"/Users/{created['id']}").get_json()


def test_whole_extension_path_is_case_insensitive(scim):
    created = scim.create_user()
    body = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "add", "path": ENTERPRISE.upper(), "value": {"costCenter": "C1"}}],
    ).get_json()
    assert body[ENTERPRISE]["costCenter"] == "C1"


@pytest.mark.parametrize(
    ("op", "path", "value", "expected"),
    [
        ("add", f"{ENTERPRISE}:manager.value", "boss-2", {"value": "boss-2"}),
        ("replace", f"{ENTERPRISE}:manager", {"value": "boss-3"}, {"value": "boss-3"}),
        ("replace", f"{ENTERPRISE}:department", "Ops", "Ops"),
    ],
)
def test_attribute_paths_inside_the_extension(scim, op, path, value, expected):
    created = _user_with_enterprise(scim)
    response = scim.patch(f"/Users/{created['id']}", [{"op": op, "path": path, "value": value}])
    body = response.get_json()
    assert response.status_code == 200, body
    name = path.rsplit(":", 1)[1].split(".")[0]
    assert body[ENTERPRISE][name] == expected


def test_remove_one_attribute_inside_the_extension(scim):
    created = _user_with_enterprise(scim)
    body = scim.patch(
        f"/Users/{created['id']}", [{"op": "remove", "path": f"{ENTERPRISE}:department"}]
    ).get_json()
    assert body[ENTERPRISE] == {"employeeNumber": "701"}


@pytest.mark.parametrize(
    ("op", "value"),
    [("add", {"adminDisabled": True}), ("replace", {"adminDisabled": True}), ("remove", None)],
)
def test_product_extension_is_read_only(scim, op, value):
    created = scim.create_user()
    operation = {"op": op, "path": PRODUCT, **({"value": value} if value is not None else {})}
    response = scim.patch(f"/Users/{created['id']}", [operation])
    body = assert_scim_error(response, 400, "mutability")
    assert PRODUCT in body["detail"] and "readOnly" in body["detail"]
    after = scim.get(f"/Users/{created['id']}").get_json()
    assert after[PRODUCT] == created[PRODUCT]


@pytest.mark.parametrize("value", ["Sales", ["a"], None])
def test_whole_extension_add_needs_an_object(scim, value):
    created = _user_with_enterprise(scim)
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": "add", "path": ENTERPRISE, "value": value}]
    )
    assert_scim_error(response, 400, "invalidValue")
    assert scim.get(f"/Users/{created['id']}").get_json()[ENTERPRISE]["department"] == "Sales"


def test_whole_extension_replace_with_null_unassigns_it(scim):
    created = _user_with_enterprise(scim)
    body = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": ENTERPRISE, "value": None}]
    ).get_json()
    assert ENTERPRISE not in body


def test_whole_extension_remove_with_a_value_is_invalid_syntax(scim):
    created = _user_with_enterprise(scim)
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": "remove", "path": ENTERPRISE, "value": {}}]
    )
    assert_scim_error(response, 400, "invalidSyntax")


def test_unknown_attribute_in_the_extension_value_changes_nothing(scim):
    created = _user_with_enterprise(scim)
    response = scim.patch(
        f"/Users/{created['id']}",
        [{"op": "add", "path": ENTERPRISE, "value": {"department": "X", "shoeSize": 9}}],
    )
    assert_scim_error(response, 400, "invalidPath")
    assert scim.get(f"/Users/{created['id']}").get_json()[ENTERPRISE]["department"] == "Sales"


def test_core_schema_urn_alone_is_not_a_path(scim):
    created = scim.create_user()
    response = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": USER, "value": {"title": "x"}}]
    )
    body = assert_scim_error(response, 400, "invalidPath")
    assert "leave 'path' out" in body["detail"]


def test_group_has_no_extension_urn_paths(scim):
    group = scim.create_group()
    response = scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": ENTERPRISE, "value": {}}]
    )
    assert_scim_error(response, 400, "invalidPath")


def test_put_replaces_the_extension_and_ignores_the_product_one(scim):
    """RFC 7644 §3.5.1: PUT replaces the extension; readOnly values "SHALL be ignored"."""
    created = _user_with_enterprise(scim)
    body = {
        "schemas": [USER, ENTERPRISE, PRODUCT],
        "userName": created["userName"],
        ENTERPRISE: {"costCenter": "C9"},
        PRODUCT: {"adminDisabled": True},
    }
    response = scim.put(f"/Users/{created['id']}", body)
    replaced = response.get_json()
    assert response.status_code == 200, replaced
    assert replaced[ENTERPRISE] == {"costCenter": "C9"}
    assert replaced[PRODUCT]["adminDisabled"] is False


def test_put_with_urn_qualified_attribute_keys(scim):
    """RFC 7644 §3.10: a body may name an extension attribute by its full URN path."""
    created = scim.create_user()
    body = {
        "schemas": [USER, ENTERPRISE],
        "userName": created["userName"],
        f"{ENTERPRISE}:department": "Research",
    }
    response = scim.put(f"/Users/{created['id']}", body)
    replaced = response.get_json()
    assert response.status_code == 200, replaced
    assert replaced[ENTERPRISE] == {"department": "Research"}


def test_put_without_the_extension_removes_it(scim):
    created = _user_with_enterprise(scim)
    body = {"schemas": [USER], "userName": created["userName"]}
    replaced = scim.put(f"/Users/{created['id']}", body).get_json()
    assert ENTERPRISE not in replaced
