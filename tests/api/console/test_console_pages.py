"""The console's pages through the browser's HTTP (Flask's test client): each calls the
same service as the management API, with the same guards and events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.admin import test_sso_connections as dns
from tests.api.console.helpers import admin_link
from tests.api.console.helpers import csrf
from tests.api.console.helpers import make_admin
from tests.api.console.helpers import open_link
from tests.api.console.helpers import portal_link
from tests.certificates import make_pem
from tests.scim_client import PRODUCT


@pytest.fixture
def boss(client, org, scim, admin) -> str:
    user_id = make_admin(scim, admin)
    open_link(client, admin_link(client, org.id, "boss@acme.com"))
    return user_id


# The fake DNS of the domain tests (no network): its TXT answers are the test's to set.
resolver = dns.resolver
app_overrides = dns.app_overrides


def post(client: Any, page_url: str, action: str, data: dict[str, str]) -> Any:
    return client.post(action, data={"csrf_token": csrf(client.get(page_url)), **data})


def test_members_list_shows_states_and_searches_by_email(client, boss, scim):
    scim.create_user("ann@acme.com")
    html = client.get("/console/members").get_data(as_text=True)
    assert "ann@acme.com" in html and "boss@acme.com" in html
    found = client.get("/console/members?email=ANN@acme.com").get_data(as_text=True)
    assert "ann@acme.com</a>" in found and "boss@acme.com</a>" not in found
    bad = client.get("/console/members?state=sleeping")
    assert bad.status_code == 400 and "state" in bad.get_data(as_text=True)


def test_a_console_disable_sticks_through_an_okta_active_true_push(client, boss, scim, admin):
    created = scim.create_user("ann@acme.com")
    user_id, scim_id = created[PRODUCT]["userId"], created["id"]
    page = f"/console/members/{user_id}"
    assert "your disable will stick" in client.get(page).get_data(as_text=True)
    done = post(client, page, f"{page}/disable", {"reason": "left the project"})
    assert done.status_code == 303
    okta = [{"op": "replace", "value": {"active": True}}]
    assert scim.patch(f"/Users/{scim_id}", okta).status_code == 200
    shown = admin.member(user_id)
    assert shown["admin_override"]["state"] == "disabled"
    assert shown["effective_access"] is False
    assert shown["admin_override"]["by"] == boss  # audited as the acting member
    html = client.get(page).get_data(as_text=True)
    assert "no access" in html and "left the project" in html
    assert post(client, page, f"{page}/enable", {}).status_code == 303
    assert admin.member(user_id)["effective_access"] is True


def test_the_console_guards_like_the_api(client, boss, org):
    page = f"/console/members/{boss}"
    # the last effective Owner rule and friends come from services/membership/admin
    refused = post(client, page, f"{page}/role", {"role": "owner"})
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.get_data(as_text=True)


def test_an_invitation_from_the_console(client, boss, admin):
    done = post(
        client,
        "/console/sign-in",
        "/console/sign-in/invitations",
        {"email": "new@acme.com", "role": "member"},
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    html = client.get("/console/sign-in").get_data(as_text=True)
    assert "new@acme.com" in html and "pending" in html
    created = [e for e in admin.events()["events"] if e["type"] == "invitation.created"]
    assert created and created[0]["actor"] == {"type": "admin", "id": boss}


def test_the_sso_form_with_the_okta_preset_and_a_pasted_certificate(client, org, admin):
    open_link(client, portal_link(client, org.id, ["sso"]))
    form = client.get("/console/sign-in/sso/new?preset=okta").get_data(as_text=True)
    assert (
        'value="okta" selected' in form
        and 'id="protocol-saml" type="radio" name="protocol" value="saml" checked' in form
    )
    saved = post(
        client,
        "/console/sign-in/sso/new?preset=okta",
        "/console/sign-in/sso",
        {
            "name": "Okta",
            "preset": "okta",
            "protocol": "saml",
            "entity_id": "http://www.okta.com/exk1",
            "sso_url": "https://acme.okta.com/app/sso/saml",
            "certificate": make_pem(days_left=20),
            "claim_email": "email",
            "claim_name": "name",
            "claim_groups": "groups",
        },
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Saved." in page and "renew it soon" in page and "/saml/acs" in page
    [conn] = admin.call("GET", f"/organizations/{org.id}/sso-connections").get_json()[
        "sso_connections"
    ]
    assert conn["protocol_config"]["preset"] == "okta"
    event = [e for e in admin.events()["events"] if e["type"] == "sso_connection.created"][0]
    assert event["actor"]["type"] == "portal"


def test_a_refused_sso_form_shows_why_and_keeps_what_was_typed(client, org, admin):
    open_link(client, portal_link(client, org.id, ["sso"]))
    refused = post(
        client,
        "/console/sign-in/sso/new",
        "/console/sign-in/sso",
        {
            "name": "Okta",
            "preset": "okta",
            "protocol": "saml",
            "entity_id": "urn:typed",
            "sso_url": "https://acme.okta.com/sso",
            "certificate": make_pem(days_left=-1),
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "expired" in html and "urn:typed" in html
    assert (
        admin.call("GET", f"/organizations/{org.id}/sso-connections").get_json()["sso_connections"]
        == []
    )


def test_directory_page_and_events_filter(client, boss, org):
    html = client.get("/console/directory").get_data(as_text=True)
    assert "connected" in html and "/scim/v2" in html
    feed = client.get("/console/events?type=console_link.used").get_data(as_text=True)
    assert "<td>console_link.used</td>" in feed and "membership.grants_updated</td>" not in feed


def test_member_page_shows_groups_sessions_and_history(client, boss, scim, org, platform):
    created = scim.create_user("ann@acme.com")
    user_id = created[PRODUCT]["userId"]
    scim.create_group("Engineering", members=[created["id"]])
    session = platform.call(
        "POST", "/sessions", {"user_id": user_id, "organization_id": org.id, "method": "password"}
    )
    assert session.status_code == 201, session.get_json()
    html = client.get(f"/console/members/{user_id}").get_data(as_text=True)
    assert "Engineering" in html
    assert "password since" in html
    assert "membership.created" in html or "user.created" in html
    feed = client.get(f"/console/events?user={user_id}").get_data(as_text=True)
    assert f"about member {user_id}" in feed
    assert "<td>console_link.used</td>" not in feed  # boss's sign-in is not about ann


def test_claim_verify_now_and_jit_by_email_domain(client, boss, admin, resolver):
    done = post(client, "/console/sign-in", "/console/sign-in/domains", {"domain": "acme.com"})
    assert done.status_code == 303
    [domain] = admin.call("GET", f"/organizations/{admin.org_id}/domains").get_json()["domains"]
    html = client.get("/console/sign-in").get_data(as_text=True)
    assert domain["txt_record"]["value"] in html
    verify = "/console/sign-in/domains/acme.com/verify"
    refused = post(client, "/console/sign-in", verify, {})
    assert refused.status_code == 409 and "Nothing was changed" in refused.get_data(as_text=True)
    resolver.records[domain["txt_record"]["name"]] = [domain["txt_record"]["value"]]
    assert post(client, "/console/sign-in", verify, {}).status_code == 303
    added = post(
        client, "/console/sign-in", "/console/sign-in/jit/email-domains", {"domain": "acme.com"}
    )
    assert added.status_code == 303, added.get_data(as_text=True)
    jit = admin.call("GET", f"/organizations/{admin.org_id}/jit/email-domains").get_json()
    assert "acme.com" in str(jit)


def test_resend_an_invitation_and_change_sites(client, boss, admin, scim):
    post(client, "/console/sign-in", "/console/sign-in/invitations", {"email": "new@acme.com"})
    [invitation] = admin.call("GET", f"/organizations/{admin.org_id}/invitations").get_json()[
        "invitations"
    ]
    resent = post(
        client, "/console/sign-in", f"/console/sign-in/invitations/{invitation['id']}/resend", {}
    )
    assert resent.status_code == 303
    assert "invitation.resent" in [e["type"] for e in admin.events()["events"]]
    site = admin.call("POST", f"/organizations/{admin.org_id}/sites", {"name": "Berlin"}).get_json()
    ann = scim.create_user("ann@acme.com")[PRODUCT]["userId"]
    page = f"/console/members/{ann}"
    assert "Berlin" in client.get(page).get_data(as_text=True)
    assert post(client, page, f"{page}/sites", {"sites": site["id"]}).status_code == 303
    assert admin.member(ann)["sites"] == [{"site": site["id"], "role": "viewer"}]
    bad = post(client, page, f"{page}/sites", {"sites": "nowhere"})
    assert bad.status_code == 422 and admin.member(ann)["sites"] == [
        {"site": site["id"], "role": "viewer"}
    ]
