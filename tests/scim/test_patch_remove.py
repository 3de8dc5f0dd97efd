"""PATCH ``remove`` (RFC 7644 §3.5.2.2)."""

from __future__ import annotations

import pytest

from scim_server.scim.errors import InvalidValueError
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PRODUCT_USER
from tests.scim.patch_documents import GROUP
from tests.scim.patch_documents import emails
from tests.scim.patch_documents import group_doc
from tests.scim.patch_documents import minimal_user_doc
from tests.scim.patch_documents import patch
from tests.scim.patch_documents import user_doc

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
