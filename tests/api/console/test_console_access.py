"""Portal links and console sessions (issue 14 items 3-4): platform key only, single use,
hashed at rest, expiring, scoped to sections; sessions in the database with idle and
absolute timeouts and logout; the acting member's role re-checked on every request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from scim_server.storage.models import ConsoleLink
from scim_server.storage.models import ConsoleSession
from scim_server.storage.models import utcnow
from tests.api.console.helpers import PLATFORM
from tests.api.console.helpers import admin_link
from tests.api.console.helpers import csrf
from tests.api.console.helpers import make_admin
from tests.api.console.helpers import open_link
from tests.api.console.helpers import path_of
from tests.api.console.helpers import portal_link
from tests.scim_client import assert_api_error


def test_a_portal_link_needs_the_platform_key(client, org):
    response = client.post(
        f"/api/v1/organizations/{org.id}/portal-links",
        json={"sections": ["sso"]},
        headers={"Authorization": f"Bearer {org.management_key}"},
    )
    assert_api_error(response, 403, "platform_key_required")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"sections": []},
        {"sections": ["members"]},
        {"sections": ["sso"], "expires_in_seconds": 299},
        {"sections": ["sso"], "expires_in_seconds": 7 * 24 * 3600 + 1},
        {"sections": ["sso"], "expires_in_seconds": "600"},
        {"sections": ["sso"], "admin": True},
    ],
)
def test_a_bad_portal_link_request_is_400_and_mints_nothing(client, org, db, body):
    response = client.post(
        f"/api/v1/organizations/{org.id}/portal-links", json=body, headers=PLATFORM
    )
    assert_api_error(response, 400, "validation_error")
    assert db.scalar(select(ConsoleLink.id)) is None


def test_a_portal_link_works_once_and_its_secret_is_only_hashed(client, org, db, admin):
    url = portal_link(client, org.id, ["sso"])
    secret = url.split("token=")[1]
    stored = db.scalars(select(ConsoleLink)).one()
    assert stored.secret_hash != secret and secret not in stored.secret_hash
    response = open_link(client, url)
    assert response.headers["Location"] == "/console/"
    assert "token" not in response.headers["Location"]
    cookie = response.headers["Set-Cookie"]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/console"):
        assert flag in cookie
    assert client.get("/console/sign-in").status_code == 200
    # the second use, from anyone, is refused and changes nothing
    again = client.get(path_of(url))
    assert again.status_code == 404
    assert db.scalar(select(ConsoleSession.id).where(ConsoleSession.link_id == stored.id))
    assert len(db.scalars(select(ConsoleSession)).all()) == 1
    types = [e["type"] for e in admin.events()["events"]]
    assert types.count("portal_link.created") == 1 and types.count("console_link.used") == 1


def test_a_portal_link_opens_only_its_sections(client, org):
    open_link(client, portal_link(client, org.id, ["directory"]))
    assert client.get("/console/directory").status_code == 200
    assert client.get("/console/sign-in").status_code == 403
    assert client.get("/console/members").status_code == 403
    assert client.get("/console/events").status_code == 403


def test_an_expired_link_is_refused(client, org, db):
    url = portal_link(client, org.id, ["sso"], ttl=300)
    db.execute(update(ConsoleLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(path_of(url)).status_code == 404
    assert client.get("/console/sign-in").status_code == 401


def test_unknown_link_and_no_cookie_are_refused(client):
    assert client.get("/console/start?token=cpl_guess").status_code == 404
    assert client.get("/console/members").status_code == 401


def test_idle_and_absolute_timeouts_end_the_session(client, org, db):
    open_link(client, portal_link(client, org.id, ["sso"]))
    db.execute(update(ConsoleSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    assert client.get("/console/sign-in").status_code == 401
    open_link(client, portal_link(client, org.id, ["sso"]))
    db.execute(
        update(ConsoleSession)
        .where(ConsoleSession.ended_at.is_(None))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    assert client.get("/console/sign-in").status_code == 401


def test_logout_ends_the_session_everywhere(client, org, db, admin):
    open_link(client, portal_link(client, org.id, ["sso"]))
    page = client.get("/console/sign-in")
    cookie = client.get_cookie("scim_console", path="/console").value
    out = client.post("/console/logout", data={"csrf_token": csrf(page)})
    assert out.status_code == 303
    client.set_cookie("scim_console", cookie, path="/console")  # a copy of the old cookie
    assert client.get("/console/sign-in").status_code == 401
    assert "console_session.ended" in [e["type"] for e in admin.events()["events"]]


def test_console_sessions_name_an_effective_admin_never_the_key(client, org, scim, admin):
    response = client.post(
        "/api/v1/console-sessions",
        json={"organization_id": org.id, "acting_user": "key"},
        headers=PLATFORM,
    )
    assert_api_error(response, 400, "acting_user_required")
    viewer = make_admin(scim, admin, "viewer@acme.com", role="member")
    response = client.post(
        "/api/v1/console-sessions",
        json={"organization_id": org.id, "acting_user": viewer},
        headers=PLATFORM,
    )
    assert_api_error(response, 403, "insufficient_role")


def test_an_admin_demoted_mid_session_is_signed_out(client, org, scim, admin):
    boss = make_admin(scim, admin)
    open_link(client, admin_link(client, org.id, "boss@acme.com"))
    assert client.get("/console/members").status_code == 200
    assert admin.edit(boss, {"role": "member"}).status_code == 200
    assert client.get("/console/members").status_code == 401
