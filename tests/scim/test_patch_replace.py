"""PATCH ``replace`` (RFC 7644 §3.5.2.3)."""

from __future__ import annotations

import pytest

from scim_server.scim.errors import NoTargetError
from tests.idp_samples import sample_operations
from tests.scim.patch_documents import GROUP
from tests.scim.patch_documents import emails
from tests.scim.patch_documents import group_doc
from tests.scim.patch_documents import patch
from tests.scim.patch_documents import user_doc

# ---------------------------------------------------------------------------
# replace
# ---------------------------------------------------------------------------


def test_okta_deactivate_path_less_replace_sets_active_false():
    """docs/idp-dialects.md §1.5, verbatim."""
    result = patch(user_doc(), *sample_operations("okta-patch-deactivate"))
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
