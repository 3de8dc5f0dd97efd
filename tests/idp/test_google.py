"""Google Workspace's automated user provisioning replayed (docs/idp-dialects.md §3.3).

Sources: "About automated user provisioning", https://support.google.com/a/answer/7681608
(users are synced every few hours; active, suspended or deleted users; deprovisioning by
suspend or delete), and a service provider's Google Workspace guide,
https://authn-sh-docs.pages.dev/guides/scim/google-workspace/ (the ``/Users?count=1`` probe
when the app is saved; deprovisioning triggers that delete) [doc-3rd]. Google maps users
only (no group push) and sends no extension attributes. The update and suspend bodies are
the RFC 7644 forms of those operations [unverified wire shape].
"""

from __future__ import annotations

import pytest

from tests.idp_samples import sample
from tests.scim_client import Scim

USER_NAME = "gail.green@workspace.test"


@pytest.fixture
def google(client, org) -> Scim:
    return Scim(client, org.token)


def test_save_probe_reads_one_user(google):
    empty = google.get("/Users", query_string={"count": 1})
    assert empty.status_code == 200 and empty.get_json()["totalResults"] == 0
    google.post("/Users", sample("google-create-user", user_name=USER_NAME))
    google.create_user()
    page = google.get("/Users", query_string={"count": 1}).get_json()
    assert page["totalResults"] == 2 and len(page["Resources"]) == 1


def test_create_update_suspend_restore_and_delete(google):
    created = google.post("/Users", sample("google-create-user", user_name=USER_NAME))
    assert created.status_code == 201, created.get_json()
    path = f"/Users/{created.get_json()['id']}"
    update = google.request("PATCH", path, sample("google-patch-update-name"))
    assert update.get_json()["name"]["familyName"] == "Grey"
    off = google.request("PATCH", path, sample("google-patch-suspend"))
    assert off.status_code == 200 and off.get_json()["active"] is False
    back = google.patch(path, [{"op": "replace", "path": "active", "value": True}])
    assert back.get_json()["active"] is True
    assert google.delete(path).status_code == 204
    assert google.get(path).status_code == 404
    assert google.filter_users(f'userName eq "{USER_NAME}"')["totalResults"] == 0


def test_periodic_sync_re_sends_the_same_user_as_a_no_op(google):
    """A sync every few hours re-asserts the same values: same answer, no new version."""
    created = google.post("/Users", sample("google-create-user", user_name=USER_NAME)).get_json()
    path = f"/Users/{created['id']}"
    first = google.request("PATCH", path, sample("google-patch-update-name")).get_json()
    again = google.request("PATCH", path, sample("google-patch-update-name")).get_json()
    assert again["meta"]["version"] == first["meta"]["version"]
