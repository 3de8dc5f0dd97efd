"""Organisations and their bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server import secrets
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.errors import NotFound
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Directory
from scim_server.storage.models import Organization
from scim_server.storage.models import utcnow

TOKEN_KINDS = ("scim", "management")
_PREFIXES = {"scim": "scim", "management": "mgmt"}


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the only moment its secret exists outside the caller's hands."""

    id: str
    kind: str
    secret: str


def create_org(session: Session, name: str, *, actor: Actor) -> Organization:
    """Create an organisation with its SCIM directory."""
    org = Organization(name=name)
    session.add(org)
    session.flush()
    session.add(Directory(org_id=org.id))
    record(
        session,
        org.id,
        actor,
        EventType.ORGANIZATION_CREATED,
        target_type="organization",
        target_id=org.id,
        after={"name": name},
    )
    session.flush()
    return org


def get_org(session: Session, org_id: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"No organization {org_id}.")
    return org


def create_token(
    session: Session, org: Organization, kind: str, *, pepper: str, actor: Actor
) -> IssuedToken:
    """Issue a token; only its keyed hash is stored."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token kind must be one of {TOKEN_KINDS}")
    secret = secrets.new_secret(_PREFIXES[kind])
    token = ApiToken(
        org_id=org.id, kind=kind, token_hash=secrets.digest(secret, pepper), prefix=secret[:9]
    )
    session.add(token)
    session.flush()
    record(
        session,
        org.id,
        actor,
        EventType.TOKEN_CREATED,
        target_type="token",
        target_id=token.id,
        after={"kind": kind, "prefix": token.prefix},
    )
    return IssuedToken(token.id, kind, secret)


def list_tokens(session: Session, org: Organization) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.org_id == org.id).order_by(ApiToken.created_at)
    return list(session.scalars(stmt))


def revoke_token(session: Session, token_id: str, *, actor: Actor) -> ApiToken:
    """Revoke at once; the next request with it gets 401."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(
            session,
            token.org_id,
            actor,
            EventType.TOKEN_REVOKED,
            target_type="token",
            target_id=token.id,
        )
    return token


def find_token(session: Session, secret: str, kind: str, *, pepper: str) -> ApiToken | None:
    """The live token of that kind whose digest matches, compared in constant time."""
    wanted = secrets.digest(secret, pepper)
    token = session.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == wanted, ApiToken.kind == kind, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if token is None or not secrets.same_digest(token.token_hash, wanted):
        return None
    return token


def directory_of(session: Session, org_id: str) -> Directory:
    directory = session.scalars(select(Directory).where(Directory.org_id == org_id)).one()
    return directory
