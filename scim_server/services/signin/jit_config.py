"""Just-in-time rules in the shape of Logto's Management API: email domains, SSO
connectors and default roles per organisation.

Unlike Logto (docs/lifecycle.md §7), a JIT email domain must be a domain this organisation has
verified, a public mail provider never qualifies, and a JIT role is never privileged.
A membership holds one role, so an organisation has at most one JIT role.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.emails import domain_of
from scim_server.services.emails import normalize_domain
from scim_server.services.errors import AccessRefused
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import lifecycle
from scim_server.services.membership import seats
from scim_server.services.membership import transitions
from scim_server.services.membership.grants import resolve_role
from scim_server.services.membership.lifecycle import Trigger
from scim_server.services.membership.sessions import create_session
from scim_server.services.signin.sso_connections import check_default_role
from scim_server.storage import queries
from scim_server.storage.models import JitRole
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import Role
from scim_server.storage.models import SignInSession
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import User

SIGN_IN_METHODS = ("password", "email_code", "social", "sso")

# --- email domains ------------------------------------------------------------------------


def email_domains(db: Session, org: Organization) -> list[OrgDomain]:
    return list(
        db.scalars(
            select(OrgDomain)
            .where(OrgDomain.org_id == org.id, OrgDomain.jit_enabled.is_(True))
            .order_by(OrgDomain.domain)
        )
    )


def add_email_domain(db: Session, org: Organization, text: Any, *, actor: Actor) -> OrgDomain:
    row = _verified_domain(db, org, text)
    if not row.jit_enabled:
        row.jit_enabled = True
        after = {"emailDomain": row.domain}
        record(db, org.id, actor, EventType.JIT_EMAIL_DOMAIN_ADDED, row, after=after)
    return row


def replace_email_domains(db: Session, org: Organization, texts: Any, *, actor: Actor) -> None:
    wanted = {_verified_domain(db, org, t).domain for t in _list(texts, "emailDomains")}
    for row in db.scalars(select(OrgDomain).where(OrgDomain.org_id == org.id)):
        if row.jit_enabled != (row.domain in wanted):
            row.jit_enabled = row.domain in wanted
    after = {"emailDomains": sorted(wanted)}
    record(db, org.id, actor, EventType.JIT_EMAIL_DOMAINS_REPLACED, org, after=after)


def remove_email_domain(db: Session, org: Organization, text: str, *, actor: Actor) -> None:
    domain = normalize_domain(text)
    row = db.scalars(
        select(OrgDomain).where(
            OrgDomain.org_id == org.id, OrgDomain.domain == domain, OrgDomain.jit_enabled.is_(True)
        )
    ).first()
    if row is None:
        raise NotFound(f"{domain} is not a JIT email domain here.")
    row.jit_enabled = False
    before = {"emailDomain": domain}
    record(db, org.id, actor, EventType.JIT_EMAIL_DOMAIN_REMOVED, row, before=before)


def _verified_domain(db: Session, org: Organization, text: Any) -> OrgDomain:
    if not isinstance(text, str):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'emailDomain' must be a string.")
    domain = normalize_domain(text)
    row = db.scalars(
        select(OrgDomain).where(OrgDomain.org_id == org.id, OrgDomain.domain == domain)
    ).first()
    if row is None or row.verified_at is None:
        raise ProvisioningError(
            ErrorCode.DOMAIN_INVALID,
            f"Verify {domain} for this organization before using it for JIT.",
        )
    return row


# --- SSO connectors -----------------------------------------------------------------------


def sso_connectors(db: Session, org: Organization) -> list[SsoConnection]:
    return list(
        db.scalars(
            select(SsoConnection)
            .where(SsoConnection.org_id == org.id, SsoConnection.jit_enabled.is_(True))
            .order_by(SsoConnection.created_at)
        )
    )


def set_sso_connectors(
    db: Session, org: Organization, ids: Any, *, replace: bool, actor: Actor
) -> None:
    wanted = set(_list(ids, "ssoConnectorIds"))
    rows = {
        c.id: c for c in db.scalars(select(SsoConnection).where(SsoConnection.org_id == org.id))
    }
    missing = wanted - set(rows)
    if missing:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, f"No SSO connector {', '.join(sorted(missing))}."
        )
    for conn_id, conn in rows.items():
        if conn_id in wanted:
            conn.jit_enabled = True
        elif replace:
            conn.jit_enabled = False
    after = {"ssoConnectorIds": sorted(wanted), "replace": replace}
    record(db, org.id, actor, EventType.JIT_SSO_CONNECTORS_SET, org, after=after)


def remove_sso_connector(
    db: Session, org: Organization, connection_id: str, *, actor: Actor
) -> None:
    conn = db.get(SsoConnection, connection_id)
    if conn is None or conn.org_id != org.id or not conn.jit_enabled:
        raise NotFound(f"{connection_id} is not a JIT SSO connector here.")
    conn.jit_enabled = False
    record(db, org.id, actor, EventType.JIT_SSO_CONNECTOR_REMOVED, conn)


# --- roles --------------------------------------------------------------------------------


def roles(db: Session, org: Organization) -> list[Role]:
    return list(
        db.scalars(
            select(Role).join(JitRole, JitRole.role_id == Role.id).where(JitRole.org_id == org.id)
        )
    )


def set_roles(db: Session, org: Organization, ids: Any, *, replace: bool, actor: Actor) -> None:
    wanted = [
        check_default_role(resolve_role(db, org, r)) for r in _list(ids, "organizationRoleIds")
    ]
    current = [] if replace else roles(db, org)
    combined = {r.id for r in [*current, *wanted]}
    if len(combined) > 1:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            "A member holds one role, so an organization has at most one JIT role.",
        )
    db.execute(delete(JitRole).where(JitRole.org_id == org.id))
    for role_id in combined:
        db.add(JitRole(org_id=org.id, role_id=role_id))
    after = {"organizationRoleIds": sorted(combined)}
    record(db, org.id, actor, EventType.JIT_ROLES_SET, org, after=after)


def remove_role(db: Session, org: Organization, role_id: str, *, actor: Actor) -> None:
    found = db.get(JitRole, (org.id, role_id))
    if found is None:
        raise NotFound(f"{role_id} is not a JIT role here.")
    db.delete(found)
    record(db, org.id, actor, EventType.JIT_ROLE_REMOVED, Target("role", role_id))


def jit_default_role(db: Session, org: Organization, conn: SsoConnection | None) -> Role:
    """The role a JIT sign-in gives (docs/lifecycle.md §3.5): the connection's explicit
    ``default_role`` override, else the organisation's ``/jit/roles``, else Member. One
    setting for email-domain and SSO-connector JIT; never privileged (checked again here,
    since a role can change after it was configured)."""
    if conn is not None and conn.default_role_override:
        return check_default_role(db.get_one(Role, conn.default_role_id))
    chosen = roles(db, org)
    if chosen:
        return check_default_role(chosen[0])
    return db.get_one(Role, queries.builtin_role_id(db, "member"))


# --- email-domain JIT at sign-in -----------------------------------------------------------


def join_by_email_domain(
    db: Session, org: Organization, person: User, *, actor: Actor
) -> Membership | None:
    """A person signing in with a verified email on a JIT email domain joins, with the JIT
    role (Member when none is set). Never resurrects, never for an unverified email."""
    if not person.email_verified or not person.email_normalized:
        return None
    if queries.membership_of(db, org.id, person.id) is not None:
        return None
    domain = domain_of(person.email_normalized)
    enabled = db.scalar(
        select(OrgDomain.id).where(
            OrgDomain.org_id == org.id,
            OrgDomain.domain == domain,
            OrgDomain.verified_at.is_not(None),
            OrgDomain.jit_enabled.is_(True),
        )
    )
    if enabled is None:
        return None
    if queries.directory_active(db, org.id):
        raise AccessRefused(ErrorCode.NOT_PROVISIONED, "Your account has not been provisioned.")
    if org.exclusive_membership and queries.live_membership_elsewhere(db, org.id, person.id):
        raise AccessRefused(ErrorCode.MEMBERSHIP_CONFLICT, "You belong to another organization.")
    seats.require_free_seat(db, org)
    role = jit_default_role(db, org, None)
    tr = lifecycle.transition(None, Trigger.JOINED, facts=lifecycle.AccessFacts())
    m = transitions.create(
        db, org_id=org.id, user_id=person.id, source="jit", role_id=role.id, tr=tr, actor=actor
    )
    scim_ids.mint(db, m, person)
    return m


def _list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, f"'{name}' must be a list of strings.")
    return value


def sign_in(
    db: Session,
    *,
    user_id: str,
    org_id: str,
    method: str,
    sso_connection_id: str | None,
    actor: Actor,
) -> SignInSession:
    """Register a session after a sign-in; a first sign-in on a JIT email domain joins."""
    if method not in SIGN_IN_METHODS:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, f"'method' is one of {', '.join(SIGN_IN_METHODS)}."
        )
    org = db.get(Organization, org_id)
    person = db.get(User, user_id)
    if org is not None and person is not None:
        join_by_email_domain(db, org, person, actor=Actor("jit", "email_domain", actor.request_id))
    return create_session(
        db,
        user_id=user_id,
        org_id=org_id,
        method=method,
        sso_connection_id=sso_connection_id,
        actor=actor,
    )
