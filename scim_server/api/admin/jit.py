"""Management API: an organisation's JIT rules in the shape of Logto's Management API
(email domains, SSO connectors, default roles)."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.organizations.representation import role_json
from scim_server.services.signin import jit_config
from scim_server.services.signin.representation import connection_json
from scim_server.services.signin.representation import jit_email_domain_json

bp = auth.blueprint("jit", __name__, "/api/v1/organizations/<org_id>/jit")


@bp.get("/email-domains")
def jit_email_domains(org_id: str) -> Response:
    rows = jit_config.email_domains(get_session(), auth.organization(org_id))
    return reply([jit_email_domain_json(r) for r in rows])


@bp.post("/email-domains")
def add_jit_email_domain(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    domain = fields("emailDomain").get("emailDomain")
    added = jit_config.add_email_domain(get_session(), org, domain, actor=actor)
    return reply(jit_email_domain_json(added), 201)


@bp.put("/email-domains")
def replace_jit_email_domains(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    domains = fields("emailDomains").get("emailDomains")
    jit_config.replace_email_domains(get_session(), org, domains, actor=actor)
    return reply(None, 204)


@bp.delete("/email-domains/<domain>")
def remove_jit_email_domain(org_id: str, domain: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_email_domain(get_session(), org, domain, actor=auth.acting(org).actor)
    return reply(None, 204)


@bp.get("/sso-connectors")
def jit_sso_connectors(org_id: str) -> Response:
    rows = jit_config.sso_connectors(get_session(), auth.organization(org_id))
    return reply([connection_json(c) for c in rows])


@bp.post("/sso-connectors")
def add_jit_sso_connectors(org_id: str) -> Response:
    return _set_sso_connectors(org_id, replace=False, status=201)


@bp.put("/sso-connectors")
def replace_jit_sso_connectors(org_id: str) -> Response:
    return _set_sso_connectors(org_id, replace=True, status=204)


def _set_sso_connectors(org_id: str, *, replace: bool, status: int) -> Response:
    """POST adds to the JIT connectors, PUT replaces them (Logto: bodiless 201 or 204)."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    ids = fields("ssoConnectorIds").get("ssoConnectorIds")
    jit_config.set_sso_connectors(get_session(), org, ids, replace=replace, actor=actor)
    return reply(None, status)


@bp.delete("/sso-connectors/<connection_id>")
def remove_jit_sso_connector(org_id: str, connection_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_sso_connector(get_session(), org, connection_id, actor=auth.acting(org).actor)
    return reply(None, 204)


@bp.get("/roles")
def jit_roles(org_id: str) -> Response:
    rows = jit_config.roles(get_session(), auth.organization(org_id))
    return reply([role_json(r) for r in rows])


@bp.post("/roles")
def add_jit_roles(org_id: str) -> Response:
    return _set_roles(org_id, replace=False, status=201)


@bp.put("/roles")
def replace_jit_roles(org_id: str) -> Response:
    return _set_roles(org_id, replace=True, status=204)


def _set_roles(org_id: str, *, replace: bool, status: int) -> Response:
    """POST adds the JIT role, PUT replaces it (Logto: bodiless 201 or 204)."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    ids = fields("organizationRoleIds").get("organizationRoleIds")
    jit_config.set_roles(get_session(), org, ids, replace=replace, actor=actor)
    return reply(None, status)


@bp.delete("/roles/<role_id>")
def remove_jit_role(org_id: str, role_id: str) -> Response:
    org = auth.organization(org_id)
    jit_config.remove_role(get_session(), org, role_id, actor=auth.acting(org).actor)
    return reply(None, 204)
