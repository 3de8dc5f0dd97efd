"""SCIM tokens over the management API (docs/api.md §3.1): an organisation's IT admin
rotates its IdP's token self-serve and can see when each token was last used.

Reading of the spec where it leaves a choice: ``last_used_at`` is bookkeeping, not a change
an admin made, so it records no event (an event per minute per token would drown the
trail); creating and revoking do.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from scim_server import auth
from scim_server.services.organizations.tokens import ScimCredentials
from scim_server.storage.models import ApiToken
from scim_server.storage.models import utcnow
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error
from tests.sql_statements import statements_during


def tokens_path(org_id: str, suffix: str = "") -> str:
    return f"/organizations/{org_id}/scim-tokens{suffix}"


def listed(who: Admin, org_id: str) -> dict[str, dict]:
    response = who.call("GET", tokens_path(org_id))
    assert response.status_code == 200, response.get_json()
    return {t["id"]: t for t in response.get_json()["scim_tokens"]}


def issue(who: Admin, org_id: str) -> dict:
    response = who.call("POST", tokens_path(org_id))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture(autouse=True)
def fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every SCIM read authenticates afresh here: these tests are about the token row,
    not the one-second read cache (tests/test_auth.py holds that bound)."""
    monkeypatch.setattr(auth, "READ_CREDENTIALS_SECONDS", 0.0)


def scim_status(client, secret: str) -> int:
    return int(Scim(client, secret).get("/Users").status_code)


def test_a_created_token_is_shown_once_and_works(client, admin, org):
    created = issue(admin, org.id)
    assert created["token"].startswith(created["prefix"])
    assert created["revoked"] is False and created["last_used_at"] is None
    assert created["created_by"].startswith("key:")
    assert scim_status(client, created["token"]) == 200
    shown = listed(admin, org.id)[created["id"]]
    assert "token" not in shown
    assert set(shown) == {
        "id",
        "prefix",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked",
        "revoked_at",
    }
    assert created["token"] not in str(listed(admin, org.id))


def test_the_list_shows_only_scim_tokens_and_who_created_them(client, admin, platform, org, scim):
    first_scim = scim.get("/Users")  # the organisation's original token, used once
    assert first_scim.status_code == 200
    by_platform = issue(platform, org.id)
    rows = listed(admin, org.id)
    assert len(rows) == 2  # the fixture's SCIM token and this one; never the management key
    assert rows[by_platform["id"]]["created_by"] == "key:platform"


def test_rotation_create_switch_revoke(client, admin, org, scim):
    new = issue(admin, org.id)
    old_id = next(i for i in listed(admin, org.id) if i != new["id"])
    assert scim_status(client, new["token"]) == 200
    revoked = admin.call("POST", tokens_path(org.id, f"/{old_id}/revoke"))
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["revoked"] is True and revoked.get_json()["revoked_at"]
    assert scim.get("/Users").status_code == 401  # the old one, at once
    assert scim_status(client, new["token"]) == 200
    again = admin.call("POST", tokens_path(org.id, f"/{old_id}/revoke"))
    assert again.status_code == 200
    types = [e["type"] for e in admin.events()["events"]]
    assert types.count("token.revoked") == 1  # revoking a revoked token changes nothing
    assert types.count("token.created") == 3  # fixture's two and this one


def test_every_change_is_an_event_naming_the_actor(client, admin, org, scim):
    user_id = scim.create_user("ada@acme.com")[PRODUCT]["userId"]
    assert admin.edit(user_id, {"role": "admin"}).status_code == 200
    created = admin.call("POST", tokens_path(org.id), acting=user_id).get_json()
    admin.call("POST", tokens_path(org.id, f"/{created['id']}/revoke"), acting=user_id)
    events = [e for e in admin.events()["events"] if e["target"]["id"] == created["id"]]
    assert [(e["type"], e["actor"]["id"]) for e in events] == [
        ("token.created", user_id),
        ("token.revoked", user_id),
    ]
    assert listed(admin, org.id)[created["id"]]["created_by"] == user_id


def test_last_used_is_written_at_most_once_a_minute(client, admin, org, scim, db, connection):
    token_id = next(iter(listed(admin, org.id)))
    assert listed(admin, org.id)[token_id]["last_used_at"] is None
    assert scim.get("/Users").status_code == 200
    first = listed(admin, org.id)[token_id]["last_used_at"]
    assert first is not None
    seen = statements_during(connection, lambda: scim.get("/Users"))
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE API_TOKENS")], seen
    assert listed(admin, org.id)[token_id]["last_used_at"] == first
    # a minute later the next request moves it again, with one conditional UPDATE
    earlier = utcnow() - timedelta(seconds=61)
    db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=earlier))
    db.commit()
    seen = statements_during(connection, lambda: scim.get("/Users"))
    assert len([s for s in seen if s.lstrip().upper().startswith("UPDATE API_TOKENS")]) == 1
    assert listed(admin, org.id)[token_id]["last_used_at"] > first


def test_a_racing_worker_with_a_stale_row_does_not_write_again(admin, org, scim, db):
    """The conditional UPDATE, not the loaded row, decides: a worker that loaded the token
    before another worker touched it matches no row."""
    from scim_server.services.organizations.tokens import touch_last_used

    token_id = next(iter(listed(admin, org.id)))
    assert scim.get("/Users").status_code == 200
    stored = db.get_one(ApiToken, token_id)
    db.refresh(stored)
    touched = stored.last_used_at
    stale = ScimCredentials(token_id, {}, "", None)  # what another worker loaded earlier
    touch_last_used(db, stale)
    db.expire_all()
    assert db.get_one(ApiToken, token_id).last_used_at == touched


def test_bad_requests_change_nothing(client, admin, org, other_org):
    before = listed(admin, org.id)
    assert_api_error(
        admin.call("POST", tokens_path(org.id), {"kind": "management"}), 400, "validation_error"
    )
    assert listed(admin, org.id) == before
    other = Admin(client, other_org.management_key, other_org.id)
    theirs = next(iter(listed(other, other_org.id)))
    assert_api_error(admin.call("POST", tokens_path(org.id, f"/{theirs}/revoke")), 404, "not_found")
    assert listed(other, other_org.id)[theirs]["revoked"] is False
    assert admin.call("GET", tokens_path(other_org.id)).status_code == 404
    assert admin.call("POST", tokens_path(other_org.id)).status_code == 404


def test_a_management_key_cannot_be_revoked_as_a_scim_token(client, admin, org, db):
    mgmt_id = db.scalars(
        ApiToken.__table__.select()
        .with_only_columns(ApiToken.id)
        .where(ApiToken.org_id == org.id, ApiToken.kind == "management")
    ).one()
    assert_api_error(
        admin.call("POST", tokens_path(org.id, f"/{mgmt_id}/revoke")), 404, "not_found"
    )
    assert admin.call("GET", tokens_path(org.id)).status_code == 200  # the key still works


def test_the_platform_key_manages_any_organisations_tokens(client, org):
    platform = Admin(client, PLATFORM_KEY, org.id)
    created = issue(platform, org.id)
    assert scim_status(client, created["token"]) == 200
    done = platform.call("POST", tokens_path(org.id, f"/{created['id']}/revoke"))
    assert done.status_code == 200
    assert scim_status(client, created["token"]) == 401


def test_a_row_kept_across_requests_learns_the_time_it_wrote(admin, org, db, connection):
    """The per-worker read cache holds the credentials between requests: after one write
    they must skip the statement for the next minute, not repeat a no-op UPDATE."""
    from scim_server.services.organizations.tokens import touch_last_used

    kept = ScimCredentials(next(iter(listed(admin, org.id))), {}, "", None)
    first = statements_during(connection, lambda: touch_last_used(db, kept))
    again = statements_during(connection, lambda: touch_last_used(db, kept))
    writes = [s for s in first if s.startswith("UPDATE")]
    assert len(writes) == 1 and again == []
    assert kept.last_used_at is not None
