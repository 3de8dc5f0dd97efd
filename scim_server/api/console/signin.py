"""Console: the Sign-in pages — SSO connections through the one set-up form for every
IdP, domains with their TXT record and "verify now", and (for a host admin) invitations.

The form posts plain fields; ``form_body`` turns them into the management API's JSON, so
the same service validates both (``services/signin/protocol_config.py``).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.errors import DomainError
from scim_server.services.signin import domains
from scim_server.services.signin import invitations
from scim_server.services.signin import jit_config
from scim_server.services.signin import sso_connections
from scim_server.services.signin.protocol_config import PRESETS
from scim_server.services.signin.representation import connection_json
from scim_server.services.signin.representation import domain_json
from scim_server.services.signin.representation import invitation_json
from scim_server.services.signin.representation import service_provider_json
from scim_server.storage.models import SsoConnection

_TEXT_FIELDS = ("entity_id", "sso_url", "metadata_xml", "issuer", "client_id", "client_secret")


def _back() -> Response:
    """After a change, the Sign-in page again (POST, redirect, GET: a reload never re-posts)."""
    return redirect(url_for("console.signin"), 303)


def _pepper() -> str:
    return str(current_app.config["TOKEN_PEPPER"])


@bp.get("/sign-in")
@section("sso")
def signin() -> Response:
    db = get_session()
    org = current().org
    shown_invitations = None
    if current().admin is not None:
        shown_invitations = [invitation_json(db, i) for i in invitations.list_invitations(db, org)]
    return page(
        "signin.html",
        connections=[connection_json(c) for c in sso_connections.list_connections(db, org)],
        domains=[domain_json(d) for d in domains.list_domains(db, org)],
        invitations=shown_invitations,
        presets=PRESETS,
        jit={
            "email_domains": [d.domain for d in jit_config.email_domains(db, org)],
            "connectors": [c.name for c in jit_config.sso_connectors(db, org)],
            "roles": [r.name for r in jit_config.roles(db, org)],
        },
    )


def form_values(conn: SsoConnection | None, preset: str) -> dict[str, Any]:
    """What the form shows: the stored connection, or the preset's defaults."""
    stored = (conn.protocol_config or {}) if conn else {}
    chosen = PRESETS.get(request.args.get("preset", stored.get("preset", preset)), PRESETS[preset])
    name = next(k for k, v in PRESETS.items() if v is chosen)
    claims = stored.get("claim_mapping") if stored.get("preset") == name else None
    certificates = stored.get("certificates") or []
    return {
        "name": conn.name if conn else chosen.label,
        "preset": name,
        "protocol": stored.get("protocol", chosen.protocol)
        if stored.get("preset") == name
        else chosen.protocol,
        "claims": claims or dict(chosen.claims),
        "entity_id": stored.get("entity_id", ""),
        "sso_url": stored.get("sso_url", ""),
        "issuer": stored.get("issuer", ""),
        "client_id": stored.get("client_id", ""),
        "certificate": "".join(c["pem"] for c in certificates),
        "jit_enabled": conn.jit_enabled if conn else False,
    }


def form_body(form: Any) -> dict[str, Any]:
    """The management API's body from the form's fields (blank fields are left out)."""
    config: dict[str, Any] = {
        "preset": form.get("preset", "generic"),
        "protocol": form.get("protocol", "saml"),
    }
    for field in _TEXT_FIELDS:
        value = form.get(field, "").strip()
        if value:
            config[field] = value
    certificate = form.get("certificate", "").strip()
    if certificate:
        config["certificates"] = _split_pems(certificate)
    claims = {
        claim: form.get(f"claim_{claim}", "").strip() for claim in ("email", "name", "groups")
    }
    config["claim_mapping"] = {claim: value for claim, value in claims.items() if value}
    return {
        "name": form.get("name", ""),
        "jit_enabled": form.get("jit_enabled") == "on",
        "protocol_config": config,
    }


def _split_pems(text: str) -> list[str]:
    end = "-----END CERTIFICATE-----"
    parts = [p.strip() + "\n" + end for p in text.split(end) if p.strip()]
    return parts or [text]


def _connection_page(conn: SsoConnection | None, values: dict[str, Any], **extra: Any) -> Response:
    base = current_app.config.get("BASE_URL") or request.host_url
    return page(
        "sso_form.html",
        connection=connection_json(conn) if conn else None,
        service_provider=service_provider_json(conn, base) if conn else None,
        values=values,
        presets=PRESETS,
        **extra,
    )


@bp.get("/sign-in/sso/new")
@section("sso")
def new_connection() -> Response:
    return _connection_page(None, form_values(None, "generic"))


@bp.get("/sign-in/sso/<connection_id>")
@section("sso")
def edit_connection(connection_id: str) -> Response:
    conn = sso_connections.get(get_session(), current().org, connection_id)
    return _connection_page(conn, form_values(conn, "generic"), saved="saved" in request.args)


@bp.post("/sign-in/sso")
@bp.post("/sign-in/sso/<connection_id>")
@section("sso")
def save_connection(connection_id: str | None = None) -> Response:
    """Create or update; a refusal re-shows the form with what was typed (never the
    client secret) and the reason, and changes nothing."""
    db, console = get_session(), current()
    conn = sso_connections.get(db, console.org, connection_id) if connection_id else None
    body = form_body(request.form)
    try:
        if conn is None:
            conn = sso_connections.create(
                db, console.org, body, actor=console.actor, pepper=_pepper()
            )
        else:
            sso_connections.update(
                db, console.org, conn.id, body, actor=console.actor, pepper=_pepper()
            )
    except DomainError as error:
        claims = {c: request.form.get(f"claim_{c}", "") for c in ("email", "name", "groups")}
        values = {**_typed(request.form), "claims": claims}
        return _connection_page(conn, values, error=error.message, status=400)
    return redirect(url_for("console.edit_connection", connection_id=conn.id, saved=1), 303)


def _typed(form: Any) -> dict[str, Any]:
    shown = (
        "name",
        "preset",
        "protocol",
        "entity_id",
        "sso_url",
        "issuer",
        "client_id",
        "certificate",
    )
    return {**{k: form.get(k, "") for k in shown}, "jit_enabled": form.get("jit_enabled") == "on"}


@bp.post("/sign-in/domains")
@section("sso")
def claim_domain() -> Response:
    console = current()
    domains.claim(get_session(), console.org, request.form.get("domain", ""), actor=console.actor)
    return _back()


@bp.post("/sign-in/domains/<domain>/verify")
@section("sso")
def verify_domain(domain: str) -> Response:
    """Verify now: one TXT lookup; not found is a refusal on the page, nothing changes."""
    console = current()
    domains.verify(
        get_session(),
        console.org,
        domain,
        actor=console.actor,
        resolver=current_app.extensions["txt_resolver"],
    )
    return _back()


@bp.post("/sign-in/invitations")
@section("members")
def invite() -> Response:
    console = current()
    assert console.admin is not None  # only admin sessions open "members"
    body = {
        "email": request.form.get("email", ""),
        "role": request.form.get("role", "member"),
        "delivery": "email",
    }
    invitations.create(get_session(), console.org, body, by=console.admin, pepper=_pepper())
    return _back()


@bp.post("/sign-in/invitations/<invitation_id>/revoke")
@section("members")
def revoke_invitation(invitation_id: str) -> Response:
    console = current()
    invitations.revoke(get_session(), console.org, invitation_id, actor=console.actor)
    return _back()


@bp.post("/sign-in/invitations/<invitation_id>/resend")
@section("members")
def resend_invitation(invitation_id: str) -> Response:
    """A new link (the old one stops working) and a new expiry; the host sends the email."""
    console = current()
    invitations.resend(
        get_session(), console.org, invitation_id, actor=console.actor, pepper=_pepper()
    )
    return _back()


@bp.post("/sign-in/jit/email-domains")
@section("sso")
def add_jit_domain() -> Response:
    """Members with a verified email on this (verified) domain join by JIT."""
    console = current()
    domain = request.form.get("domain", "")
    jit_config.add_email_domain(get_session(), console.org, domain, actor=console.actor)
    return _back()


@bp.post("/sign-in/jit/email-domains/<domain>/remove")
@section("sso")
def remove_jit_domain(domain: str) -> Response:
    console = current()
    jit_config.remove_email_domain(get_session(), console.org, domain, actor=console.actor)
    return _back()
