"""The Directory page in headless Chromium (issue 14 item 6): create and revoke a SCIM
token through the console, see a failed SCIM push in the provisioning log, create a group
mapping and see a pushed member get its role. Screenshots go to ``var/screenshots/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import LiveConsole
from tests.browser.test_console_browser import PLATFORM
from tests.browser.test_console_browser import PRODUCT
from tests.browser.test_console_browser import SCIM_USER
from tests.browser.test_console_browser import admin_session
from tests.browser.test_console_browser import api
from tests.browser.test_console_browser import scim_user
from tests.browser.test_console_browser import shoot
from tests.browser.test_console_browser import watch_csp


def scim_post(live: LiveConsole, secret: str, user_name: str) -> requests.Response:
    body = {"schemas": [SCIM_USER], "userName": user_name, "active": True}
    headers = {"Authorization": f"Bearer {secret}"}
    return requests.post(f"{live.base_url}/scim/v2/Users", json=body, headers=headers, timeout=10)


def member_role(live: LiveConsole, user_id: str) -> Any:
    response = requests.get(
        f"{live.base_url}/api/v1/organizations/{live.org.id}/members/{user_id}",
        headers={"Authorization": f"Bearer {live.org.management_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return (response.json()["role"] or {}).get("name")


def test_create_and_revoke_a_scim_token_and_read_the_provisioning_log(
    page: Page, live: LiveConsole, screenshots: Path
):
    csp = watch_csp(page)
    link = api(
        live,
        f"/api/v1/organizations/{live.org.id}/portal-links",
        {"sections": ["directory"], "expires_in_seconds": 3600},
        PLATFORM,
    )
    page.goto(link["url"])
    expect(page.get_by_role("heading", name="Directory", exact=True)).to_be_visible()
    page.get_by_role("button", name="Create SCIM token").click()
    secret = page.locator("#new-token-secret").inner_text()
    expect(page.locator("#new-token")).to_contain_text("shown this once")
    expect(page.locator("button.copy[data-copy=new-token-secret]")).to_be_visible()
    assert "scim_" in secret and secret not in page.url
    shoot(page, screenshots, "directory-new-token")
    assert scim_post(live, secret, "ann@acme.com").status_code == 201
    page.get_by_role("link", name="Connection and tokens").click()
    expect(page.locator("#tokens")).to_contain_text(secret[:9])
    assert secret not in page.content()  # shown once, never again
    page.get_by_role("link", name=f"Revoke {secret[:9]}…").click()
    expect(page.get_by_text("stops provisioning at once")).to_be_visible()
    shoot(page, screenshots, "revoke-token")
    page.get_by_role("button", name="Revoke now").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked")
    row = page.get_by_role("row").filter(has_text=secret[:9])
    expect(row.locator(".state")).to_contain_text("revoked")
    assert scim_post(live, secret, "bob@acme.com").status_code == 401  # at once
    # A push the IdP gets wrong: the same userName again, with the org's other token.
    assert scim_post(live, live.org.token, "ann@acme.com").status_code == 409
    page.get_by_role("link", name="Provisioning log").click()
    failed = page.locator("tr.failed").first
    expect(failed).to_contain_text("failed 409")
    expect(failed).to_contain_text("uniqueness")
    shoot(page, screenshots, "provisioning-log")
    failed.get_by_role("link").click()
    expect(page.locator("#outcome")).to_have_text("failed 409")
    expect(page.get_by_text("the request failed, so nothing was changed")).to_be_visible()
    shoot(page, screenshots, "provisioning-entry")
    assert csp == []


def test_a_group_mapping_gives_a_pushed_member_its_role(
    page: Page, live: LiveConsole, screenshots: Path
):
    csp = watch_csp(page)
    ann = scim_user(live, "ann@acme.com")
    headers = {"Authorization": f"Bearer {live.org.token}"}
    group = api(
        live,
        "/scim/v2/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": [{"value": ann["id"]}],
        },
        headers,
    )
    page.goto(admin_session(live))
    page.get_by_role("link", name="Directory").click()
    page.get_by_role("link", name="Groups and mappings").click()
    engineering = page.locator("#groups").get_by_role("row", name="Engineering")
    expect(engineering.locator(".count")).to_have_text("1")
    page.get_by_label("Group display name or id").fill("Engineering")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Create mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Mapping created")
    expect(page.locator("#mappings")).to_contain_text("role viewer")
    assert member_role(live, ann[PRODUCT]["userId"]) == "viewer"
    bob = scim_user(live, "bob@acme.com")
    assert member_role(live, bob[PRODUCT]["userId"]) != "viewer"
    pushed = requests.patch(
        f"{live.base_url}/scim/v2/Groups/{group['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}],
        },
        headers=headers,
        timeout=10,
    )
    assert pushed.status_code in (200, 204), pushed.text
    assert member_role(live, bob[PRODUCT]["userId"]) == "viewer"
    page.reload()
    expect(engineering.locator(".count")).to_have_text("2")
    shoot(page, screenshots, "groups")
    assert csp == []
