"""Web security of the console (issue 14 item 5), each check shown failing on a planted
weakness: CSRF on every form, a strict CSP with no inline script, no framing, single-use
links, autoescaping, no open redirect and no secret in a URL after the first redirect."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from scim_server.api.console import web
from scim_server.services.organizations import console_access
from scim_server.storage.models import SsoConnection
from tests.api.console.helpers import admin_link
from tests.api.console.helpers import csrf
from tests.api.console.helpers import make_admin
from tests.api.console.helpers import open_link
from tests.api.console.helpers import path_of
from tests.api.console.helpers import portal_link

PAGES = [
    "/console/members",
    "/console/sign-in",
    "/console/sign-in/sso/new",
    "/console/directory",
    "/console/events",
    # the Directory page's sections (part console2)
    "/console/directory/log",
    "/console/directory/groups",
]


@pytest.fixture
def signed_in(client, org, scim, admin) -> Any:
    make_admin(scim, admin)
    open_link(client, admin_link(client, org.id, "boss@acme.com"))
    return client


# --- CSRF ---------------------------------------------------------------------------


def forged_post_succeeds(client: Any, db: Any) -> bool:
    """A cross-site form post: the browser sends the cookie (a top-level POST under
    SameSite=Lax is not sent, but a same-site subdomain or an old browser would), but the
    attacker cannot know the CSRF token."""
    before = db.scalar(select(SsoConnection.id).where(SsoConnection.name == "Forged"))
    response = client.post(
        "/console/sign-in/sso",
        data={
            "csrf_token": "forged",
            "name": "Forged",
            "preset": "generic",
            "protocol": "oidc",
            "issuer": "https://evil.example",
            "client_id": "x",
            "client_secret": "y",
        },
    )
    created = db.scalar(select(SsoConnection.id).where(SsoConnection.name == "Forged"))
    return response.status_code < 400 and before is None and created is not None


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(signed_in, db):
    assert not forged_post_succeeds(signed_in, db)
    missing = signed_in.post("/console/logout")
    assert missing.status_code == 403
    assert signed_in.get("/console/members").status_code == 200  # still signed in


def test_planted_weakness_no_csrf_check_is_caught(signed_in, db, monkeypatch):
    monkeypatch.setattr(web, "_check_form", lambda console: None)
    assert forged_post_succeeds(signed_in, db)


def test_every_form_carries_the_csrf_token(signed_in):
    for url in PAGES:
        html = signed_in.get(url).get_data(as_text=True)
        posts = re.findall(r'<form[^>]*method="post".*?</form>', html, re.S)
        for form in posts:
            assert 'name="csrf_token"' in form, (url, form[:200])


# --- CSP, framing ---------------------------------------------------------------------


def csp_problems(response: Any) -> list[str]:
    """What a strict policy forbids: inline script or style, eval, foreign sources, framing."""
    policy = response.headers.get("Content-Security-Policy", "")
    problems = [
        bad
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:")
        if bad in policy.replace(";", " ").split()
    ]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    if directives.get("script-src") != ["'self'"]:
        problems.append(f"script-src is {directives.get('script-src')}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    html = response.get_data(as_text=True)
    if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) or re.search(r"\son[a-z]+=", html):
        problems.append("inline script in the page")
    if re.search(r"\sstyle=", html):
        problems.append("inline style in the page")
    return problems


def test_every_page_has_a_strict_policy_and_no_inline_script(signed_in):
    for url in PAGES:
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert csp_problems(response) == [], url
    missing = signed_in.get("/console/nowhere")  # no route: the JSON 404 is covered too
    assert missing.status_code == 404 and csp_problems(missing) == []


def test_planted_weakness_unsafe_inline_is_caught(signed_in, monkeypatch):
    monkeypatch.setattr(
        web, "CSP", web.CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
    )
    assert "'unsafe-inline'" in csp_problems(signed_in.get("/console/directory"))


def test_the_signed_out_page_refuses_framing_too(client):
    response = client.get("/console/members")
    assert response.status_code == 401
    assert csp_problems(response) == []


# --- links: single use, no secret after the redirect, no open redirect -----------------


def second_use_works(client: Any, org_id: str) -> bool:
    url = portal_link(client, org_id, ["sso"])
    open_link(client, url)
    client.delete_cookie("scim_console", path="/console")
    return client.get(path_of(url)).status_code == 303


def test_a_link_opens_once(client, org):
    assert not second_use_works(client, org.id)


def test_planted_weakness_reusable_link_is_caught(client, org, monkeypatch):
    monkeypatch.setattr(console_access, "spend", lambda db, link, now: True)
    assert second_use_works(client, org.id)


def test_no_secret_in_a_url_after_the_first_redirect_and_no_open_redirect(client, org):
    url = portal_link(client, org.id, ["sso"])
    evil = f"{path_of(url)}&next=https://evil.example/&redirect=//evil.example"
    response = client.get(evil)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location == "/console/" and "token" not in location
    follow = client.get(location)
    assert follow.headers["Location"] == "/console/sign-in"
    assert "cpl_" not in client.get("/console/sign-in").get_data(as_text=True)


# --- autoescaping -------------------------------------------------------------------------


def test_what_a_user_typed_is_escaped(signed_in, db, org):
    page = signed_in.get("/console/sign-in/sso/new")
    response = signed_in.post(
        "/console/sign-in/sso",
        data={
            "csrf_token": csrf(page),
            "name": "<script>alert(1)</script>",
            "preset": "generic",
            "protocol": "oidc",
            "issuer": "https://login.example.com",
            "client_id": "c",
            "client_secret": "s",
            "claim_email": "email",
            "claim_name": "name",
            "claim_groups": "groups",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    html = signed_in.get("/console/sign-in").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_control_character_in_a_form_is_a_clear_400(signed_in):
    page = signed_in.get("/console/sign-in")
    response = signed_in.post(
        "/console/sign-in/domains", data={"csrf_token": csrf(page), "domain": "acme\x00.com"}
    )
    assert response.status_code == 400
    assert "U+0000" in response.get_data(as_text=True)
