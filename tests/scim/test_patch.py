"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp and applying it to a document."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import MutabilityError
from scim_server.scim.errors import NoTargetError
from scim_server.scim.errors import ScimError
from scim_server.scim.errors import TooManyError
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import parse_patch
from scim_server.scim.patch import split_member_operations
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import load_registry

REGISTRY = load_registry()
USER = REGISTRY.user
GROUP = REGISTRY.group


def user_doc() -> dict[str, Any]:
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER, PRODUCT_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "active": True,
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        PRODUCT_USER: {
            "userId": "u-1",
            "adminDisabled": False,
            "effectiveAccess": True,
            "linkPending": False,
        },
        "meta": {"resourceType": "User", "version": 'W/"3"', "location": "/v2/Users/2819c223"},
    }


def minimal_user_doc() -> dict[str, Any]:
    return {"schemas": [CORE_USER], "id": "u-2", "userName": "min", "meta": {"version": 'W/"1"'}}


def group_doc() -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": "g-1",
        "displayName": "Tour Guides",
        "members": [{"value": "m-1", "type": "User"}, {"value": "m-2"}],
        "meta": {"resourceType": "Group"},
    }


def body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def ops(*operations: dict[str, Any], rtype: Any = USER) -> list[PatchOperation]:
    return parse_patch(body(*operations), rtype, max_operations=100)


def patch(doc: dict[str, Any], *operations: dict[str, Any], rtype: Any = USER) -> dict[str, Any]:
    return apply_patch(doc, ops(*operations, rtype=rtype), rtype)


def emails(doc: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = doc["emails"]
    return result


# ---------------------------------------------------------------------------
# parse_patch
# ---------------------------------------------------------------------------


def test_parse_patch_returns_operations_with_lower_case_op_and_resolved_path():
    parsed = ops({"op": "Replace", "path": "Name.GivenName", "value": "B"})
    assert len(parsed) == 1
    assert parsed[0].op == "replace"
    assert parsed[0].path is not None
    assert (parsed[0].path.attribute.name, parsed[0].path.sub_attribute.name) == (  # type: ignore[union-attr]
        "name",
        "givenName",
    )
    assert parsed[0].value == "B"


def test_parse_patch_reads_member_names_case_insensitively():
    """RFC 7643 §2.1: attribute names, those of messages included, are case-insensitive."""
    parsed = parse_patch(
        {
            "Schemas": [PATCH_OP.upper()],
            "operations": [{"OP": "add", "Path": "title", "VALUE": "x"}],
        },
        USER,
        max_operations=5,
    )
    assert (parsed[0].op, parsed[0].value) == ("add", "x")


def test_parse_patch_keeps_a_path_less_operation_path_less():
    parsed = ops({"op": "replace", "value": {"active": False}})
    assert parsed[0].path is None
    assert parsed[0].value == {"active": False}


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "not an object",
        {"Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": PATCH_OP, "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [CORE_USER], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": {"op": "add"}},
        {"schemas": [PATCH_OP], "Operations": ["add"]},
        {"schemas": [PATCH_OP], "Operations": [{"path": "title", "value": "x"}]},
    ],
)
def test_parse_patch_rejects_malformed_messages_with_invalid_syntax(payload):
    with pytest.raises(InvalidSyntaxError):
        parse_patch(payload, USER, max_operations=10)


def test_parse_patch_names_an_unknown_op():
    with pytest.raises(InvalidSyntaxError) as caught:
        ops({"op": "move", "path": "title", "value": "x"})
    assert "move" in caught.value.detail


def test_parse_patch_rejects_more_operations_than_allowed_with_too_many():
    operations = [{"op": "add", "path": "title", "value": str(i)} for i in range(4)]
    with pytest.raises(TooManyError):
        parse_patch(body(*operations), USER, max_operations=3)
    assert len(parse_patch(body(*operations), USER, max_operations=4)) == 4


@pytest.mark.parametrize("path", [42, "", "  ", "nickname2", "name.nope", 'emails[type eq "work"'])
def test_parse_patch_rejects_bad_paths_with_invalid_path(path):
    with pytest.raises(InvalidPathError):
        ops({"op": "add", "path": path, "value": "x"})


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "add", "path": "title"},
        {"op": "replace", "path": "title"},
        {"op": "add", "path": "title", "value": None},
        {"op": "add", "value": "not an object"},
        {"op": "replace", "value": None},
    ],
)
def test_parse_patch_requires_a_value_for_add_and_replace(operation):
    """RFC 7644 §3.5.2.1: the operation "MUST contain a value member"; §3.12 invalidValue:
    "A required value was missing"."""
    with pytest.raises(InvalidValueError):
        ops(operation)


def test_parse_patch_rejects_remove_without_path_with_no_target():
    """RFC 7644 §3.5.2.2: "If path is unspecified, the operation fails with ... noTarget"."""
    with pytest.raises(NoTargetError):
        ops({"op": "remove"})


def test_parse_patch_rejects_remove_with_a_value_rather_than_removing_every_member():
    """The legacy Entra member removal must go through compat; raw, it is refused."""
    with pytest.raises(InvalidSyntaxError):
        ops({"op": "remove", "path": "members", "value": [{"value": "m-1"}]}, rtype=GROUP)


def test_parse_patch_accepts_remove_with_a_null_value():
    assert ops({"op": "remove", "path": "title", "value": None})[0].op == "remove"


def test_parse_patch_accepts_replace_with_null():
    assert ops({"op": "replace", "path": "title", "value": None})[0].value is None


# ---------------------------------------------------------------------------
# add
# ---------------------------------------------------------------------------


def test_add_sets_a_single_valued_attribute():
    result = patch(user_doc(), {"op": "add", "path": "nickName", "value": "Babs"})
    assert result["nickName"] == "Babs"


def test_add_on_a_single_valued_attribute_replaces_it():
    """docs/idp-dialects.md §2.5: add on a single-valued attribute is a replace."""
    result = patch(user_doc(), {"op": "add", "path": "active", "value": False})
    assert result["active"] is False


def test_add_merges_sub_attributes_into_a_complex_attribute():
    """RFC 7644 §3.5.2.1: for a complex attribute "a set of sub-attributes" is added."""
    result = patch(user_doc(), {"op": "add", "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_add_sub_attribute_creates_the_complex_attribute():
    result = patch(minimal_user_doc(), {"op": "add", "path": "name.givenName", "value": "M"})
    assert result["name"] == {"givenName": "M"}


def test_add_appends_to_a_multi_valued_attribute():
    new = {"value": "b@other.example", "type": "other"}
    result = patch(user_doc(), {"op": "add", "path": "emails", "value": [new]})
    assert emails(result)[:2] == emails(user_doc())
    assert emails(result)[2] == new


def test_add_accepts_a_single_object_for_a_multi_valued_attribute():
    result = patch(user_doc(), {"op": "add", "path": "emails", "value": {"value": "c@x.example"}})
    assert emails(result)[-1] == {"value": "c@x.example"}
    assert len(emails(result)) == 3


def test_add_of_a_value_already_present_changes_nothing():
    """RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no
    changes SHOULD be made"; emails.value is caseExact false."""
    existing = {"value": "BJensen@Example.com", "type": "work", "primary": True}
    assert patch(user_doc(), {"op": "add", "path": "emails", "value": [existing]}) == user_doc()


def test_add_with_an_empty_list_changes_nothing():
    assert patch(minimal_user_doc(), {"op": "add", "path": "emails", "value": []}) == (
        minimal_user_doc()
    )


def test_add_to_a_filtered_sub_attribute_sets_it_on_matching_values():
    result = patch(
        user_doc(),
        {"op": "add", "path": 'emails[type eq "work"].display', "value": "Work"},
    )
    assert emails(result)[0]["display"] == "Work"
    assert "display" not in emails(result)[1]


def test_add_to_a_filtered_sub_attribute_with_no_match_creates_the_value():
    """Entra expects the email to be created (Captain-P-Goldfish/SCIM-SDK#416)."""
    result = patch(
        minimal_user_doc(),
        {"op": "add", "path": 'emails[type eq "work"].value', "value": "w@example.com"},
    )
    assert emails(result) == [{"type": "work", "value": "w@example.com"}]


def test_add_with_a_filter_and_no_sub_attribute_merges_or_creates():
    doc = patch(
        user_doc(), {"op": "add", "path": 'emails[type eq "home"]', "value": {"display": "H"}}
    )
    assert emails(doc)[1] == {"value": "babs@jensen.org", "type": "home", "display": "H"}
    created = patch(
        minimal_user_doc(),
        {"op": "add", "path": 'emails[type eq "other"]', "value": {"value": "o@x"}},
    )
    assert emails(created) == [{"type": "other", "value": "o@x"}]


def test_add_with_a_filter_that_describes_no_single_value_and_no_match_is_no_target():
    with pytest.raises(NoTargetError):
        patch(
            minimal_user_doc(),
            {"op": "add", "path": 'emails[type eq "a" or type eq "b"].value', "value": "x"},
        )


def test_add_of_a_sub_attribute_on_all_values_without_filter():
    result = patch(user_doc(), {"op": "add", "path": "emails.display", "value": "E"})
    assert [email["display"] for email in emails(result)] == ["E", "E"]


def test_add_of_a_sub_attribute_of_a_multi_valued_attribute_with_no_values_is_no_target():
    with pytest.raises(NoTargetError):
        patch(minimal_user_doc(), {"op": "add", "path": "emails.display", "value": "E"})


def test_add_extension_attribute_creates_the_extension_and_lists_its_schema():
    result = patch(
        minimal_user_doc(),
        {"op": "add", "path": f"{ENTERPRISE_USER}:department", "value": "Tour Operations"},
    )
    assert result[ENTERPRISE_USER] == {"department": "Tour Operations"}
    assert result["schemas"] == [CORE_USER, ENTERPRISE_USER]


def test_path_less_add_accepts_names_in_any_case_urn_names_and_extension_objects():
    result = patch(
        minimal_user_doc(),
        {
            "op": "add",
            "value": {
                "DisplayName": "Min",
                "NAME": {"GIVENNAME": "M"},
                f"{ENTERPRISE_USER}:costCenter": "4130",
                ENTERPRISE_USER: {"Department": "Ops"},
            },
        },
    )
    assert result["displayName"] == "Min"
    assert result["name"] == {"givenName": "M"}
    assert result[ENTERPRISE_USER] == {"costCenter": "4130", "department": "Ops"}
    assert "DisplayName" not in result


def test_path_less_add_merges_a_complex_attribute():
    result = patch(user_doc(), {"op": "add", "value": {"name": {"middleName": "J"}}})
    assert result["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}


def test_path_less_value_with_an_unknown_attribute_is_invalid_path():
    with pytest.raises(InvalidPathError):
        patch(user_doc(), {"op": "add", "value": {"displayName": "x", "favouriteColour": "red"}})


def test_add_writes_canonical_attribute_names():
    result = patch(user_doc(), {"op": "add", "path": "NICKNAME", "value": "B"})
    assert result["nickName"] == "B" and "NICKNAME" not in result


def test_add_replaces_a_differently_cased_key_in_the_document():
    doc = {**minimal_user_doc(), "NickName": "old"}
    result = patch(doc, {"op": "replace", "path": "nickName", "value": "new"})
    assert result["nickName"] == "new" and "NickName" not in result


# ---------------------------------------------------------------------------
# replace
# ---------------------------------------------------------------------------


def test_okta_deactivate_path_less_replace_sets_active_false():
    """docs/idp-dialects.md §1.5, verbatim."""
    result = patch(user_doc(), {"op": "replace", "value": {"active": False}})
    assert result["active"] is False
    assert {k: v for k, v in result.items() if k != "active"} == {
        k: v for k, v in user_doc().items() if k != "active"
    }


def test_replace_of_a_complex_attribute_keeps_unnamed_sub_attributes():
    """RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the 'value' parameter
    are left unchanged." (the conformance suite caught the earlier whole-value reading)."""
    result = patch(user_doc(), {"op": "replace", "path": "name", "value": {"givenName": "Babs"}})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_path_less_replace_of_a_complex_attribute_keeps_unnamed_sub_attributes():
    result = patch(user_doc(), {"op": "replace", "value": {"name": {"givenName": "Babs"}}})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_of_a_sub_attribute_keeps_the_others():
    result = patch(user_doc(), {"op": "replace", "path": "name.givenName", "value": "Babs"})
    assert result["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_of_a_multi_valued_attribute_without_filter_replaces_the_list():
    """RFC 7644 §3.5.2.3: "the attribute and all values are replaced"."""
    new = [{"value": "only@example.com", "type": "work"}]
    assert emails(patch(user_doc(), {"op": "replace", "path": "emails", "value": new})) == new


def test_replace_with_a_filter_replaces_matching_values():
    new = {"value": "babs@new.org", "type": "home", "display": "Home"}
    result = patch(user_doc(), {"op": "replace", "path": 'emails[type eq "home"]', "value": new})
    assert emails(result) == [emails(user_doc())[0], new]


def test_replace_with_a_filter_and_sub_attribute_replaces_only_that_sub_attribute():
    """Entra: {"op":"Replace","path":"emails[type eq \\"work\\"].value",...}
    (docs/idp-dialects.md §2.5)."""
    result = patch(
        user_doc(),
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "bj@example.com"},
    )
    assert emails(result)[0] == {"value": "bj@example.com", "type": "work", "primary": True}
    assert emails(result)[1] == emails(user_doc())[1]


@pytest.mark.parametrize("path", ['emails[type eq "other"]', 'emails[type eq "other"].value'])
def test_replace_with_a_filter_matching_nothing_is_no_target(path):
    """RFC 7644 §3.5.2.3: no record match "SHALL" be 400 noTarget."""
    with pytest.raises(NoTargetError):
        patch(user_doc(), {"op": "replace", "path": path, "value": {"value": "x"}})


def test_replace_with_null_unassigns_the_attribute():
    result = patch(user_doc(), {"op": "replace", "path": "externalId", "value": None})
    assert "externalId" not in result


def test_replace_with_an_empty_list_unassigns_the_attribute():
    """RFC 7643 §2.5: unassigned and [] are equivalent."""
    assert "emails" not in patch(user_doc(), {"op": "replace", "path": "emails", "value": []})


def test_replace_of_a_group_display_name():
    result = patch(group_doc(), {"op": "replace", "path": "displayName", "value": "x"}, rtype=GROUP)
    assert result["displayName"] == "x"


# ---------------------------------------------------------------------------
# remove
# ---------------------------------------------------------------------------


def test_remove_of_an_attribute():
    assert "externalId" not in patch(user_doc(), {"op": "remove", "path": "externalId"})


def test_remove_of_an_absent_attribute_changes_nothing():
    assert patch(user_doc(), {"op": "remove", "path": "nickName"}) == user_doc()


def test_remove_of_a_sub_attribute():
    result = patch(user_doc(), {"op": "remove", "path": "name.familyName"})
    assert result["name"] == {"givenName": "Barbara"}


def test_remove_of_the_last_sub_attribute_removes_the_complex_attribute():
    doc = patch(user_doc(), {"op": "remove", "path": "name.familyName"})
    assert "name" not in patch(doc, {"op": "remove", "path": "name.givenName"})


def test_remove_with_a_filter_removes_matching_values():
    result = patch(user_doc(), {"op": "remove", "path": 'emails[type eq "home"]'})
    assert emails(result) == [emails(user_doc())[0]]


def test_remove_with_a_filter_matching_nothing_changes_nothing():
    assert patch(user_doc(), {"op": "remove", "path": 'emails[type eq "other"]'}) == user_doc()


def test_remove_of_the_last_value_removes_the_attribute():
    """RFC 7644 §3.5.2.2: no values left means the attribute is unassigned."""
    result = patch(user_doc(), {"op": "remove", "path": 'emails[value co "@"]'})
    assert "emails" not in result


def test_remove_of_a_filtered_sub_attribute():
    result = patch(user_doc(), {"op": "remove", "path": 'emails[type eq "work"].primary'})
    assert emails(result)[0] == {"value": "bjensen@example.com", "type": "work"}


def test_remove_of_a_sub_attribute_on_every_value():
    result = patch(user_doc(), {"op": "remove", "path": "emails.type"})
    assert [set(email) for email in emails(result)] == [{"value", "primary"}, {"value"}]


def test_remove_of_a_required_attribute_is_invalid_value():
    with pytest.raises(InvalidValueError):
        patch(user_doc(), {"op": "remove", "path": "userName"})


def test_replace_of_a_required_attribute_with_null_is_invalid_value():
    with pytest.raises(InvalidValueError):
        patch(user_doc(), {"op": "replace", "path": "userName", "value": None})


def test_remove_of_the_only_extension_attribute_removes_the_extension_and_its_schema():
    doc = patch(user_doc(), {"op": "remove", "path": f"{ENTERPRISE_USER}:employeeNumber"})
    assert ENTERPRISE_USER in doc and ENTERPRISE_USER in doc["schemas"]
    result = patch(doc, {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"})
    assert ENTERPRISE_USER not in result
    assert result["schemas"] == [CORE_USER, PRODUCT_USER]


def test_remove_of_an_extension_attribute_when_the_extension_is_absent_changes_nothing():
    doc = minimal_user_doc()
    assert patch(doc, {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"}) == doc


def test_remove_of_a_group_member_by_filter():
    result = patch(group_doc(), {"op": "remove", "path": 'members[value eq "m-1"]'}, rtype=GROUP)
    assert result["members"] == [{"value": "m-2"}]


# ---------------------------------------------------------------------------
# primary (RFC 7643 §2.4)
# ---------------------------------------------------------------------------


def _primaries(doc: dict[str, Any]) -> list[str]:
    return [email["value"] for email in emails(doc) if email.get("primary") is True]


def test_adding_a_primary_email_clears_the_previous_primary():
    result = patch(
        user_doc(),
        {"op": "add", "path": "emails", "value": [{"value": "n@x.example", "primary": True}]},
    )
    assert _primaries(result) == ["n@x.example"]
    assert emails(result)[0]["primary"] is False


def test_adding_a_non_primary_email_keeps_the_primary():
    result = patch(user_doc(), {"op": "add", "path": "emails", "value": [{"value": "n@x"}]})
    assert _primaries(result) == ["bjensen@example.com"]


def test_replacing_with_two_primaries_keeps_the_last():
    value = [
        {"value": "a@x", "primary": True},
        {"value": "b@x", "primary": True},
        {"value": "c@x"},
    ]
    result = patch(user_doc(), {"op": "replace", "path": "emails", "value": value})
    assert _primaries(result) == ["b@x"]
    assert emails(result)[0]["primary"] is False


def test_setting_primary_through_a_filter_moves_it():
    result = patch(
        user_doc(), {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}
    )
    assert _primaries(result) == ["babs@jensen.org"]


def test_replacing_a_filtered_value_with_a_primary_one_moves_primary():
    result = patch(
        user_doc(),
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "h@x", "type": "home", "primary": True},
        },
    )
    assert _primaries(result) == ["h@x"]


# ---------------------------------------------------------------------------
# Mutability (RFC 7643 §2.2, RFC 7644 §3.5.2)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": "other"},
        {"op": "remove", "path": "id"},
        {"op": "replace", "path": "meta.version", "value": 'W/"9"'},
        {"op": "add", "path": "groups", "value": [{"value": "g-1"}]},
        {"op": "replace", "path": f"{PRODUCT_USER}:adminDisabled", "value": False},
        {"op": "remove", "path": f"{PRODUCT_USER}:effectiveAccess"},
        {"op": "replace", "path": f"{ENTERPRISE_USER}:manager.displayName", "value": "Boss"},
        {"op": "add", "value": {"groups": []}},
        {"op": "replace", "value": {PRODUCT_USER: {"adminDisabled": False}}},
    ],
)
def test_modifying_a_read_only_attribute_is_mutability(operation):
    with pytest.raises(MutabilityError):
        patch(user_doc(), operation)


def test_okta_group_rename_ignores_the_read_only_id_in_the_value():
    """docs/idp-dialects.md §1.6, verbatim shape; RFC 7644 §3.3 read-only values are ignored."""
    result = patch(
        group_doc(),
        {"op": "replace", "value": {"id": "abf4dd94-…", "displayName": "Test SCIMv2"}},
        rtype=GROUP,
    )
    assert result["id"] == "g-1"
    assert result["displayName"] == "Test SCIMv2"


def test_path_less_values_ignore_schemas_and_meta():
    result = patch(
        user_doc(),
        {"op": "replace", "value": {"schemas": [], "meta": {"version": "x"}, "title": "T"}},
    )
    assert result["schemas"] == user_doc()["schemas"]
    assert result["meta"] == user_doc()["meta"]
    assert result["title"] == "T"


def test_read_only_sub_attributes_inside_a_value_are_dropped():
    result = patch(
        user_doc(),
        {
            "op": "replace",
            "path": f"{ENTERPRISE_USER}:manager",
            "value": {"value": "new-boss", "displayName": "New Boss"},
        },
    )
    assert result[ENTERPRISE_USER]["manager"] == {"value": "new-boss"}


def test_an_immutable_sub_attribute_may_be_set_when_absent():
    result = patch(
        group_doc(),
        {"op": "add", "path": 'members[value eq "m-2"].type', "value": "User"},
        rtype=GROUP,
    )
    assert result["members"][1] == {"value": "m-2", "type": "User"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": 'members[value eq "m-1"].value', "value": "m-9"},
        {"op": "replace", "path": 'members[value eq "m-1"].type', "value": "Group"},
        {"op": "replace", "path": 'members[value eq "m-1"]', "value": {"value": "m-9"}},
        {"op": "remove", "path": 'members[value eq "m-1"].type'},
    ],
)
def test_changing_an_existing_immutable_value_is_mutability(operation):
    with pytest.raises(MutabilityError):
        patch(group_doc(), operation, rtype=GROUP)


def test_rewriting_an_immutable_value_unchanged_is_allowed():
    result = patch(
        group_doc(),
        {
            "op": "replace",
            "path": 'members[value eq "m-1"]',
            "value": {"value": "m-1", "type": "User"},
        },
        rtype=GROUP,
    )
    assert result == group_doc()


# ---------------------------------------------------------------------------
# Types (RFC 7643 §2.3)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "userName", "value": 5}, "userName"),
        ({"op": "replace", "path": "active", "value": "False"}, "active"),
        ({"op": "replace", "path": "active", "value": "yes"}, "active"),
        ({"op": "replace", "path": "name", "value": "Barbara Jensen"}, "name"),
        ({"op": "add", "path": "emails", "value": ["x@example.com"]}, "emails"),
        ({"op": "add", "path": "emails", "value": [{"value": 5}]}, "emails.value"),
        ({"op": "add", "path": "emails", "value": [{"value": "x", "colour": "red"}]}, "colour"),
        ({"op": "replace", "path": 'emails[type eq "work"].primary', "value": "true"}, "primary"),
        ({"op": "replace", "path": f"{ENTERPRISE_USER}:manager", "value": "boss"}, "manager"),
        ({"op": "replace", "value": {ENTERPRISE_USER: "not an object"}}, ENTERPRISE_USER),
        ({"op": "replace", "value": {"active": "False"}}, "active"),
    ],
)
def test_a_value_of_the_wrong_type_is_invalid_value_naming_the_attribute(operation, named):
    with pytest.raises(InvalidValueError) as caught:
        patch(user_doc(), operation)
    assert named in caught.value.detail


def test_a_filtered_replace_takes_one_object():
    with pytest.raises(InvalidValueError):
        patch(
            user_doc(),
            {"op": "replace", "path": 'emails[type eq "home"]', "value": [{"value": "a"}, {}]},
        )


def test_a_filtered_replace_accepts_a_one_element_list():
    result = patch(
        user_doc(),
        {"op": "replace", "path": 'emails[type eq "home"]', "value": [{"value": "h@x"}]},
    )
    assert emails(result)[1] == {"value": "h@x"}


# ---------------------------------------------------------------------------
# Purity and atomicity
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "value": {"active": False, "name": {"givenName": "X"}}},
        {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@x"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
        {"op": "remove", "path": f"{ENTERPRISE_USER}:manager"},
        {"op": "add", "path": "name.middleName", "value": "J"},
    ],
)
def test_apply_patch_never_mutates_its_input(operation):
    doc = user_doc()
    snapshot = copy.deepcopy(doc)
    operations = ops(operation)
    result = apply_patch(doc, operations, USER)
    assert doc == snapshot
    assert result != snapshot


def test_a_failing_second_operation_raises_and_leaves_the_input_untouched():
    """RFC 7644 §3.5.2: PATCH is atomic; apply_patch raises so the caller applies nothing."""
    doc = user_doc()
    snapshot = copy.deepcopy(doc)
    operations = ops(
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "id", "value": "stolen"},
    )
    with pytest.raises(MutabilityError):
        apply_patch(doc, operations, USER)
    assert doc == snapshot


def test_operations_apply_in_order():
    result = patch(
        user_doc(),
        {"op": "replace", "path": "title", "value": "first"},
        {"op": "replace", "path": "title", "value": "second"},
        {"op": "add", "path": 'emails[type eq "home"].display', "value": "H"},
        {"op": "remove", "path": 'emails[display eq "H"]'},
    )
    assert result["title"] == "second"
    assert emails(result) == [emails(user_doc())[0]]


def test_apply_patch_rejects_a_hand_built_path_less_remove():
    with pytest.raises(NoTargetError):
        apply_patch(user_doc(), [PatchOperation("remove", None, None)], USER)


def test_apply_patch_rejects_a_hand_built_unknown_op():
    with pytest.raises(InvalidSyntaxError):
        apply_patch(user_doc(), [PatchOperation("move", parse_path("title", USER), "x")], USER)


# ---------------------------------------------------------------------------
# split_member_operations
# ---------------------------------------------------------------------------


def test_split_member_operations_separates_member_paths_in_order():
    parsed = ops(
        {"op": "remove", "path": 'members[value eq "m-1"]'},
        {"op": "replace", "path": "displayName", "value": "x"},
        {"op": "add", "path": "members", "value": [{"value": "m-3"}]},
        rtype=GROUP,
    )
    members, others = split_member_operations(parsed, GROUP)
    assert members == [parsed[0], parsed[2]]
    assert others == [parsed[1]]


def test_split_member_operations_turns_a_path_less_members_key_into_its_own_operation():
    parsed = ops(
        {"op": "replace", "value": {"displayName": "x", "Members": [{"value": "m-3"}]}},
        rtype=GROUP,
    )
    members, others = split_member_operations(parsed, GROUP)
    assert len(members) == 1
    assert members[0].op == "replace"
    assert members[0].path is not None and members[0].path.attribute.name == "members"
    assert members[0].value == [{"value": "m-3"}]
    assert others == [PatchOperation("replace", None, {"displayName": "x"})]


def test_split_member_operations_without_rtype_leaves_the_split_operation_path_less():
    parsed = ops({"op": "add", "value": {"members": [{"value": "m-3"}]}}, rtype=GROUP)
    members, others = split_member_operations(parsed)
    assert members == [PatchOperation("add", None, [{"value": "m-3"}])]
    assert others == []


def test_split_member_operations_keeps_everything_else():
    parsed = ops({"op": "replace", "value": {"externalId": "e"}}, rtype=GROUP)
    assert split_member_operations(parsed, GROUP) == ([], parsed)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

_TEXT = st.text(min_size=1, max_size=8)
_EMAIL = st.fixed_dictionaries(
    {"value": _TEXT},
    optional={"type": st.sampled_from(["work", "home", "other"]), "primary": st.booleans()},
)
_DOCS = st.sampled_from([user_doc(), minimal_user_doc()])

_REPLACEMENTS = st.one_of(
    st.tuples(st.just("userName"), _TEXT),
    st.tuples(st.just("displayName"), _TEXT),
    st.tuples(st.just("active"), st.booleans()),
    st.tuples(st.just("name.givenName"), _TEXT),
    st.tuples(st.just("name"), st.fixed_dictionaries({}, optional={"givenName": _TEXT})),
    st.tuples(st.just("emails"), st.lists(_EMAIL, max_size=3)),
    st.tuples(st.just('emails[type eq "work"].value'), _TEXT),
    st.tuples(st.just('emails[type eq "home"].primary'), st.booleans()),
    st.tuples(st.just(f"{ENTERPRISE_USER}:employeeNumber"), _TEXT),
    st.tuples(st.just(f"{ENTERPRISE_USER}:manager"), st.fixed_dictionaries({"value": _TEXT})),
    st.tuples(
        st.none(),
        st.fixed_dictionaries({}, optional={"title": _TEXT, "active": st.booleans()}),
    ),
)


@given(_DOCS, _REPLACEMENTS)
def test_replace_is_idempotent(doc, replacement):
    path, value = replacement
    operation = {"op": "replace", "value": value} | ({"path": path} if path else {})
    try:
        once = patch(doc, operation)
    except ScimError:
        assume(False)
    assert patch(once, operation) == once


@given(_DOCS, _TEXT, st.sampled_from(["work", "home", "other", None]))
def test_add_then_remove_of_a_new_email_restores_the_document(doc, value, kind):
    existing = {email["value"].casefold() for email in doc.get("emails", [])}
    assume(value.casefold() not in existing)
    new = {"value": value} | ({"type": kind} if kind else {})
    added = patch(doc, {"op": "add", "path": "emails", "value": [new]})
    assert new in emails(added)
    removed = patch(added, {"op": "remove", "path": f"emails[value eq {json.dumps(value)}]"})
    assert removed == doc


_PATHS = st.sampled_from(
    [
        None,
        "userName",
        "UserName",
        "name",
        "name.givenName",
        "emails",
        'emails[type eq "work"]',
        'emails[type eq "work"].value',
        'emails[primary eq "True"].type',
        "emails.primary",
        "active",
        "id",
        "meta.version",
        "groups",
        f"{ENTERPRISE_USER}:manager",
        f"{ENTERPRISE_USER}:manager.value",
        f"{PRODUCT_USER}:adminDisabled",
        "nickName",
        "bogus",
        "emails[bogus eq 1]",
    ]
)
_KEYS = st.sampled_from(
    [
        "value",
        "type",
        "primary",
        "givenName",
        "active",
        "userName",
        "id",
        "display",
        "name",
        ENTERPRISE_USER,
        "emails",
        "x",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "work", "True", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
_PLAUSIBLE = st.sampled_from(
    [
        "x",
        True,
        False,
        {"givenName": "G"},
        {"value": "a@x", "type": "work", "primary": True},
        [{"value": "b@x", "type": "home"}],
        {"title": "T", "active": False},
        {"id": "other", "displayName": "D"},
        {"value": "boss"},
    ]
)
_SENSIBLE = st.sampled_from(
    [
        ("userName", "new"),
        ("name", {"givenName": "G"}),
        ("name.givenName", "G"),
        ("emails", [{"value": "b@x", "type": "home", "primary": True}]),
        ("emails", {"value": "c@x"}),
        ('emails[type eq "work"]', {"value": "w@x", "type": "work"}),
        ('emails[type eq "work"].value', "w2@x"),
        ('emails[primary eq "True"].type', "other"),
        ("emails.primary", False),
        ("active", False),
        (f"{ENTERPRISE_USER}:manager", {"value": "boss"}),
        (f"{ENTERPRISE_USER}:manager.value", "boss2"),
        (None, {"title": "T", "active": True}),
        (None, {"id": "other", "displayName": "D"}),
        (None, {ENTERPRISE_USER: {"department": "Ops"}}),
    ]
)


def _raw_op(op: str, path: str | None, value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"op": op}
    if path is not None:
        raw["path"] = path
    if op.lower() != "remove":
        raw["value"] = value
    return raw


_RANDOM_OP = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "copy"])},
    optional={"path": _PATHS, "value": _PLAUSIBLE | _JSON},
)
_SENSIBLE_OP = st.builds(
    lambda op, pair: _raw_op(op, *pair), st.sampled_from(["add", "replace", "remove"]), _SENSIBLE
)
_RAW_OPS = st.lists(_SENSIBLE_OP | _SENSIBLE_OP | _RANDOM_OP, min_size=1, max_size=4)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, _RAW_OPS)
def test_parse_and_apply_on_random_operations_return_a_document_or_raise_scim_error(doc, raw):
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, parse_patch(body(*raw), USER, max_operations=10), USER)
    except ScimError:
        assert doc == snapshot
        return
    assert isinstance(result, dict)
    assert doc == snapshot
    assert (result["id"], result["meta"]) == (doc["id"], doc["meta"])


_PARSED_PATHS = st.sampled_from(
    [None]
    + [
        parse_path(text, USER)
        for text in (
            "userName",
            "name",
            "name.givenName",
            "emails",
            'emails[type eq "work"]',
            'emails[type eq "work"].value',
            "emails.type",
            "active",
            f"{ENTERPRISE_USER}:manager",
            f"{ENTERPRISE_USER}:employeeNumber",
        )
    ]
)


@given(
    _DOCS,
    st.lists(
        st.builds(
            PatchOperation,
            st.sampled_from(["add", "replace", "remove"]),
            _PARSED_PATHS,
            _PLAUSIBLE | _JSON,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_apply_patch_on_hand_built_operations_returns_a_document_or_scim_error(doc, operations):
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, operations, USER)
    except ScimError:
        assert doc == snapshot
        return
    assert isinstance(result, dict)
    assert doc == snapshot
