"""PATCH ``add`` (RFC 7644 §3.5.2.1), and the single ``primary`` rule (RFC 7643 §2.4) that
adding or replacing a primary value keeps."""

from __future__ import annotations

from typing import Any

import pytest

from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import NoTargetError
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from tests.scim.patch_documents import emails
from tests.scim.patch_documents import minimal_user_doc
from tests.scim.patch_documents import patch
from tests.scim.patch_documents import user_doc

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
