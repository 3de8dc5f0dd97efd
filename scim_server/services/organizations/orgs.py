"""Organisations and their bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server import secrets
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import lifecycle
from scim_server.services.membership import transitions
from scim_server.services.membership.access import facts_of
from scim_server.services.membership.access import state_of
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Directory
from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

TOKEN_KINDS = ("scim", "management")
_PREFIXES = {"scim": "scim", "management": "mgmt"}


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the only moment its secret exists outside the caller's hands."""

    id: str
    kind: str
    secret: str


def create_org(db: Session, name: str, *, actor: Actor) -> Organization:
    """Create an organisation with its SCIM directory."""
    org = Organization(name=name)
    db.add(org)
    db.flush()
    db.add(Directory(org_id=org.id))
    record(db, org.id, actor, EventType.ORGANIZATION_CREATED, org, after={"name": name})
    db.flush()
    return org


def get_org(db: Session, org_id: str) -> Organization:
    org = db.get(Organization, org_id)
    if org is None:
        raise NotFound(f"No organization {org_id}.")
    return org


def create_token(
    db: Session, org: Organization, kind: str, *, pepper: str, actor: Actor
) -> IssuedToken:
    """Issue a token; only its keyed hash is stored."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token kind must be one of {TOKEN_KINDS}")
    if kind == "scim":
        reconnect_directory(db, org)
    secret = secrets.new_secret(_PREFIXES[kind])
    token = ApiToken(
        org_id=org.id, kind=kind, token_hash=secrets.digest(secret, pepper), prefix=secret[:9]
    )
    db.add(token)
    db.flush()
    after = {"kind": kind, "prefix": token.prefix}
    record(db, org.id, actor, EventType.TOKEN_CREATED, token, after=after)
    return IssuedToken(token.id, kind, secret)


def list_tokens(db: Session, org: Organization) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.org_id == org.id).order_by(ApiToken.created_at)
    return list(db.scalars(stmt))


def revoke_token(db: Session, token_id: str, *, actor: Actor) -> ApiToken:
    """Revoke at once; the next request with it gets 401."""
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(db, token.org_id, actor, EventType.TOKEN_REVOKED, token)
    return token


def find_token(db: Session, secret: str, kind: str, *, pepper: str) -> ApiToken | None:
    """The live token of that kind whose digest matches, compared in constant time."""
    wanted = secrets.digest(secret, pepper)
    token = db.scalars(
        select(ApiToken).where(
            ApiToken.token_hash == wanted, ApiToken.kind == kind, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if token is None or not secrets.same_digest(token.token_hash, wanted):
        return None
    return token


def directory_of(db: Session, org_id: str) -> Directory:
    directory = db.scalars(select(Directory).where(Directory.org_id == org_id)).one()
    return directory


def list_orgs(db: Session) -> list[Organization]:
    return list(db.scalars(select(Organization).order_by(Organization.created_at)))


def update_org(db: Session, org: Organization, changes: dict[str, Any], *, actor: Actor) -> None:
    """Settings only the platform changes: seat limit, one-organisation policy, active."""
    before = org_json(org)
    for key, kind in (("seat_limit", int), ("exclusive_membership", bool), ("active", bool)):
        if key not in changes:
            continue
        value = changes[key]
        nullable = key == "seat_limit"
        valid = (value is None and nullable) or (
            isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        )
        if not valid or (kind is int and value is not None and value < 0):
            raise ProvisioningError(ErrorCode.VALIDATION_ERROR, f"'{key}' has an invalid value.")
        setattr(org, key, value)
    if changes.get("name") is not None:
        if not isinstance(changes["name"], str) or not changes["name"].strip():
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string."
            )
        org.name = changes["name"].strip()
    after = org_json(org)
    if after != before:
        record(db, org.id, actor, EventType.ORGANIZATION_UPDATED, org, before=before, after=after)


def org_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "active": org.active,
        "exclusive_membership": org.exclusive_membership,
        "seat_limit": org.seat_limit,
        "over_seat_limit": org.over_seat_limit_at is not None,
        "created_at": org.created_at.isoformat(timespec="milliseconds") + "Z",
    }


def disconnect_directory(db: Session, org: Organization, *, actor: Actor) -> int:
    """K1: the SCIM directory goes away without acting like a mass DELETE.

    Directory-active members keep access as unmanaged, inactive ones end, every SCIM
    resource is tombstoned and the SCIM tokens are revoked. Returns the members changed.
    """
    directory = directory_of(db, org.id)
    directory.disconnected_at = utcnow()
    changed = 0
    live = (
        select(Membership)
        .join(ScimUser, ScimUser.membership_id == Membership.id)
        .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None))
    )
    for m in db.scalars(live.with_for_update()).all():
        tr = lifecycle.transition(
            state_of(m), lifecycle.Trigger.DIRECTORY_DISCONNECTED, facts=facts_of(db, m)
        )
        transitions.apply(db, m, tr, actor=actor)
        changed += tr.changed
    db.execute(
        update(ScimUser)
        .where(ScimUser.directory_id == directory.id, ScimUser.deleted_at.is_(None))
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.execute(
        delete(GroupMember).where(
            GroupMember.group_id.in_(
                select(ScimGroup.id).where(ScimGroup.directory_id == directory.id)
            )
        )
    )
    db.execute(delete(ScimGroup).where(ScimGroup.directory_id == directory.id))
    for token in list_tokens(db, org):
        if token.kind == "scim" and token.revoked_at is None:
            revoke_token(db, token.id, actor=actor)
    return changed


def reconnect_directory(db: Session, org: Organization) -> None:
    """A new SCIM token reconnects a disconnected directory.

    Every live member gets a SCIM view again (lifecycle.md §2.3: GET /Users lists live
    members of any source), so the IdP finds them by filter instead of meeting a 409.
    """
    directory = directory_of(db, org.id)
    if directory.disconnected_at is None:
        return
    directory.disconnected_at = None
    db.flush()
    unlisted = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.org_id == org.id,
            Membership.ended_at.is_(None),
            ~exists().where(ScimUser.membership_id == Membership.id, ScimUser.deleted_at.is_(None)),
        )
    )
    for m, person in db.execute(unlisted).all():
        scim_ids.mint(db, m, person)
