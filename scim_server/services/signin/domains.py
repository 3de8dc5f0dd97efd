"""Claimed and verified email domains (DNS TXT), at most one organisation per domain.

The DNS lookup sits behind ``TxtResolver`` so tests (and air-gapped deployments) can
replace it; production uses dnspython.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.emails import is_public_mail_domain
from scim_server.services.emails import normalize_domain
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.storage import queries
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

TXT_PREFIX = "_scim-server-verification"


class TxtResolver(Protocol):
    """Returns the TXT strings published at a name (empty when there are none)."""

    def txt(self, name: str) -> list[str]: ...


class DnsPythonResolver:
    """The real resolver: dnspython with short timeouts; any DNS failure is 'not found'."""

    def txt(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        resolver = dns.resolver.Resolver()
        resolver.lifetime = 5.0
        try:
            answer = resolver.resolve(name, "TXT")
        except dns.exception.DNSException:
            return []
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]


def record_name(domain: str) -> str:
    return f"{TXT_PREFIX}.{domain}"


def expected_value(row: OrgDomain) -> str:
    return f"scim-server-verification={row.verification_token}"


def claim(db: Session, org: Organization, text: str, *, actor: Actor) -> OrgDomain:
    """Start verifying a domain; claiming it again returns the same claim."""
    domain = normalize_domain(text)
    if is_public_mail_domain(domain):
        raise ProvisioningError(
            ErrorCode.DOMAIN_INVALID, f"{domain} is a public mail provider and cannot be claimed."
        )
    existing = _find(db, org, domain)
    if existing is not None:
        return existing
    row = OrgDomain(org_id=org.id, domain=domain, verification_token=secrets.token_hex(16))
    db.add(row)
    db.flush()
    record(db, org.id, actor, EventType.DOMAIN_CLAIMED, row, after={"domain": domain})
    return row


def verify(
    db: Session,
    org: Organization,
    text: str,
    *,
    actor: Actor,
    resolver: TxtResolver,
    manual_reason: str | None = None,
) -> OrgDomain:
    """Verify by DNS TXT, or by hand (support, with the platform key and a reason)."""
    row = _find(db, org, normalize_domain(text))
    if row is None:
        raise NotFound(f"No claimed domain {excerpt(text)} here; claim it first.")
    if row.verified_at is not None:
        return row
    if manual_reason is None:
        published = resolver.txt(record_name(row.domain))
        if expected_value(row) not in published:
            raise ProvisioningError(
                ErrorCode.DOMAIN_NOT_VERIFIED,
                f"No TXT record {expected_value(row)!r} at {record_name(row.domain)} yet.",
            )
    if queries.domain_owner(db, row.domain) not in (None, org.id):
        raise _taken(row.domain)
    try:
        with db.begin_nested():  # a parallel verification by another org loses here
            row.verified_at = utcnow()
            row.verified_method = "dns" if manual_reason is None else "manual"
            row.verified_by = actor.id
            db.flush()
    except IntegrityError:
        db.expire(row)
        raise _taken(row.domain) from None
    verified = verify_member_emails(db, org, row.domain)
    after = {"domain": row.domain, "method": row.verified_method, "emails_verified": verified}
    record(db, org.id, actor, EventType.DOMAIN_VERIFIED, row, after=after, reason=manual_reason)
    return row


def verify_member_emails(db: Session, org: Organization, domain: str) -> int:
    """Re-evaluate ``email_verified`` for the organisation's live members whose email is
    on a domain it has just verified (docs/lifecycle.md §3.6): the same rule a directory
    create applies (row P2), so people provisioned before the verification can now be
    linked by their SSO login. One set-based UPDATE; returns how many people it marked."""
    members = select(Membership.user_id).where(
        Membership.org_id == org.id, Membership.ended_at.is_(None)
    )
    suffix = "@" + domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = db.execute(
        update(User)
        .where(
            User.id.in_(members),
            User.email_verified.is_(False),
            User.email_normalized.like("%" + suffix, escape="\\"),
        )
        .values(email_verified=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _taken(domain: str) -> ProvisioningError:
    return ProvisioningError(
        ErrorCode.DOMAIN_TAKEN, f"{domain} is verified by another organization."
    )


def list_domains(db: Session, org: Organization) -> list[OrgDomain]:
    return list(
        db.scalars(select(OrgDomain).where(OrgDomain.org_id == org.id).order_by(OrgDomain.domain))
    )


def verified_for(db: Session, org_id: str, domain: str) -> OrgDomain | None:
    """The org's verified claim on ``domain`` (exact match: subdomains are not implied)."""
    return db.scalars(
        select(OrgDomain).where(
            OrgDomain.org_id == org_id,
            OrgDomain.domain == domain,
            OrgDomain.verified_at.is_not(None),
        )
    ).first()


def _find(db: Session, org: Organization, domain: str) -> OrgDomain | None:
    return db.scalars(
        select(OrgDomain).where(OrgDomain.org_id == org.id, OrgDomain.domain == domain)
    ).first()
