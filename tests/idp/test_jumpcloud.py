"""JumpCloud's provisioning traffic replayed (docs/idp-dialects.md §3.2).

Sources: "Identity Management using a Custom SCIM Integration",
https://jumpcloud.com/support/provision-and-manage-users-and-groups-in-apps-using-custom-scim-identity-management-integration
(Test Connection creates a test user and a test group and deletes both, or only deactivates
the user when DELETE is unsupported; empty groups are not created; groups sync on every
membership change; renames are supported; deleted groups are deleted) and, for the member
removal by a ``value`` list without a filter, a service provider's JumpCloud set-up note,
https://app.uni-moni.com/en/kb/sso-setup-jumpcloud [doc-3rd]. The deactivation body is the
RFC 7644 form of "change an existing user to inactive" [unverified wire shape].
"""

from __future__ import annotations

import pytest

from tests.idp.replay import create_user_from
from tests.idp_samples import sample
from tests.scim_client import Scim

NEW_USER = ("jumpcloud-create-user", "jumpcloud.test")


@pytest.fixture
def jumpcloud(client, org) -> Scim:
    return Scim(client, org.token)


def test_connection_test_creates_and_deletes_a_test_user_and_group(jumpcloud):
    user = create_user_from(jumpcloud, *NEW_USER)
    group = jumpcloud.post(
        "/Groups", sample("jumpcloud-create-group", group_name="JC test group", member=user["id"])
    )
    assert group.status_code == 201, group.get_json()
    assert [m["value"] for m in group.get_json()["members"]] == [user["id"]]
    assert jumpcloud.delete(f"/Groups/{group.get_json()['id']}").status_code == 204
    assert jumpcloud.delete(f"/Users/{user['id']}").status_code == 204
    assert jumpcloud.get(f"/Users/{user['id']}").status_code == 404


def test_member_removal_by_value_list_removes_only_those_members(jumpcloud):
    alice, bob = (
        create_user_from(jumpcloud, *NEW_USER)["id"],
        create_user_from(jumpcloud, *NEW_USER)["id"],
    )
    group = jumpcloud.create_group("JC engineers", members=[alice, bob])
    ops = sample("jumpcloud-patch-remove-members-value-list", removed=bob)
    assert jumpcloud.request("PATCH", f"/Groups/{group['id']}", ops).status_code in (200, 204)
    members = jumpcloud.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [alice]


def test_rename_and_deactivate(jumpcloud):
    user = create_user_from(jumpcloud, *NEW_USER)
    group = jumpcloud.create_group("JC old name", members=[user["id"]])
    rename = sample("jumpcloud-patch-group-rename", group_name="JC new name")
    assert jumpcloud.request("PATCH", f"/Groups/{group['id']}", rename).status_code in (200, 204)
    assert jumpcloud.get(f"/Groups/{group['id']}").get_json()["displayName"] == "JC new name"
    off = jumpcloud.request("PATCH", f"/Users/{user['id']}", sample("jumpcloud-patch-deactivate"))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert jumpcloud.get(f"/Users/{user['id']}").get_json()["active"] is False
