"""Sign-in services over HTTP: JIT login, domains, SSO connections, Logto-shaped JIT
configuration and invitations (contracts.md §4). Views only parse and render."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app

from scim_server.api.admin import auth
from scim_server.api.admin.json_io import body
from scim_server.api.admin.json_io import reply
from scim_server.db import commit_despite_error
from scim_server.db import get_session
from scim_server.services.audit import Actor
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import sessions
from scim_server.services.organizations.catalog import role_json
from scim_server.services.signin import domains
from scim_server.services.signin import invitations
from scim_server.services.signin import jit
from scim_server.services.signin import jit_config
from scim_server.services.signin import sso_connections

bp = Blueprint("signin", __name__, url_prefix="/api/v1")
bp.before_request(auth.require_admin_key)
ORG = "/organizations/<org_id>"


def _pepper() -> str:
    pepper: str = current_app.config["TOKEN_PEPPER"]
    return pepper


def _string(payload: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, f"'{key}' must be a non-empty string.")
    return value


# --- JIT login (platform key) ---------------------------------------------------------------


@bp.post("/sso/login")
def sso_login() -> Response:
    """Provision or recognise the person, then issue a session tied to the connection."""
    auth.require_platform()
    payload = body()
    raw = payload.get("claims")
    if not isinstance(raw, dict):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'claims' must be an object.")
    verified = raw.get("email_verified")
    if verified is not None and not isinstance(verified, bool):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'email_verified' must be a boolean.")
    claims = jit.Claims(
        issuer=str(_string(raw, "iss")),
        subject=str(_string(raw, "sub")),
        email=_string(raw, "email", required=False),
        email_verified=verified,
        name=raw.get("name") if isinstance(raw.get("name"), str) else None,
    )
    connection_id = str(_string(payload, "connection_id"))
    db = get_session()
    actor = auth.acting().actor
    result = jit.jit_login(
        db, connection_id, claims, actor=Actor("jit", connection_id, actor.request_id)
    )
    session = sessions.create_session(
        db,
        user_id=result.user_id,
        org_id=result.organization_id,
        method="sso",
        sso_connection_id=connection_id,
        actor=actor,
    )
    return reply(
        {
            "user_id": result.user_id,
            "organization_id": result.organization_id,
            "membership_id": result.membership_id,
            "session": {
                "id": session.id,
                "sso_connection_id": connection_id,
                "created_at": session.created_at.isoformat(timespec="milliseconds") + "Z",
            },
            "provisioned": result.created_membership,
            "created_user": result.created_user,
            "linked_identity": result.linked_identity,
        }
    )


# --- domains ----------------------------------------------------------------------------------


@bp.get(f"{ORG}/domains")
def list_domains(org_id: str) -> Response:
    org = auth.organization(org_id)
    return reply(
        {"domains": [domains.domain_json(d) for d in domains.list_domains(get_session(), org)]}
    )


@bp.post(f"{ORG}/domains")
def claim_domain(org_id: str) -> Response:
    org = auth.organization(org_id)
    row = domains.claim(
        get_session(), org, str(_string(body(), "domain")), actor=auth.acting().actor
    )
    return reply(domains.domain_json(row), 201)


@bp.post(f"{ORG}/domains/<domain>/verify")
def verify_domain(org_id: str, domain: str) -> Response:
    """DNS TXT; or, with the platform key, ``{"method": "manual", "reason": …}``."""
    org = auth.organization(org_id)
    payload = body()
    reason = None
    if payload.get("method", "dns") == "manual":
        auth.require_platform()
        reason = _string(payload, "reason")
    elif payload.get("method", "dns") != "dns":
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'method' is 'dns' or 'manual'.")
    row = domains.verify(
        get_session(),
        org,
        domain,
        actor=auth.acting().actor,
        resolver=current_app.extensions["txt_resolver"],
        manual_reason=reason,
    )
    return reply(domains.domain_json(row))


# --- SSO connections ----------------------------------------------------------------------


@bp.get(f"{ORG}/sso-connections")
def list_connections(org_id: str) -> Response:
    rows = sso_connections.list_connections(get_session(), auth.organization(org_id))
    return reply({"sso_connections": [sso_connections.connection_json(c) for c in rows]})


@bp.post(f"{ORG}/sso-connections")
def create_connection(org_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.create(get_session(), org, body(), actor=auth.acting().actor)
    return reply(sso_connections.connection_json(conn), 201)


@bp.patch(f"{ORG}/sso-connections/<connection_id>")
def update_connection(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.update(
        get_session(), org, connection_id, body(), actor=auth.acting().actor
    )
    return reply(sso_connections.connection_json(conn))


@bp.post(f"{ORG}/sso-connections/<connection_id>/disable")
def disable_connection(org_id: str, connection_id: str) -> Response:
    revoke_all = body().get("revoke_all_org_sessions", False)
    if not isinstance(revoke_all, bool):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "'revoke_all_org_sessions' is a boolean."
        )
    org = auth.organization(org_id)
    db = get_session()
    revoked = sso_connections.disable(
        db, org, connection_id, revoke_all=revoke_all, actor=auth.acting().actor
    )
    conn = sso_connections.get(db, org, connection_id)
    return reply({**sso_connections.connection_json(conn), "sessions_revoked": revoked})


@bp.post(f"{ORG}/sso-connections/<connection_id>/enable")
def enable_connection(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    conn = sso_connections.enable(get_session(), org, connection_id, actor=auth.acting().actor)
    return reply(sso_connections.connection_json(conn))


# --- JIT configuration, shaped like Logto's Management API ------------------------------------


@bp.get(f"{ORG}/jit/email-domains")
def jit_email_domains(org_id: str) -> Response:
    return reply(jit_config.email_domains(get_session(), auth.organization(org_id)))


@bp.post(f"{ORG}/jit/email-domains")
def add_jit_email_domain(org_id: str) -> Response:
    org = auth.organization(org_id)
    added = jit_config.add_email_domain(
        get_session(), org, body().get("emailDomain"), actor=auth.acting().actor
    )
    return reply(added, 201)


@bp.put(f"{ORG}/jit/email-domains")
def replace_jit_email_domains(org_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.replace_email_domains(
        get_session(), org, body().get("emailDomains"), actor=auth.acting().actor
    )
    return reply(None, 204)


@bp.delete(f"{ORG}/jit/email-domains/<domain>")
def remove_jit_email_domain(org_id: str, domain: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_email_domain(get_session(), org, domain, actor=auth.acting().actor)
    return reply(None, 204)


@bp.get(f"{ORG}/jit/sso-connectors")
def jit_sso_connectors(org_id: str) -> Response:
    rows = jit_config.sso_connectors(get_session(), auth.organization(org_id))
    return reply([sso_connections.connection_json(c) for c in rows])


@bp.post(f"{ORG}/jit/sso-connectors")
def add_jit_sso_connectors(org_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.set_sso_connectors(
        get_session(),
        org,
        body().get("ssoConnectorIds"),
        replace=False,
        actor=auth.acting().actor,
    )
    return reply(None, 201)


@bp.put(f"{ORG}/jit/sso-connectors")
def replace_jit_sso_connectors(org_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.set_sso_connectors(
        get_session(),
        org,
        body().get("ssoConnectorIds"),
        replace=True,
        actor=auth.acting().actor,
    )
    return reply(None, 204)


@bp.delete(f"{ORG}/jit/sso-connectors/<connection_id>")
def remove_jit_sso_connector(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_sso_connector(get_session(), org, connection_id, actor=auth.acting().actor)
    return reply(None, 204)


@bp.get(f"{ORG}/jit/roles")
def jit_roles(org_id: str) -> Response:
    rows = jit_config.roles(get_session(), auth.organization(org_id))
    return reply([role_json(r) for r in rows])


@bp.post(f"{ORG}/jit/roles")
def add_jit_roles(org_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.set_roles(
        get_session(),
        org,
        body().get("organizationRoleIds"),
        replace=False,
        actor=auth.acting().actor,
    )
    return reply(None, 201)


@bp.put(f"{ORG}/jit/roles")
def replace_jit_roles(org_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.set_roles(
        get_session(),
        org,
        body().get("organizationRoleIds"),
        replace=True,
        actor=auth.acting().actor,
    )
    return reply(None, 204)


@bp.delete(f"{ORG}/jit/roles/<role_id>")
def remove_jit_role(org_id: str, role_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_role(get_session(), org, role_id, actor=auth.acting().actor)
    return reply(None, 204)


# --- invitations --------------------------------------------------------------------------


def _issued(issued: invitations.Issued, status: int) -> Response:
    db = get_session()
    base = current_app.config["INVITATION_ACCEPT_URL"]
    return reply(
        {
            **invitations.invitation_json(db, issued.invitation),
            "token": issued.token,
            "accept_url": f"{base}?token={issued.token}",
        },
        status,
    )


@bp.post(f"{ORG}/invitations")
def create_invitation(org_id: str) -> Response:
    org = auth.organization(org_id)
    issued = invitations.create(get_session(), org, body(), by=auth.acting(), pepper=_pepper())
    return _issued(issued, 201)


@bp.get(f"{ORG}/invitations")
def list_invitations(org_id: str) -> Response:
    db = get_session()
    rows = invitations.list_invitations(db, auth.organization(org_id))
    return reply({"invitations": [invitations.invitation_json(db, i) for i in rows]})


@bp.post(f"{ORG}/invitations/<invitation_id>/revoke")
def revoke_invitation(org_id: str, invitation_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    row = invitations.revoke(db, org, invitation_id, actor=auth.acting().actor)
    return reply(invitations.invitation_json(db, row))


@bp.post(f"{ORG}/invitations/<invitation_id>/resend")
def resend_invitation(org_id: str, invitation_id: str) -> Response:
    org = auth.organization(org_id)
    issued = invitations.resend(
        get_session(), org, invitation_id, actor=auth.acting().actor, pepper=_pepper()
    )
    return _issued(issued, 200)


@bp.post("/invitations/accept")
def accept_invitation() -> Response:
    """Platform key: the host's sign-up/sign-in flow, for the person who clicked the link."""
    auth.require_platform()
    payload = body()
    token = str(_string(payload, "token"))
    user = payload.get("user") or {}
    if not isinstance(user, dict):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'user' must be an object.")
    db = get_session()
    try:
        invitation = invitations.find_by_token(db, token, pepper=_pepper())
        invitations.check_acceptance(db, invitation, user)
    except ProvisioningError as error:
        if error.code in (ErrorCode.INVITATION_INVALID, ErrorCode.INVITATION_EMAIL_MISMATCH):
            commit_despite_error()  # the failed attempt is counted, the invitation lives
        raise
    result = invitations.accept(db, invitation, user)
    return reply(
        {
            "outcome": result.outcome,
            "user_id": result.user_id,
            "membership_id": result.membership_id,
            "organization_id": result.organization_id,
            "created_user": result.created_user,
        }
    )
