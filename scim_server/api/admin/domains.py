"""Management API: an organisation's email domains, claimed then verified by DNS TXT."""

from __future__ import annotations

from flask import Response
from flask import current_app

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.api.admin.http import required_string
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.signin import domains
from scim_server.services.signin.representation import domain_json

bp = auth.blueprint("domains", __name__, "/api/v1/organizations/<org_id>/domains")


@bp.get("")
def list_domains(org_id: str) -> Response:
    rows = domains.list_domains(get_session(), auth.organization(org_id))
    return reply({"domains": [domain_json(d) for d in rows]})


@bp.post("")
def claim_domain(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    domain = required_string(fields("domain"), "domain")
    row = domains.claim(get_session(), org, domain, actor=actor)
    return reply(domain_json(row), 201)


@bp.post("/<domain>/verify")
def verify_domain(org_id: str, domain: str) -> Response:
    """DNS TXT; or, with the platform key, ``{"method": "manual", "reason": …}``."""
    org = auth.organization(org_id)
    payload = body()
    reason = None
    if payload.get("method", "dns") == "manual":
        auth.require_platform()
        reason = required_string(payload, "reason")
    elif payload.get("method", "dns") != "dns":
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'method' is 'dns' or 'manual'.")
    actor = auth.acting(org).actor
    fields("method", "reason")
    row = domains.verify(
        get_session(),
        org,
        domain,
        actor=actor,
        resolver=current_app.extensions["txt_resolver"],
        manual_reason=reason,
    )
    return reply(domain_json(row))
