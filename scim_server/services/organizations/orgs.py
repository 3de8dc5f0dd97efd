"""Organisations and their SCIM directory (API tokens are in ``tokens.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import boolean_fields
from scim_server.services.inputs import writable_fields
from scim_server.services.membership import lifecycle
from scim_server.services.membership import transitions
from scim_server.services.membership.access import facts_of
from scim_server.services.membership.access import state_of
from scim_server.services.organizations import tokens
from scim_server.services.organizations.representation import org_json
from scim_server.services.organizations.tokens import IssuedToken
from scim_server.storage import queries
from scim_server.storage.models import Directory
from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow


@dataclass(frozen=True)
class ProvisionedOrg:
    """A new organisation and its first credentials, shown this once."""

    org: Organization
    scim_token: IssuedToken
    management_key: IssuedToken


def provision(
    db: Session, name: Any, settings: dict[str, Any], *, pepper: str, actor: Actor
) -> ProvisionedOrg:
    """A new organisation with its directory, its settings (``update_org``'s), its first
    SCIM token and its first management key: everything a host needs to connect an IdP."""
    writable_fields(settings, ORG_SETTINGS | PLATFORM_SETTINGS, {})
    if not isinstance(name, str) or not name.strip():
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string.")
    org = create_org(db, name.strip(), actor=actor)
    update_org(db, org, settings, actor=actor)
    scim = tokens.create_token(db, org, "scim", pepper=pepper, actor=actor)
    management = tokens.create_token(db, org, "management", pepper=pepper, actor=actor)
    return ProvisionedOrg(org, scim, management)


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
    if org is None or org.candidate_for is not None:  # a candidate directory's holder
        raise NotFound(f"No organization {excerpt(org_id)}.")
    return org


def directory_of(db: Session, org_id: str) -> Directory:
    """The organisation's directory, which ``create_org`` made with it: always there."""
    directory = queries.directory_of(db, org_id)
    if directory is None:
        raise LookupError(f"organization {org_id} has no directory row")
    return directory


def list_orgs(db: Session) -> list[Organization]:
    stmt = select(Organization).where(Organization.candidate_for.is_(None))
    return list(db.scalars(stmt.order_by(Organization.created_at)))


# Settings an organisation decides for itself (its own key, an Owner or Admin acting) and
# those only the platform changes; the rest of the representation is read-only.
ORG_SETTINGS = frozenset({"sso_required", "sso_owner_break_glass"})
PLATFORM_SETTINGS = frozenset({"name", "seat_limit", "exclusive_membership", "active"})
_FLAGS = ("exclusive_membership", "active", "sso_required", "sso_owner_break_glass")


def update_org(
    db: Session, org: Organization, changes: dict[str, Any], *, actor: Actor, platform: bool = True
) -> None:
    """Change settings: the platform's (seat limit, one-organisation policy, active, name)
    and the organisation's own sign-in policy (``sso_required`` and its Owner break-glass).

    An organisation key may send the platform's fields back unchanged (the round-trip rule
    of docs/api.md §1) but not change them.
    """
    before = org_json(org)
    if not platform:
        _refuse_platform_changes(changes, before)
    changes = writable_fields(changes, ORG_SETTINGS | PLATFORM_SETTINGS, before)
    _apply_seat_limit(org, changes)
    for key, value in boolean_fields(changes, _FLAGS).items():
        setattr(org, key, value)
    if "name" in changes:
        if not isinstance(changes["name"], str) or not changes["name"].strip():
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string."
            )
        org.name = changes["name"].strip()
    after = org_json(org)
    if after != before:
        record(db, org.id, actor, EventType.ORGANIZATION_UPDATED, org, before=before, after=after)


def _refuse_platform_changes(changes: dict[str, Any], shown: dict[str, Any]) -> None:
    """An organisation key changing a platform setting: 403, naming what needs the platform."""
    taken = sorted(k for k in changes if k in PLATFORM_SETTINGS and changes[k] != shown[k])
    if taken:
        raise ProvisioningError(
            ErrorCode.PLATFORM_KEY_REQUIRED,
            f"Only the platform key changes {', '.join(taken)}.",
        )


# The column is a 32-bit integer on PostgreSQL; a larger number is "no limit" misspelt.
MAX_SEAT_LIMIT = 2**31 - 1


def _apply_seat_limit(org: Organization, changes: dict[str, Any]) -> None:
    """``seat_limit``: an integer from 0 to MAX_SEAT_LIMIT, or null for no limit."""
    if "seat_limit" not in changes:
        return
    value = changes["seat_limit"]
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEAT_LIMIT
    ):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"'seat_limit' must be an integer from 0 to {MAX_SEAT_LIMIT}, or null for no limit.",
        )
    org.seat_limit = value


@dataclass(frozen=True)
class Disconnected:
    """What a disconnect did: members changed, and the groups kept or removed."""

    members_changed: int
    groups: int
    groups_removed: bool


def disconnect_directory(
    db: Session, org: Organization, *, actor: Actor, remove_groups: bool = False
) -> Disconnected:
    """docs/lifecycle.md row K1: the SCIM directory goes away without acting like a mass DELETE.

    Directory-active members keep access as unmanaged, inactive ones end, every SCIM user
    is tombstoned and the SCIM tokens are revoked. Groups (and so the access their group
    mappings give) are kept, unmanaged, for the next IdP to find by ``displayName``, unless
    the caller asks for their removal (issue 15: dropping them silently took mapped access).
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
    groups = db.scalar(
        select(func.count()).select_from(ScimGroup).where(ScimGroup.directory_id == directory.id)
    )
    if remove_groups:
        _remove_groups(db, directory.id)
    for token in tokens.list_tokens(db, org):
        if token.kind == "scim" and token.revoked_at is None:
            tokens.revoke_token(db, token.id, actor=actor)
    return Disconnected(changed, int(groups or 0), remove_groups)


def _remove_groups(db: Session, directory_id: str) -> None:
    """Every group of the directory and its member rows, in two set-based statements."""
    db.execute(
        delete(GroupMember).where(
            GroupMember.group_id.in_(
                select(ScimGroup.id).where(ScimGroup.directory_id == directory_id)
            )
        )
    )
    db.execute(delete(ScimGroup).where(ScimGroup.directory_id == directory_id))
