"""OneLogin's provisioning traffic replayed (docs/idp-dialects.md §3.1).

Sources: the SCIM JSON templates OneLogin documents for its "SCIM Provisioner with SAML"
connectors, https://developers.onelogin.com/scim/define-user-schema (Core and Enterprise
User Schema, both with SCIM 1.1 URNs and, in the enterprise one, ``emails`` as one object and
``manager.managerId``), and the connector set-up guide
https://onelogin.service-now.com/kb?id=kb_article_view&sysparm_article=KB0013904. OneLogin
publishes no wire capture of its PATCH bodies; the deactivate and group samples are the
RFC 7644 forms of the operations the guide lists [unverified wire shape].
"""

from __future__ import annotations

import pytest

from tests.idp_samples import sample
from tests.scim_client import ENTERPRISE
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error


@pytest.fixture
def onelogin(client, org) -> Scim:
    return Scim(client, org.token)


def test_core_template_with_the_scim_1_1_urn_creates_a_user(onelogin):
    """https://developers.onelogin.com/scim/define-user-schema (OneLogin Core User Schema)."""
    created = onelogin.post("/Users", sample("onelogin-create-user-core-1-0"))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["userName"] == "jane.doe@onelogin.test"
    assert body["name"]["formatted"] == "Jane Doe"
    assert "urn:scim:schemas:core:1.0" not in body["schemas"]
    assert_scim_error(
        onelogin.post("/Users", sample("onelogin-create-user-core-1-0")), 409, "uniqueness"
    )


def test_enterprise_template_maps_the_1_1_extension_single_email_and_manager_id(onelogin):
    """https://developers.onelogin.com/scim/define-user-schema (OneLogin Enterprise User
    Schema): ``urn:scim:schemas:extension:enterprise:1.0``, ``emails`` as one object and
    ``manager.managerId``."""
    manager = onelogin.post("/Users", sample("onelogin-create-user-core-1-0")).get_json()
    body = sample(
        "onelogin-create-user-enterprise-1-0",
        user_name="rick@onelogin.test",
        manager_id=manager["id"],
    )
    created = onelogin.post("/Users", body)
    assert created.status_code == 201, created.get_json()
    user = onelogin.get(f"/Users/{created.get_json()['id']}").get_json()
    assert user["emails"] == [{"value": "rick@onelogin.test", "type": "work", "primary": True}]
    assert user[ENTERPRISE]["department"] == "R&D"
    assert user[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert ENTERPRISE in user["schemas"]


def test_template_update_by_put_deactivate_and_delete(onelogin):
    """Updates re-send the template by PUT; deprovisioning is the admin's choice of suspend
    (``active`` false) or delete (KB0013904)."""
    created = onelogin.post("/Users", sample("onelogin-create-user-core-1-0")).get_json()
    path = f"/Users/{created['id']}"
    body = sample("onelogin-create-user-core-1-0")
    body["name"]["familyName"] = "Dough"
    assert onelogin.put(path, body).get_json()["name"]["familyName"] == "Dough"
    off = onelogin.request("PATCH", path, sample("onelogin-patch-deactivate"))
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert onelogin.delete(path).status_code == 204
    assert onelogin.get(path).status_code == 404


def test_group_provisioning_adds_and_removes_members(onelogin):
    alice, bob = onelogin.create_user()["id"], onelogin.create_user()["id"]
    group = onelogin.create_group("OneLogin Role", members=[bob])
    ops = sample("onelogin-patch-group-members", added=alice, removed=bob)
    assert onelogin.request("PATCH", f"/Groups/{group['id']}", ops).status_code in (200, 204)
    members = onelogin.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [alice]
    assert onelogin.delete(f"/Groups/{group['id']}").status_code == 204
