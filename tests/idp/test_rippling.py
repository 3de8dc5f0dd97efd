"""Rippling's provisioning traffic replayed (docs/idp-dialects.md §3.4).

Sources: WorkOS's Rippling set-up guide,
https://workos.com/docs/integrations/rippling-scim/2-create-your-rippling-application (a
Custom App with "User Management via SCIM", SCIM 2.0, bearer token; the admin ticks groups,
pagination, delete groups and PATCH groups, and lists the supported attributes: ``externalId``,
``emails.primary``, ``name.givenName``, ``name.familyName``), Kombo's guide,
https://help.kombo.dev/hc/en-us/articles/35612530773521-Rippling-SCIM-How-do-I-link-my-account
(also ``employeeNumber``; "Use PATCH to edit Groups"), and
https://authn-sh-docs.pages.dev/guides/scim/rippling/ (Test connection reads
``/ServiceProviderConfig``; provisioning follows hire and termination dates) [doc-3rd]. The
PATCH bodies are the RFC 7644 forms of those operations [unverified wire shape].
"""

from __future__ import annotations

import pytest

from tests.idp.replay import create_user_from
from tests.idp_samples import sample
from tests.scim_client import ENTERPRISE
from tests.scim_client import Scim


@pytest.fixture
def rippling(client, org) -> Scim:
    return Scim(client, org.token)


def _hire(rippling: Scim) -> dict:
    return create_user_from(rippling, "rippling-create-user", "rippling.test")


def test_test_connection_reads_the_service_provider_config(client):
    config = client.get("/scim/v2/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.get_json()["patch"]["supported"] is True


def test_hire_with_sparse_attributes_and_employee_number(rippling):
    user = _hire(rippling)
    assert user[ENTERPRISE]["employeeNumber"] == "E-1001"
    assert user["emails"][0]["primary"] is True
    found = rippling.filter_users(f'externalId eq "{user["externalId"]}"')
    assert [r["id"] for r in found["Resources"]] == [user["id"]]


def test_groups_are_created_empty_then_edited_by_patch_and_deleted(rippling):
    alice, bob = _hire(rippling)["id"], _hire(rippling)["id"]
    group = rippling.post("/Groups", sample("rippling-create-group", group_name="Ripplers"))
    assert group.status_code == 201, group.get_json()
    path = f"/Groups/{group.get_json()['id']}"
    rippling.patch(path, [{"op": "add", "path": "members", "value": [{"value": bob}]}])
    ops = sample("rippling-patch-group-members", added=alice, removed=bob)
    assert rippling.request("PATCH", path, ops).status_code in (200, 204)
    assert [m["value"] for m in rippling.get(path).get_json()["members"]] == [alice]
    assert rippling.delete(path).status_code == 204


def test_termination_deactivates_and_the_user_stays_readable(rippling):
    user = _hire(rippling)
    path = f"/Users/{user['id']}"
    off = rippling.request("PATCH", path, sample("rippling-patch-terminate"))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert rippling.get(path).get_json()["active"] is False
