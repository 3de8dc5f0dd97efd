"""PATCH (RFC 7644 §3.5.2): parsing a PatchOp, and the errors any operation can raise
(mutability, types, atomicity), and splitting member operations off for the group path."""

from __future__ import annotations

import copy

import pytest

from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import MutabilityError
from scim_server.scim.errors import NoTargetError
from scim_server.scim.errors import TooManyError
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import parse_patch
from scim_server.scim.patch import split_member_operations
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import PRODUCT_USER
from tests.idp_samples import sample_operations
from tests.scim.patch_documents import GROUP
from tests.scim.patch_documents import USER
from tests.scim.patch_documents import body
from tests.scim.patch_documents import emails
from tests.scim.patch_documents import group_doc
from tests.scim.patch_documents import ops
from tests.scim.patch_documents import patch
from tests.scim.patch_documents import user_doc

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
    rename = {"group": "abf4dd94-…", "display_name": "Test SCIMv2"}
    sent = sample_operations("okta-patch-group-rename", **rename)
    result = patch(group_doc(), *sent, rtype=GROUP)
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
