"""The sign-in package's management-API JSON: SSO connections, domains, JIT settings,
invitations and the outcome of an SSO login or an acceptance.

Rendering lives here, apart from the rules, so the services return rows and outcomes and a
field added to the API is added in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.formats import timestamp
from scim_server.services.membership.grants import role_name
from scim_server.services.signin.domains import expected_value
from scim_server.services.signin.domains import record_name
from scim_server.services.signin.invitations import Accepted
from scim_server.services.signin.invitations import Issued
from scim_server.services.signin.invitations import shown_status
from scim_server.storage.models import Invitation
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import SiteRole
from scim_server.storage.models import SsoConnection

if TYPE_CHECKING:  # jit and discover import sso_connections, which renders its snapshots here
    from scim_server.services.signin.discover import Route
    from scim_server.services.signin.jit import SsoSignIn


def connection_json(conn: SsoConnection) -> dict[str, Any]:
    return {
        "id": conn.id,
        "organization_id": conn.org_id,
        "name": conn.name,
        "enabled": conn.enabled,
        "jit_enabled": conn.jit_enabled,
        "jit_mode": conn.jit_mode,
        # Only an explicit override is shown; null follows /jit/roles (docs/lifecycle.md §3.5).
        "default_role_id": conn.default_role_id if conn.default_role_override else None,
        "require_email_verified": conn.require_email_verified,
    }


def domain_json(row: OrgDomain) -> dict[str, Any]:
    return {
        "domain": row.domain,
        "verified": row.verified_at is not None,
        "verified_at": timestamp(row.verified_at),
        "verification_method": row.verified_method,
        "txt_record": {"name": record_name(row.domain), "value": expected_value(row)},
        "jit_enabled": row.jit_enabled,
    }


def jit_email_domain_json(row: OrgDomain) -> dict[str, Any]:
    """A JIT email domain, spelled as Logto's Management API spells it."""
    return {"organizationId": row.org_id, "emailDomain": row.domain}


def _sites(db: Session, sites: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The invitation's sites as a member shows them: ``{"site", "role"}`` by site id."""
    if not sites:
        return []
    rows = db.execute(
        select(SiteRole.id, SiteRole.name).where(SiteRole.id.in_(set(sites.values())))
    ).all()
    names = {site_role_id: name for site_role_id, name in rows}
    return [{"site": s, "role": names.get(sites[s])} for s in sorted(sites)]


def invitation_json(db: Session, invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "organization_id": invitation.org_id,
        "email": invitation.email,
        "role": {"id": invitation.role_id, "name": role_name(db, invitation.role_id)},
        "scope": invitation.scope,
        "sites": _sites(db, invitation.sites),
        "status": shown_status(db, invitation),
        "delivery": invitation.delivery,
        "expires_at": timestamp(invitation.expires_at),
        "created_at": timestamp(invitation.created_at),
        "created_by": invitation.created_by,
        "accepted_user_id": invitation.accepted_user_id,
        "failed_attempts": invitation.failed_attempts,
    }


def issued_json(db: Session, issued: Issued, accept_url: str) -> dict[str, Any]:
    """A created or resent invitation: the only response that carries its token and link."""
    return {
        **invitation_json(db, issued.invitation),
        "token": issued.token,
        "accept_url": invitation_link(accept_url, issued.token),
    }


def invitation_link(accept_url: str, token: str) -> str:
    """The link the invitee follows: the host product's page with the token appended."""
    return f"{accept_url}?token={token}"


def accepted_json(result: Accepted) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "user_id": result.user_id,
        "membership_id": result.membership_id,
        "organization_id": result.organization_id,
        "created_user": result.created_user,
    }


def sso_login_json(signed_in: SsoSignIn, profile: dict[str, Any] | None = None) -> dict[str, Any]:
    """``POST /sso/login`` and ``/sso/link``: who signed in, the session issued, what JIT
    did, and the member's ``profile`` in that organisation (docs/lifecycle.md §9)."""
    result, session = signed_in.result, signed_in.session
    return {
        "user_id": result.user_id,
        "organization_id": result.organization_id,
        "membership_id": result.membership_id,
        "session": {
            "id": session.id,
            "sso_connection_id": session.sso_connection_id,
            "created_at": timestamp(session.created_at),
        },
        "provisioned": result.created_membership,
        "created_user": result.created_user,
        "linked_identity": result.linked_identity,
        "profile": profile,
    }


def discover_json(domain: str, routes: list[Route]) -> dict[str, Any]:
    """``GET /sso/discover``: the same shape whether or not the domain routes anywhere."""
    return {
        "domain": domain,
        "organizations": [
            {
                "id": r.org.id,
                "name": r.org.name,
                "sso_required": r.org.sso_required,
                "sso_connections": [{"id": c.id, "name": c.name} for c in r.connections],
            }
            for r in routes
        ],
    }
