"""IdP dialects (docs/idp-dialects.md §0, §2.5, §2.6, §5), normalised before parsing."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim_server.scim.compat import PATCH_STEPS
from scim_server.scim.compat import RESOURCE_STEPS
from scim_server.scim.compat import lower_case_op_names
from scim_server.scim.compat import normalise_patch
from scim_server.scim.compat import normalise_resource
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import ScimError
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import parse_patch
from scim_server.scim.patch import split_member_operations
from scim_server.scim.paths import matches
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import load_registry
from tests.idp_samples import sample
from tests.idp_samples import sample_operations

REGISTRY = load_registry()
USER = REGISTRY.user
GROUP = REGISTRY.group
MANAGER = f"{ENTERPRISE_USER}:manager"


def user_doc() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, PRODUCT_USER],
        "id": "2819c223",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        "active": True,
        "meta": {"resourceType": "User"},
    }


def group_doc() -> dict[str, Any]:
    return {"schemas": [CORE_GROUP], "id": "g-1", "displayName": "Tour Guides"}


def body(*operations: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def normalised(*operations: Any, rtype: Any = USER) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = normalise_patch(body(*operations), rtype)["Operations"]
    return result


def apply(doc: dict[str, Any], *operations: Any, rtype: Any = USER) -> dict[str, Any]:
    """The request flow of docs/architecture.md §6: compat, then parse, then apply."""
    parsed = parse_patch(normalise_patch(body(*operations), rtype), rtype, max_operations=50)
    return apply_patch(doc, parsed, rtype)


# ---------------------------------------------------------------------------
# 1. op names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("Add", "add"), ("Replace", "replace"), ("Remove", "remove"), ("REPLACE", "replace")],
)
def test_capitalised_op_names_are_lower_cased(sent, expected):
    """Entra default client (docs/idp-dialects.md §0 #5)."""
    assert normalised({"op": sent, "path": "title", "value": "x"})[0]["op"] == expected


def test_capitalised_operation_member_names_are_lower_cased():
    assert normalised({"Op": "Add", "Path": "title", "Value": "x"}) == [
        {"op": "add", "path": "title", "value": "x"}
    ]


def test_an_unknown_op_is_left_for_parse_patch_to_reject():
    operations = normalised({"op": "Copy", "path": "title", "value": "x"})
    with pytest.raises(InvalidSyntaxError):
        parse_patch(body(*operations), USER, max_operations=5)


# ---------------------------------------------------------------------------
# 2. string booleans
# ---------------------------------------------------------------------------


def test_entra_disable_with_string_false():
    """docs/idp-dialects.md §2.5, verbatim: {"op":"Replace","path":"active","value":"False"}."""
    operation = sample_operations("entra-patch-replace-active-string-bool")[0]
    assert normalised(operation) == [{"op": "replace", "path": "active", "value": False}]
    assert apply(user_doc(), operation)["active"] is False


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("True", True), ("true", True), ("TRUE", True), ("false", False), ("fAlSe", False)],
)
def test_string_booleans_in_any_case_become_booleans(sent, expected):
    assert normalised({"op": "replace", "path": "active", "value": sent})[0]["value"] is expected


def test_entra_add_on_active_with_a_string_is_a_replace():
    """docs/idp-dialects.md §2.5: Entra sends "Add" for active; add on single-valued replaces."""
    operation = sample_operations("entra-patch-add-active-string-bool")[0]
    assert apply(user_doc(), operation)["active"] is False


def test_string_booleans_inside_a_path_less_value():
    assert normalised({"op": "Replace", "value": {"active": "false", "title": "True"}}) == [
        {"op": "replace", "value": {"active": False, "title": "True"}}
    ]


def test_string_primary_inside_multi_valued_values():
    """The SCIM Validator sends roles with "primary":"True" (docs/idp-dialects.md §2.8)."""
    operations = normalised(
        {"op": "add", "path": "roles", "value": [{"value": "admin", "primary": "True"}]},
        {"op": "add", "value": {"emails": [{"value": "x@y", "primary": "False"}]}},
        {"op": "replace", "path": 'emails[type eq "work"].primary', "value": "true"},
        {
            "op": "replace",
            "path": 'emails[type eq "work"]',
            "value": {"value": "a", "primary": "TRUE"},
        },
    )
    assert operations[0]["value"] == [{"value": "admin", "primary": True}]
    assert operations[1]["value"] == {"emails": [{"value": "x@y", "primary": False}]}
    assert operations[2]["value"] is True
    assert operations[3]["value"] == {"value": "a", "primary": True}


def test_strings_of_non_boolean_attributes_are_left_alone():
    operations = normalised(
        {"op": "replace", "path": "title", "value": "False"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "true"},
    )
    assert [op["value"] for op in operations] == ["False", "true"]


def test_a_non_boolean_string_for_active_is_left_for_validation_to_reject():
    operation = {"op": "Replace", "path": "active", "value": "yes"}
    assert normalised(operation)[0]["value"] == "yes"
    with pytest.raises(InvalidValueError):
        apply(user_doc(), operation)


def test_string_booleans_in_extension_objects_of_a_path_less_value_are_coerced():
    operations = normalised({"op": "replace", "value": {PRODUCT_USER: {"adminDisabled": "True"}}})
    assert operations[0]["value"] == {PRODUCT_USER: {"adminDisabled": True}}


# ---------------------------------------------------------------------------
# 3. path-less values keyed by attribute paths
# ---------------------------------------------------------------------------

ENTRA_PATHLESS = sample_operations("entra-patch-pathless-replace-path-keys")[0]


def test_entra_path_less_replace_with_path_keys_is_split_into_operations():
    """docs/idp-dialects.md §2.5, verbatim (Entra with aadOptscim062020)."""
    assert normalised(ENTRA_PATHLESS) == [
        {"op": "replace", "value": {"displayName": "Bjfe"}},
        {"op": "replace", "path": "name.givenName", "value": "Kkom"},
        {"op": "replace", "path": "name.familyName", "value": "Unua"},
        {"op": "replace", "path": f"{ENTERPRISE_USER}:employeeNumber", "value": "Aklq"},
    ]


def test_entra_path_less_replace_with_path_keys_applies_each_key():
    result = apply(user_doc(), ENTRA_PATHLESS)
    assert result["displayName"] == "Bjfe"
    assert result["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert result[ENTERPRISE_USER] == {"employeeNumber": "Aklq"}
    assert ENTERPRISE_USER in result["schemas"]


def test_filtered_keys_of_a_path_less_value_become_their_own_operation():
    operations = normalised(
        {"op": "replace", "value": {'emails[type eq "work"].value': "new@example.com"}}
    )
    assert operations == [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"}
    ]


def test_plain_keys_and_extension_objects_stay_in_the_path_less_operation():
    operation = {"op": "add", "value": {"title": "T", ENTERPRISE_USER: {"department": "D"}}}
    assert normalised(operation) == [operation]


def test_a_null_path_key_in_a_path_less_add_adds_nothing():
    assert normalised({"op": "add", "value": {"title": "T", "name.givenName": None}}) == [
        {"op": "add", "value": {"title": "T"}}
    ]


# ---------------------------------------------------------------------------
# 4. enterprise manager
# ---------------------------------------------------------------------------


def test_entra_tutorial_manager_with_unqualified_path_and_list_value():
    """docs/idp-dialects.md §2.6 (tutorial Example 5), verbatim shape."""
    operation = sample_operations("entra-patch-add-manager-tutorial")[0]
    assert normalised(operation) == [
        {
            "op": "add",
            "path": MANAGER,
            "value": {"$ref": "http://example.com/scim/v2/Users/00aa", "value": "00aa"},
        }
    ]
    assert apply(user_doc(), operation)[ENTERPRISE_USER]["manager"]["value"] == "00aa"


def test_entra_manager_as_a_bare_string():
    """Captain-P-Goldfish/SCIM-SDK#686: the value is the manager's id, not an object."""
    operation = {"op": "add", "path": MANAGER, "value": "2c2f6fb8-0000"}
    assert normalised(operation)[0]["value"] == {"value": "2c2f6fb8-0000"}
    assert apply(user_doc(), operation)[ENTERPRISE_USER] == {"manager": {"value": "2c2f6fb8-0000"}}


def test_validator_manager_object_is_kept():
    operation = {"op": "replace", "path": MANAGER, "value": {"value": "ID"}}
    assert normalised(operation) == [operation]


@pytest.mark.parametrize("value", ["", {"value": ""}, [], [{"value": ""}]])
def test_replacing_the_manager_with_an_empty_value_removes_it(value):
    """The SCIM Validator removes with replace and {"value":""} (docs/idp-dialects.md §2.6)."""
    assert normalised({"op": "replace", "path": MANAGER, "value": value}) == [
        {"op": "remove", "path": MANAGER}
    ]
    doc = {**user_doc(), ENTERPRISE_USER: {"manager": {"value": "boss"}}}
    assert ENTERPRISE_USER not in apply(doc, {"op": "replace", "path": MANAGER, "value": value})


def test_clearing_the_manager_value_sub_attribute_removes_the_manager():
    assert normalised({"op": "replace", "path": f"{MANAGER}.value", "value": ""}) == [
        {"op": "remove", "path": MANAGER}
    ]


def test_removing_the_manager_by_unqualified_path_drops_a_stray_value():
    assert normalised({"op": "Remove", "path": "manager", "value": "boss"}) == [
        {"op": "remove", "path": MANAGER}
    ]


def test_manager_string_inside_a_path_less_value():
    operations = normalised(
        {"op": "replace", "value": {ENTERPRISE_USER: {"manager": "boss"}}},
        {"op": "replace", "value": {MANAGER: "boss2"}},
    )
    assert operations == [
        {"op": "replace", "value": {ENTERPRISE_USER: {"manager": {"value": "boss"}}}},
        {"op": "replace", "path": MANAGER, "value": {"value": "boss2"}},
    ]


def test_empty_manager_inside_a_path_less_replace_unassigns_it():
    doc = {**user_doc(), ENTERPRISE_USER: {"manager": {"value": "boss"}, "department": "D"}}
    result = apply(doc, {"op": "replace", "value": {ENTERPRISE_USER: {"manager": ""}}})
    assert result[ENTERPRISE_USER] == {"department": "D"}


def test_manager_rules_do_not_touch_groups():
    operation = {"op": "add", "path": "manager", "value": "x"}
    assert normalised(operation, rtype=GROUP) == [operation]


# ---------------------------------------------------------------------------
# 5. legacy member removal
# ---------------------------------------------------------------------------


def test_entra_legacy_member_removal_removes_only_the_listed_members():
    """docs/idp-dialects.md §2.5, verbatim:
    {"op":"Remove","path":"members","value":[{"value":…}]}."""
    sent = sample_operations("entra-patch-remove-members-legacy", first="id1", second="id2")
    normalised_ops = normalised(*sent, rtype=GROUP)
    assert normalised_ops == [
        {"op": "remove", "path": 'members[value eq "id1"]'},
        {"op": "remove", "path": 'members[value eq "id2"]'},
    ]
    parsed = parse_patch(body(*normalised_ops), GROUP, max_operations=10)
    member_ops, other_ops = split_member_operations(parsed, GROUP)
    assert other_ops == []
    assert all(op.path is not None and op.path.value_filter is not None for op in member_ops)


def test_entra_tutorial_member_removal_with_null_ref():
    sent = sample_operations("entra-patch-remove-member-null-ref", member="f648f8d5")
    assert normalised(*sent, rtype=GROUP) == [
        {"op": "remove", "path": 'members[value eq "f648f8d5"]'}
    ]


def test_legacy_member_removal_never_empties_the_group_on_a_document():
    doc = {**group_doc(), "members": [{"value": "id1"}, {"value": "id2"}, {"value": "id3"}]}
    result = apply(
        doc, {"op": "Remove", "path": "members", "value": [{"value": "id2"}]}, rtype=GROUP
    )
    assert result["members"] == [{"value": "id1"}, {"value": "id3"}]


def test_member_ids_are_quoted_safely_and_deduplicated():
    tricky = 'a "quoted" \\ id'
    operations = normalised(
        {"op": "remove", "path": "members", "value": [tricky, {"Value": tricky}]}, rtype=GROUP
    )
    assert len(operations) == 1
    path = parse_path(operations[0]["path"], GROUP)
    assert matches(path.value_filter, {"value": tricky}, path.attribute)
    assert not matches(path.value_filter, {"value": "a"}, path.attribute)


def test_an_empty_member_removal_list_removes_nothing():
    assert normalised({"op": "remove", "path": "members", "value": []}, rtype=GROUP) == []


def test_a_removal_list_without_ids_is_left_for_parse_patch_to_reject():
    operation = {"op": "remove", "path": "members", "value": [{"display": "Babs"}]}
    assert normalised(operation, rtype=GROUP) == [operation]
    with pytest.raises(InvalidSyntaxError):
        parse_patch(body(operation), GROUP, max_operations=5)


def test_value_list_removal_works_for_other_multi_valued_attributes():
    assert normalised({"op": "remove", "path": "emails", "value": [{"value": "b@x"}]}) == [
        {"op": "remove", "path": 'emails[value eq "b@x"]'}
    ]


# ---------------------------------------------------------------------------
# 6. read-only keys in path-less values
# ---------------------------------------------------------------------------


def test_okta_group_rename_drops_the_read_only_id():
    """docs/idp-dialects.md §1.6, verbatim."""
    rename = {"group": "abf4dd94-…", "display_name": "Test SCIMv2"}
    operation = sample_operations("okta-patch-group-rename", **rename)[0]
    assert normalised(operation, rtype=GROUP) == [
        {"op": "replace", "value": {"displayName": "Test SCIMv2"}}
    ]
    result = apply(group_doc(), operation, rtype=GROUP)
    assert (result["id"], result["displayName"]) == ("g-1", "Test SCIMv2")


def test_schemas_and_meta_are_dropped_from_path_less_values():
    operation = {"op": "replace", "value": {"Schemas": [], "META": {}, "ID": "x", "title": "T"}}
    assert normalised(operation) == [{"op": "replace", "value": {"title": "T"}}]


def test_okta_deactivate_passes_through_unchanged():
    """docs/idp-dialects.md §1.5, verbatim."""
    operation = sample_operations("okta-patch-deactivate")[0]
    assert normalised(operation) == [{"op": "replace", "value": {"active": False}}]
    assert apply(user_doc(), operation)["active"] is False


# ---------------------------------------------------------------------------
# 9. single object for a multi-valued attribute
# ---------------------------------------------------------------------------


def test_a_single_object_for_a_multi_valued_attribute_is_wrapped():
    assert normalised({"op": "add", "path": "emails", "value": {"value": "x"}}) == [
        {"op": "add", "path": "emails", "value": [{"value": "x"}]}
    ]


def test_a_single_object_for_a_filtered_or_single_valued_path_is_not_wrapped():
    operations = [
        {"op": "replace", "path": 'emails[type eq "work"]', "value": {"value": "x"}},
        {"op": "replace", "path": "name", "value": {"givenName": "x"}},
    ]
    assert normalised(*operations) == operations


def test_entra_group_member_add_shape_is_kept():
    """docs/idp-dialects.md §2.5:
    {"op":"Add","path":"members","value":[{"$ref":null,"value":…}]}."""
    sent = sample_operations("entra-patch-add-member-null-ref", member="f648f8d5")
    assert normalised(*sent, rtype=GROUP) == [
        {"op": "add", "path": "members", "value": [{"$ref": None, "value": "f648f8d5"}]}
    ]


# ---------------------------------------------------------------------------
# normalise_patch: robustness
# ---------------------------------------------------------------------------


def test_normalise_patch_never_mutates_its_input():
    original = body(
        {"op": "Replace", "path": "active", "value": "False"},
        ENTRA_PATHLESS,
        {"op": "Add", "path": "manager", "value": [{"value": "m"}]},
        {"op": "replace", "value": {"id": "x", "displayName": "D"}},
        {"op": "add", "path": "emails", "value": {"value": "x", "primary": "True"}},
    )
    snapshot = copy.deepcopy(original)
    normalise_patch(original, USER)
    assert original == snapshot


def test_normalise_patch_never_mutates_a_member_removal():
    original = body({"op": "Remove", "path": "members", "value": [{"value": "id1"}]})
    snapshot = copy.deepcopy(original)
    normalise_patch(original, GROUP)
    assert original == snapshot


@pytest.mark.parametrize(
    "payload",
    [[], "text", {"schemas": [PATCH_OP]}, {"Operations": "x"}, body("not an op", 5)],
)
def test_normalise_patch_returns_unrecognisable_bodies_as_they_are(payload):
    assert normalise_patch(payload, USER) == payload


def test_normalise_patch_keeps_the_operations_key_as_sent():
    result = normalise_patch({"schemas": [PATCH_OP], "operations": [{"Op": "Add"}]}, USER)
    assert result == {"schemas": [PATCH_OP], "operations": [{"op": "add"}]}


_KEYS = st.sampled_from(
    [
        "op",
        "Op",
        "path",
        "value",
        "Value",
        "members",
        "manager",
        "active",
        "name.givenName",
        MANAGER,
        ENTERPRISE_USER,
        "id",
        "emails",
        "primary",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(
        ["Add", "remove", "Replace", "members", "manager", "True", "", 'emails[type eq "w"]']
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(_JSON, max_size=4), st.sampled_from([USER, GROUP]))
def test_normalise_patch_on_any_json_returns_a_body_and_parsing_raises_only_scim_errors(
    operations, rtype
):
    original = body(*operations)
    snapshot = copy.deepcopy(original)
    result = normalise_patch(original, rtype)
    assert isinstance(result, dict)
    assert original == snapshot
    with contextlib.suppress(ScimError):
        parse_patch(result, rtype, max_operations=100)


# ---------------------------------------------------------------------------
# normalise_resource (create and replace bodies)
# ---------------------------------------------------------------------------

ENTRA_CREATE = sample("entra-create-user")

OKTA_CREATE = sample("okta-create-user")


def test_entra_create_body_drops_meta_and_keeps_the_rest():
    """docs/idp-dialects.md §2.4, verbatim."""
    expected = {k: v for k, v in ENTRA_CREATE.items() if k != "meta"}
    assert normalise_resource(ENTRA_CREATE, USER) == expected


def test_okta_create_body_drops_groups_and_keeps_password_for_the_service():
    """docs/idp-dialects.md §1.3, verbatim: the service, not compat, drops the password."""
    expected = {k: v for k, v in OKTA_CREATE.items() if k != "groups"}
    assert normalise_resource(OKTA_CREATE, USER) == expected


def test_create_body_names_are_canonicalised_to_the_schema_casing():
    result = normalise_resource(
        {
            "Schemas": [CORE_USER],
            "UserName": "bjensen",
            "NAME": {"GivenName": "B", "familyname": "J"},
            "Emails": [{"Value": "b@x", "TYPE": "work", "Primary": "True"}],
            ENTERPRISE_USER.upper(): {"EmployeeNumber": "7", "MANAGER": {"Value": "m"}},
            "Active": "False",
        },
        USER,
    )
    assert result == {
        "schemas": [CORE_USER],
        "userName": "bjensen",
        "name": {"givenName": "B", "familyName": "J"},
        "emails": [{"value": "b@x", "type": "work", "primary": True}],
        ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m"}},
        "active": False,
    }


def test_create_body_keeps_unknown_keys_for_the_validator():
    result = normalise_resource({"userName": "x", "favouriteColour": "red", "name": {"x": 1}}, USER)
    assert result == {"userName": "x", "favouriteColour": "red", "name": {"x": 1}}


def test_create_body_moves_urn_qualified_keys_under_their_extension():
    result = normalise_resource(
        {
            "schemas": [CORE_USER],
            "userName": "x",
            f"{ENTERPRISE_USER}:employeeNumber": "7",
            f"{ENTERPRISE_USER}:manager.value": "boss",
            f"{CORE_USER}:displayName": "X",
            ENTERPRISE_USER: {"department": "D"},
        },
        USER,
    )
    assert result == {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": "x",
        "displayName": "X",
        ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "boss"}, "department": "D"},
    }


def test_create_body_manager_as_a_bare_string_is_wrapped():
    """apache/directory-scimple#1242: "manager":"myuser" in a create body."""
    result = normalise_resource({"userName": "x", ENTERPRISE_USER: {"manager": "myuser"}}, USER)
    assert result[ENTERPRISE_USER] == {"manager": {"value": "myuser"}}


@pytest.mark.parametrize("manager", ["", {"value": ""}, [], None])
def test_create_body_empty_manager_is_dropped(manager):
    result = normalise_resource(
        {"userName": "x", ENTERPRISE_USER: {"manager": manager, "department": "D"}}, USER
    )
    assert result[ENTERPRISE_USER] == {"department": "D"}


def test_create_body_drops_read_only_values_at_every_level():
    """RFC 7644 §3.3/§3.5.1: read-only values in a create or replace "SHALL be ignored"."""
    result = normalise_resource(
        {
            "id": "x",
            "meta": {"version": "1"},
            "userName": "u",
            "groups": [{"value": "g"}],
            ENTERPRISE_USER: {"manager": {"value": "m", "displayName": "Boss"}},
            PRODUCT_USER: {"adminDisabled": True, "userId": "p"},
        },
        USER,
    )
    assert result == {"userName": "u", ENTERPRISE_USER: {"manager": {"value": "m"}}}


def test_group_body_drops_member_display_and_canonicalises_members():
    """Okta PUT /Groups echoes members with display (docs/idp-dialects.md §1.6)."""
    result = normalise_resource(
        {"DisplayName": "G", "Members": [{"Value": "u1", "display": "Babs"}], "id": "g"}, GROUP
    )
    assert result == {"displayName": "G", "members": [{"value": "u1"}]}


def test_create_body_booleans_that_do_not_look_boolean_are_left_alone():
    assert normalise_resource({"userName": "x", "active": "yes"}, USER)["active"] == "yes"


def test_normalise_resource_never_mutates_its_input():
    original = {
        "Schemas": [CORE_USER],
        "UserName": "x",
        "Active": "True",
        f"{ENTERPRISE_USER}:manager": "m",
        "emails": [{"Primary": "true", "value": "v"}],
        "meta": {},
    }
    snapshot = copy.deepcopy(original)
    normalise_resource(original, USER)
    assert original == snapshot


def test_normalise_resource_returns_a_non_object_as_it_is():
    payload: Any = ["x"]
    result: Any = normalise_resource(payload, USER)
    assert result == ["x"]


# ---------------------------------------------------------------------------
# Every quirk is documented
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("step", [*PATCH_STEPS, *RESOURCE_STEPS], ids=lambda step: step.__name__)
def test_every_normaliser_names_its_idp_source_and_a_sample(step):
    doc = step.__doc__ or ""
    assert any(idp in doc for idp in ("Entra", "Okta", "JumpCloud", "OneLogin"))
    assert "docs/idp-dialects.md" in doc or "RFC" in doc
    assert "{" in doc or "``" in doc  # a sample


def test_steps_are_callable_on_their_own():
    assert lower_case_op_names({"OP": "Add"}, USER) == [{"op": "add"}]


# --- OneLogin: SCIM 1.1 URNs and a single object for a multi-valued attribute ---------------


def test_onelogin_scim_1_1_core_urn_names_the_core_schema():
    body = normalise_resource(sample("onelogin-create-user-core-1-0"), USER)
    assert body["schemas"] == [CORE_USER]
    group = normalise_resource(
        {"schemas": ["urn:scim:schemas:core:1.0"], "displayName": "g"}, GROUP
    )
    assert group["schemas"] == [CORE_GROUP]


def test_onelogin_enterprise_1_0_extension_single_email_and_manager_id():
    raw = sample("onelogin-create-user-enterprise-1-0", user_name="r@x.test", manager_id="m-1")
    body = normalise_resource(raw, USER)
    assert body["schemas"] == [CORE_USER, ENTERPRISE_USER]
    assert body[ENTERPRISE_USER] == {"department": "R&D", "manager": {"value": "m-1"}}
    assert body["emails"] == [{"value": "r@x.test", "type": "work", "primary": True}]
    assert "urn:scim:schemas:extension:enterprise:1.0" not in body


def test_scim_1_1_translation_leaves_2_0_bodies_and_single_valued_objects_alone():
    body = {"schemas": [CORE_USER], "userName": "u", "name": {"givenName": "G"}}
    assert normalise_resource(body, USER) == body
    # manager.managerId is only the SCIM 1.1 name: under the 2.0 URN it stays unknown.
    raw = {
        "schemas": [CORE_USER],
        "userName": "u",
        ENTERPRISE_USER: {"manager": {"managerId": "m"}},
    }
    assert normalise_resource(raw, USER)[ENTERPRISE_USER]["manager"] == {"managerId": "m"}
