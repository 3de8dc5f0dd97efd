"""Sign-in routing: from the email a person types to the SSO connection that signs them in.

Only a verified domain routes (docs/api.md §3.7): a domain nobody claimed, one claimed but
not verified, and one whose organisation is deactivated all answer alike, with no
organisation, so the call cannot tell a prober who has claimed what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.emails import domain_of
from scim_server.services.emails import normalize_email
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.signin import sso_connections
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import SsoConnection


@dataclass(frozen=True)
class Route:
    """An organisation a verified domain belongs to, with its enabled SSO connections."""

    org: Organization
    connections: list[SsoConnection]


def discover(db: Session, email: Any) -> tuple[str, list[Route]]:
    """The email's domain and where it routes; a malformed email is a 400, not "nothing"."""
    if not isinstance(email, str) or not email.strip():
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'email' is required.")
    try:
        domain = domain_of(normalize_email(email))
    except ProvisioningError:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "'email' is not an email address (name@domain)."
        ) from None
    orgs = list(
        db.scalars(
            select(Organization)
            .join(OrgDomain, OrgDomain.org_id == Organization.id)
            .where(
                OrgDomain.domain == domain,
                OrgDomain.verified_at.is_not(None),
                Organization.active.is_(True),
            )
            .order_by(Organization.created_at)
        )
    )
    return domain, [Route(org, _enabled_connections(db, org)) for org in orgs]


def _enabled_connections(db: Session, org: Organization) -> list[SsoConnection]:
    """An organisation has a handful of connections: filter the list everyone reads."""
    return [c for c in sso_connections.list_connections(db, org) if c.enabled]
