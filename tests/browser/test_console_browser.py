"""The console end to end in headless Chromium (issue 14 item 6): a portal link to the
SSO form with the Okta preset and a pasted certificate; a host admin disabling a member
whom an Okta ``active:true`` push then does not re-enable; an invitation; keyboard
navigation with visible focus; axe-core with no serious violation; screenshots of each
page in ``var/screenshots/`` (``SCIM_SCREENSHOT_DIR``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page
from playwright.sync_api import expect

from tests.browser.conftest import LiveConsole
from tests.certificates import make_pem
from tests.conftest import PLATFORM_KEY

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PLATFORM = {"Authorization": f"Bearer {PLATFORM_KEY}"}
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PRODUCT = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"


def api(live: LiveConsole, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = requests.post(f"{live.base_url}{path}", json=body, headers=headers, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def scim_user(live: LiveConsole, email: str) -> dict[str, Any]:
    body = {
        "schemas": [SCIM_USER],
        "userName": email,
        "active": True,
        "emails": [{"value": email, "primary": True}],
    }
    return api(live, "/scim/v2/Users", body, {"Authorization": f"Bearer {live.org.token}"})


def admin_session(live: LiveConsole) -> str:
    boss = scim_user(live, "boss@acme.com")[PRODUCT]["userId"]
    response = requests.patch(
        f"{live.base_url}/api/v1/organizations/{live.org.id}/members/{boss}",
        json={"role": "admin"},
        headers={"Authorization": f"Bearer {live.org.management_key}", "X-Acting-User": "key"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    link = api(
        live,
        "/api/v1/console-sessions",
        {"organization_id": live.org.id, "acting_user": "boss@acme.com"},
        PLATFORM,
    )
    return str(link["url"])


def watch_csp(page: Page) -> list[str]:
    """Every Content-Security-Policy complaint the browser logs: there must be none."""
    seen: list[str] = []
    page.on(
        "console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None
    )
    return seen


def serious_violations(page: Page) -> list[str]:
    page.evaluate(AXE)  # through DevTools: the page's CSP (rightly) forbids injected scripts
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']}: {v['help']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def shoot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"console-{name}.png"), full_page=True)
    assert serious_violations(page) == [], name


def test_portal_link_to_the_sso_form_with_okta_preset(
    page: Page, live: LiveConsole, screenshots: Path
):
    csp = watch_csp(page)
    link = api(
        live,
        f"/api/v1/organizations/{live.org.id}/portal-links",
        {"sections": ["sso", "directory"], "expires_in_seconds": 3600},
        PLATFORM,
    )
    page.goto(link["url"])
    assert "token" not in page.url  # the secret is gone after the first redirect
    expect(page.get_by_role("heading", name="Sign-in")).to_be_visible()
    page.get_by_role("link", name="Set up SSO").click()
    page.get_by_label("Your identity provider").select_option("okta")
    page.get_by_role("button", name="Use these defaults").click()
    expect(page.get_by_label("SAML 2.0")).to_be_checked()
    expect(page.get_by_label("Email claim")).to_have_value("email")
    page.get_by_label("IdP entity id").fill("http://www.okta.com/exk1")
    page.get_by_label("IdP SSO URL").fill("https://acme.okta.com/app/sso/saml")
    page.get_by_label("Signing certificate(s), PEM").fill(make_pem(days_left=365))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_text("CN=idp.example.com")).to_be_visible()
    expect(page.locator("#sp-acs")).to_contain_text("/saml/acs")
    shoot(page, screenshots, "sso-form")
    page.get_by_role("link", name="Directory").click()
    expect(page.locator("#scim-base")).to_contain_text("/scim/v2")
    shoot(page, screenshots, "directory")
    # the link was single-use: a second browser gets the signed-out page
    assert page.context.browser is not None
    second = page.context.browser.new_context()
    other = second.new_page()
    other.goto(link["url"])
    expect(other.get_by_role("heading")).to_have_text("That was not done")
    second.close()
    assert csp == []


def test_disable_sticks_through_an_okta_push_and_an_invitation(
    page: Page, live: LiveConsole, screenshots: Path
):
    csp = watch_csp(page)
    ann = scim_user(live, "ann@acme.com")
    page.goto(admin_session(live))
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    shoot(page, screenshots, "members")
    page.get_by_role("link", name="ann@acme.com").click()
    expect(page.get_by_text("your disable will stick")).to_be_visible()
    page.get_by_label("Reason for disabling").fill("left the project")
    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#access")).to_contain_text("no access")
    okta = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": True}}],
    }
    pushed = requests.patch(
        f"{live.base_url}/scim/v2/Users/{ann['id']}",
        json=okta,
        headers={"Authorization": f"Bearer {live.org.token}"},
        timeout=10,
    )
    assert pushed.status_code == 200, pushed.text
    page.reload()
    expect(page.locator("#access")).to_contain_text("no access")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()
    shoot(page, screenshots, "member")
    page.get_by_role("link", name="Sign-in").click()
    page.get_by_label("Email to invite").fill("new@acme.com")
    page.get_by_role("button", name="Invite").click()
    row = page.get_by_role("row", name="new@acme.com")
    expect(row.locator(".status")).to_have_text("pending")
    shoot(page, screenshots, "sign-in")
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("cell", name="membership.override_set")).to_be_visible()
    shoot(page, screenshots, "events")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You are not signed in")
    assert csp == []


def test_keyboard_navigation_with_visible_focus(page: Page, live: LiveConsole):
    page.goto(admin_session(live))
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") in ("INPUT", "SELECT", "BUTTON", "A")


@pytest.mark.parametrize("path", ["/console/members", "/console/sign-in/sso/new"])
def test_signed_out_pages_refuse_framing(page: Page, live: LiveConsole, path: str):
    response = page.goto(f"{live.base_url}{path}")
    assert response is not None and response.status == 401
    assert response.headers["x-frame-options"] == "DENY"


def test_planted_weakness_an_unlabelled_input_is_caught_by_axe(page: Page, live: LiveConsole):
    """The accessibility check can fail: strip one label and axe reports it."""
    page.goto(admin_session(live))
    assert serious_violations(page) == []
    page.evaluate("document.querySelector('label[for=email]').remove()")
    assert any(v.startswith("label:") for v in serious_violations(page))


def test_another_site_cannot_frame_the_console(page: Page, live: LiveConsole):
    """Clickjacking: a page on another site (localhost, another port) embeds the console;
    Chromium must refuse to render it (planted without the headers, the frame renders)."""
    target = f"{live.base_url}/console/members"
    with attacker_site(f'<iframe id="f" src="{target}" title="bait"></iframe>') as attacker:
        page.goto(attacker)
        page.wait_for_timeout(1500)
    framed = [f for f in page.frames if f != page.main_frame]
    assert framed, "no iframe"
    # Every console page, signed in or not, has the skip link; a refused frame has nothing.
    assert "Skip to content" not in framed[0].content()


@contextmanager
def attacker_site(html: str) -> Iterator[str]:
    """A one-page site on another origin (localhost, its own port) serving ``html``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
