"""The provisioning log through the management API: failures are findable, with why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from scim_server.storage.models import ProvisioningLogEntry
from scim_server.storage.models import utcnow
from tests.api.admin import listing
from tests.scim_client import USER

OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


def log(admin: Any, **params: str) -> Any:
    return listing.page(admin, "provisioning-log", **params)


def entries(admin: Any, **params: str) -> list[dict[str, Any]]:
    return listing.items(admin, "provisioning-log", "entries", **params)


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, "active": True, **extra}


def test_a_duplicate_post_is_findable_by_user_name_and_status_with_its_detail(scim, admin):
    scim.post("/Users", user_body("ann@example.com"))
    second = scim.post("/Users", user_body("ANN@example.com", password="hunter2"), headers=OKTA)
    assert second.status_code == 409
    found = entries(admin, user_name="ann@example.com", status="4xx")
    assert len(found) == 1
    entry = found[0]
    assert entry["status"] == 409
    assert entry["scim_type"] == "uniqueness"
    assert entry["detail"] == second.get_json()["detail"]
    assert entry["idp"] == "okta"
    assert entry["method"] == "POST" and entry["resource_type"] == "User"
    assert entry["request_id"] == second.headers["X-Request-Id"]
    assert "hunter2" not in entry["request_body"]
    assert '"password":"[redacted]"' in entry["request_body"]
    assert entry["duration_ms"] >= 0 and entry["token_id"]


def test_a_successful_write_is_recorded_with_the_events_it_wrote(scim, admin):
    created = scim.post("/Users", user_body("bob@example.com", externalId="ext-bob"))
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    (entry,) = entries(admin, external_id="ext-bob")
    assert entry["status"] == 201 and entry["resource_id"] == user_id
    assert entry["user_name"] == "bob@example.com"
    detail = admin.call("GET", f"/organizations/{admin.org_id}/provisioning-log/{entry['id']}")
    assert detail.status_code == 200
    types = [e["type"] for e in detail.get_json()["events"]]
    assert "user.created" in types
    assert all(e["request_id"] == entry["request_id"] for e in detail.get_json()["events"])


def test_a_patch_of_a_missing_user_and_a_bad_filter_are_recorded(scim, admin):
    missing = "00000000-0000-0000-0000-000000000000"
    patched = scim.patch(f"/Users/{missing}", [{"op": "replace", "path": "active", "value": False}])
    assert patched.status_code == 404
    (entry,) = entries(admin, resource_id=missing)
    assert entry["status"] == 404 and entry["method"] == "PATCH"
    bad = scim.get("/Users?filter=userName%20eq")
    assert bad.status_code == 400
    (entry,) = entries(admin, error="invalidFilter")
    assert entry["status"] == 400 and "filter=" in entry["path"]
    invalid = scim.post("/Users", {"schemas": [USER], "userName": 42})
    assert invalid.status_code == 400
    assert [e["status"] for e in entries(admin, status="400")] == [400, 400]


def test_successful_reads_are_not_recorded_by_default(scim, admin):
    user = scim.create_user()
    assert scim.get(f"/Users/{user['id']}").status_code == 200
    assert [e["method"] for e in entries(admin)] == ["POST"]


@pytest.mark.parametrize("app_overrides", [{"PROVISIONING_LOG_READS": True}])
def test_successful_reads_are_recorded_when_asked(scim, admin):
    user = scim.create_user()
    assert scim.get(f"/Users/{user['id']}").status_code == 200
    assert [e["method"] for e in entries(admin)] == ["GET", "POST"]


@pytest.mark.parametrize("app_overrides", [{"PROVISIONING_LOG": False}])
def test_the_log_can_be_switched_off(scim, admin):
    scim.create_user()
    assert entries(admin) == []


def test_entra_is_recognised_by_its_dialect_flag(scim, admin):
    scim.get("/Users?aadOptscim062020&filter=bad")
    assert [e["idp"] for e in entries(admin)] == ["entra"]
    assert entries(admin, idp="entra") and not entries(admin, idp="okta")


def test_newest_first_with_a_cursor(scim, admin):
    names = [scim.create_user()["userName"] for _ in range(3)]
    first = log(admin, limit="2").get_json()
    assert [e["user_name"] for e in first["entries"]] == names[::-1][:2]
    rest = log(admin, limit="2", after=first["next_cursor"]).get_json()
    assert [e["user_name"] for e in rest["entries"]] == names[:1]
    assert rest["next_cursor"] is None


def test_time_range(scim, admin, db):
    scim.create_user()
    db.execute(update(ProvisioningLogEntry).values(at=utcnow() - timedelta(days=2)))
    db.commit()
    scim.create_user()
    yesterday = (utcnow() - timedelta(days=1)).isoformat() + "Z"
    assert len(entries(admin, since=yesterday)) == 1
    assert len(entries(admin, until=yesterday)) == 1


def test_large_bodies_are_cut(scim, admin):
    scim.post("/Users", user_body("big@example.com", displayName="x" * 20000))
    (entry,) = entries(admin)
    assert len(entry["request_body"].encode()) < 8300
    assert "cut at 8192" in entry["request_body"]


def test_a_body_over_the_parse_limit_is_not_stored(scim, admin, monkeypatch):
    from scim_server.services.organizations import provisioning_log

    monkeypatch.setattr(provisioning_log, "PARSE_LIMIT", 100)
    scim.post("/Users", user_body("huge@example.com", displayName="y" * 200))
    (entry,) = entries(admin)
    assert entry["request_body"].endswith("over 100 bytes, not stored)")
    assert entry["user_name"] == "huge@example.com"  # from the created User instead


@pytest.mark.parametrize(
    "params",
    [{"nope": "1"}, {"status": "4x"}, {"idp": "okra"}, {"since": "yesterday"}, {"after": "x"}],
)
def test_bad_parameters_are_400_and_name_the_problem(admin, params):
    response = log(admin, **params)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("validation_error", "cursor_invalid")


def test_another_organisations_log_is_not_visible(scim, admin, other_org, client):
    from tests.scim_client import Admin

    scim.create_user()
    (entry,) = entries(admin)
    other = Admin(client, other_org.management_key, other_org.id)
    assert (
        other.call("GET", f"/organizations/{other_org.id}/provisioning-log").get_json()["entries"]
        == []
    )
    path = f"/organizations/{other_org.id}/provisioning-log/{entry['id']}"
    assert other.call("GET", path).status_code == 404
    assert log(other).status_code == 200


def test_prune_batch_deletes_only_old_entries_on_either_database(scim, admin, db):
    from scim_server.services.organizations import provisioning_log

    for _ in range(3):
        scim.create_user()
    oldest = db.scalar(select(func.min(ProvisioningLogEntry.id)))
    db.execute(
        update(ProvisioningLogEntry)
        .where(ProvisioningLogEntry.id == oldest)
        .values(at=utcnow() - timedelta(days=31))
    )
    assert provisioning_log.prune_batch(db, utcnow() - timedelta(days=30)) == 1
    db.commit()
    assert len(entries(admin)) == 2 and oldest not in {int(e["id"]) for e in entries(admin)}
