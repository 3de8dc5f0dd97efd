"""PingFederate's and PingOne's SCIM Provisioner traffic replayed (docs/idp-dialects.md §3.5).

Sources: the SCIM Provisioner's specification table,
https://docs.pingidentity.com/integrations/scim/pf_scim_connector.html (PATCH for groups
only, never for users; group lookup by retrieving all groups and matching), its user and
group management page,
https://docs.pingidentity.com/integrations/scim/pf_scim_connector_user_and_group_management.html
(users linked by ``userName``; create, update, disable or delete by the Remove User Action;
group create, rename, membership updates and deletion), the settings reference,
https://docs.pingidentity.com/integrations/scim/setup/pf_scim_connector_scim_connector_settings_reference.html,
and PingOne's provisioner features, https://docs.pingidentity.com/pingone/integrations/p1_scim_provisioning_features.html
(the same capabilities). User updates and disables are therefore full PUTs; the group PATCH
bodies are the RFC 7644 forms of those operations [unverified wire shape].
"""

from __future__ import annotations

import uuid

import pytest

from tests.idp_samples import sample
from tests.scim_client import ENTERPRISE
from tests.scim_client import Scim

USER_NAME = "jsmith"


@pytest.fixture
def ping(client, org) -> Scim:
    return Scim(client, org.token)


def _create(ping: Scim) -> dict:
    body = sample("pingfederate-create-user", user_name=USER_NAME, external_id=uuid.uuid4().hex)
    created = ping.post("/Users", body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def test_existing_user_is_linked_by_user_name(ping):
    assert ping.filter_users(f'userName eq "{USER_NAME}"')["totalResults"] == 0
    user = _create(ping)
    found = ping.filter_users(f'userName eq "{USER_NAME.upper()}"')
    assert [r["id"] for r in found["Resources"]] == [user["id"]]


def test_update_disable_and_re_enable_are_full_puts(ping):
    user = _create(ping)
    path = f"/Users/{user['id']}"
    body = sample("pingfederate-create-user", user_name=USER_NAME, external_id=user["externalId"])
    body[ENTERPRISE]["department"] = "Support"
    assert ping.put(path, body).get_json()[ENTERPRISE]["department"] == "Support"
    disabled = ping.put(path, {**body, "active": False})
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert ping.put(path, {**body, "active": True}).get_json()["active"] is True
    assert ping.delete(path).status_code == 204


def test_group_lookup_by_listing_all_groups_then_patch_members_rename_delete(ping):
    alice, bob = ping.create_user()["id"], ping.create_user()["id"]
    for n in range(3):
        ping.create_group(f"other-{n}")
    created = ping.post(
        "/Groups", sample("pingfederate-create-group", group_name="Ping Sales", member=bob)
    )
    assert created.status_code == 201, created.get_json()
    listed = [
        g
        for start in (1, 3)
        for g in ping.get("/Groups", query_string={"startIndex": start, "count": 2}).get_json()[
            "Resources"
        ]
    ]
    assert [g["id"] for g in listed if g["displayName"] == "Ping Sales"] == [
        created.get_json()["id"]
    ]
    path = f"/Groups/{created.get_json()['id']}"
    ops = sample("pingfederate-patch-group-members", added=alice, removed=bob)
    assert ping.request("PATCH", path, ops).status_code in (200, 204)
    rename = sample("pingfederate-patch-group-rename", group_name="Ping Sales EMEA")
    assert ping.request("PATCH", path, rename).status_code in (200, 204)
    group = ping.get(path).get_json()
    assert group["displayName"] == "Ping Sales EMEA"
    assert [m["value"] for m in group["members"]] == [alice]
    assert ping.delete(path).status_code == 204
