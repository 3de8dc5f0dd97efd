"""Admin actions on members (docs/lifecycle.md §2.5, rows A1–A6), who may act, and the member view.

The admin writes only O (and ``ended_*`` on remove). Guards: nobody disables or removes
themselves, only Owners act on Owners, and an admin action never leaves the organisation
without an effective Owner. The directory is not bound by that last guard: deprovisioning
a leaver is a security control (docs/lifecycle.md §2.5, "The last owner and the directory").

Who acts is never a free-text name (docs/api.md §1, "Acting person"): ``resolve_actor``
turns ``X-Acting-User`` (or the SDK's ``acting_user``) into an effective Owner or Admin of
the organisation, or into the key itself when the caller says ``key``, and refuses
anything else. A key acts with an Admin's powers; the platform key with an Owner's.
"""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.emails import canonical_email
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import access
from scim_server.services.membership import lifecycle
from scim_server.services.membership import seats
from scim_server.services.membership import transitions
from scim_server.services.membership.grants import ADMIN
from scim_server.services.membership.grants import ADMIN_ROLES
from scim_server.services.membership.grants import DEFAULT_SITE_ROLE
from scim_server.services.membership.grants import OWNER
from scim_server.services.membership.grants import live_role
from scim_server.services.membership.grants import parse_site_grants
from scim_server.services.membership.grants import resolve_role
from scim_server.services.membership.grants import role_name
from scim_server.services.membership.grants import validate_scope
from scim_server.services.membership.lifecycle import Refused
from scim_server.services.membership.lifecycle import Trigger
from scim_server.storage import queries
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import SiteAssignment
from scim_server.storage.models import SiteRole
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

MEMBER_STATES = ("unmanaged", "active", "inactive", "removed", "disabled", "live")

# The X-Acting-User value by which a caller acts as its key rather than as a person.
KEY = "key"


@dataclass(frozen=True)
class AdminActor:
    """Who acts: the audit actor, the person (None: the key acts) and the role acted with.

    ``role`` is the person's live role, ``admin`` for an organisation key and ``owner`` for
    the platform key (see ``resolve_actor``).
    """

    actor: Actor
    user_id: str | None = None
    role: str = ADMIN

    @property
    def is_key(self) -> bool:
        return self.user_id is None


def resolve_actor(
    db: Session, org: Organization, named: str | None, *, key: Actor, platform: bool
) -> AdminActor:
    """The actor of an admin action on ``org``, failing closed (docs/api.md §1).

    ``named`` is a user id or email naming an effective Owner or Admin of ``org``, or
    ``key``: the caller acts as its key, audited as ``key``, with an Admin's powers, or an
    Owner's for the platform key (the operator's recovery path). An organisation key is
    held by software, not a person, so what only an Owner may do (act on an Owner, make
    an Owner) needs a named Owner, except appointing the first one.
    """
    named = (named or "").strip()
    if not named:
        raise ProvisioningError(
            ErrorCode.ACTING_USER_REQUIRED,
            "Name who acts: X-Acting-User: <a member's user id or email>, or 'key'.",
        )
    if named == KEY:
        return AdminActor(key, None, OWNER if platform else ADMIN)
    user_id = _user_named(db, named)
    m = queries.membership_of(db, org.id, user_id) if user_id else None
    if m is None or m.ended_at is not None:
        raise ProvisioningError(
            ErrorCode.ACTING_USER_UNKNOWN,
            f"X-Acting-User {excerpt(named)} is not a member of this organization.",
        )
    role = live_role(db, m)
    if role not in ADMIN_ROLES or not access.effective(db, m)[0]:
        raise ProvisioningError(
            ErrorCode.INSUFFICIENT_ROLE,
            f"X-Acting-User {excerpt(named)} must be an effective Owner or Admin here.",
        )
    return AdminActor(Actor("admin", m.user_id, key.request_id), m.user_id, role or ADMIN)


def _user_named(db: Session, named: str) -> str | None:
    """The account ``named`` by email (normalised like every stored email) or by id."""
    if "@" in named:
        try:
            email = canonical_email(named)
        except ProvisioningError:
            return None
        return db.scalar(select(User.id).where(User.email_normalized == email))
    return db.scalar(select(User.id).where(User.id == named))


def may_appoint_owner(db: Session, org: Organization, by: AdminActor) -> bool:
    """Owners appoint Owners; a key may also appoint the first one (an organisation made
    by ``scim-server org create`` has no member until someone is invited)."""
    if by.role == OWNER:
        return True
    owner_id = queries.builtin_role_id(db, OWNER)
    return by.is_key and queries.effective_owner_count(db, org.id, owner_id) == 0


def get_membership(
    db: Session, org: Organization, user_id: str, *, lock: bool = False
) -> Membership:
    m = queries.membership_of(db, org.id, user_id, for_update=lock)
    if m is None:
        raise NotFound(f"No member {excerpt(user_id)} in this organization.")
    return m


def disable(
    db: Session, org: Organization, user_id: str, *, reason: str | None, by: AdminActor
) -> Membership:
    """Rows A1–A2: set the sticky override; revokes sessions when access is lost."""
    m = get_membership(db, org, user_id, lock=True)
    _guard_owner_action(db, org, m, by)
    _run(db, m, Trigger.ADMIN_DISABLED, by, reason=reason)
    return m


def enable(db: Session, org: Organization, user_id: str, *, by: AdminActor) -> Membership:
    """Row A3: clear the override; fails with seat_limit_reached when it needs a seat."""
    m = get_membership(db, org, user_id, lock=True)
    tr = _transition(db, m, Trigger.ADMIN_ENABLED)
    if not lifecycle.counts_as_seat(tr.before) and lifecycle.counts_as_seat(tr.after):
        seats.require_free_seat(db, org)
    transitions.apply(db, m, tr, actor=by.actor)
    return m


# What a PATCH of a member changes (row A4); the rest of the representation is read-only.
MEMBER_FIELDS = frozenset({"role", "scope", "sites"})


def edit(
    db: Session,
    org: Organization,
    user_id: str,
    changes: dict[str, Any],
    *,
    by: AdminActor,
    round_trip: bool = False,
) -> Membership:
    """Row A4: role, scope and sites; refused while the directory says inactive.

    A role or sites set here is an override that group mappings leave alone until the
    admin returns it to directory control (docs/lifecycle.md §2.7): naming the current
    value pins it too. ``round_trip``: the whole representation came back (it carries the
    read-only ``grant_overrides``), so only a changed value is a decision; an unchanged
    one leaves directory control, and an override's stamp, as they were.
    """
    m = get_membership(db, org, user_id, lock=True)
    tr = _transition(db, m, Trigger.ADMIN_EDITED)
    before = transitions.snapshot(m)
    before["sites"] = site_ids(db, m)
    if "role" in changes:
        _assign_role(db, org, m, changes["role"], by)
    if "scope" in changes:
        m.scope = validate_scope(changes["scope"])
    if "sites" in changes:
        _assign_sites(db, org, m, changes["sites"])
    after = transitions.snapshot(m)
    after["sites"] = site_ids(db, m)
    if "role" in changes and not (round_trip and after["role_id"] == before["role_id"]):
        m.role_override_by, m.role_override_at = _who(by), utcnow()
    if "sites" in changes and not (round_trip and after["sites"] == before["sites"]):
        m.sites_override_by, m.sites_override_at = _who(by), utcnow()
    if after != before:
        transitions.record_change(db, m, tr, actor=by.actor, before=before, after=after)
    return m


def remove(db: Session, org: Organization, user_id: str, *, by: AdminActor) -> Membership:
    """Rows A5–A6: end the membership; a directory-active member is the directory's to remove."""
    m = get_membership(db, org, user_id, lock=True)
    _guard_owner_action(db, org, m, by)
    _run(db, m, Trigger.ADMIN_REMOVED, by)
    return m


def _run(
    db: Session, m: Membership, trigger: Trigger, by: AdminActor, reason: str | None = None
) -> None:
    transitions.apply(db, m, _transition(db, m, trigger), actor=by.actor, reason=reason)


def _transition(db: Session, m: Membership, trigger: Trigger) -> lifecycle.Transition:
    try:
        return lifecycle.transition(
            access.state_of(m),
            trigger,
            facts=access.facts_of(db, m),
            has_live_scim=queries.live_scim_id(db, m.id) is not None,
        )
    except Refused as refused:
        raise ProvisioningError(refused.code, refused.message) from None


def _guard_owner_action(db: Session, org: Organization, target: Membership, by: AdminActor) -> None:
    """The guards of rows A1 and A6: self, role ceiling, last effective Owner."""
    if by.user_id is not None and by.user_id == target.user_id:
        raise ProvisioningError(
            ErrorCode.CANNOT_DISABLE_SELF, "You cannot disable or remove yourself."
        )
    target_is_owner = role_name(db, target.role_id) == OWNER
    if by.role not in ADMIN_ROLES:
        raise ProvisioningError(
            ErrorCode.INSUFFICIENT_ROLE, "Only Owners and Admins manage members."
        )
    if target_is_owner and by.role != OWNER:
        raise ProvisioningError(ErrorCode.INSUFFICIENT_ROLE, "Only an Owner can act on an Owner.")
    if target_is_owner and _is_last_effective_owner(db, org, target):
        raise ProvisioningError(
            ErrorCode.LAST_OWNER,
            "This is the organization's last effective Owner; appoint another Owner first.",
        )


def _is_last_effective_owner(db: Session, org: Organization, target: Membership) -> bool:
    owner_id = queries.builtin_role_id(db, OWNER)
    return queries.effective_owner_count(db, org.id, owner_id, excluding=target.id) == 0


def _assign_role(db: Session, org: Organization, m: Membership, ref: Any, by: AdminActor) -> None:
    role = resolve_role(db, org, _role_ref(ref))
    if role.id == m.role_id:
        return  # unchanged (a representation sent back): no guard has anything to refuse
    if role.name == OWNER and role.builtin and not may_appoint_owner(db, org, by):
        raise ProvisioningError(
            ErrorCode.ROLE_NOT_ASSIGNABLE, "Only an Owner can make someone Owner."
        )
    if (
        role_name(db, m.role_id) == OWNER
        and role.name != OWNER
        and _is_last_effective_owner(db, org, m)
    ):
        raise ProvisioningError(ErrorCode.LAST_OWNER, "This is the last effective Owner.")
    m.role_id = role.id


def _who(by: AdminActor) -> str:
    """Who set an override, as the member view shows it: the person, or ``key``."""
    return by.user_id or KEY


def _role_ref(value: Any) -> Any:
    """A role id or name, or the ``{"id", "name"}`` object a member's representation shows."""
    if not isinstance(value, dict):
        return value
    if set(value) - {"id", "name"} or not isinstance(value.get("id"), str):
        raise ProvisioningError(
            ErrorCode.ROLE_INVALID, "'role' is a role id or name, or {\"id\": <role id>}."
        )
    return value["id"]


def _assign_sites(db: Session, org: Organization, m: Membership, value: Any) -> None:
    wanted = parse_site_grants(db, org, value)
    db.execute(delete(SiteAssignment).where(SiteAssignment.membership_id == m.id))
    if wanted:
        db.execute(
            insert(SiteAssignment),
            [{"membership_id": m.id, "site_id": s, "site_role_id": r} for s, r in wanted.items()],
        )


def site_ids(db: Session, m: Membership) -> list[dict[str, str | None]]:
    """The member's sites as ``{"site": id, "role": site role name}``, in site id order."""
    rows = db.execute(
        select(SiteAssignment.site_id, SiteRole.name)
        .outerjoin(SiteRole, SiteRole.id == SiteAssignment.site_role_id)
        .where(SiteAssignment.membership_id == m.id)
        .order_by(SiteAssignment.site_id)
    )
    return [{"site": site_id, "role": name or DEFAULT_SITE_ROLE} for site_id, name in rows]


def list_members(
    db: Session,
    org: Organization,
    *,
    email: str | None,
    state: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Membership], str | None]:
    """A page of members in id order; the cursor is opaque and stable under inserts."""
    stmt = select(Membership).where(Membership.org_id == org.id)
    if email:  # the email the organisation sees now (docs/lifecycle.md §9)
        key = canonical_email(email)
        # A directory's emails are kept as sent: match its likely spellings of the address.
        raw = email.strip().lower()
        nfc, nfd = unicodedata.normalize("NFC", raw), unicodedata.normalize("NFD", raw)
        spellings = {key, raw, nfc, nfd}
        found = queries.memberships_with_email(org.id, key, sorted(spellings))
        stmt = stmt.where(Membership.id.in_(found))
    if state:
        stmt = stmt.where(_state_filter(state))
    if cursor:
        stmt = stmt.where(Membership.id > _decode_cursor(cursor))
    rows = list(db.scalars(stmt.order_by(Membership.id).limit(limit + 1)))
    next_cursor = _encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def _state_filter(state: str) -> Any:
    if state not in MEMBER_STATES:
        raise ProvisioningError(
            ErrorCode.STATE_INVALID, f"'state' must be one of {', '.join(MEMBER_STATES)}."
        )
    if state == "disabled":
        return Membership.admin_override == AdminOverride.DISABLED
    if state == "live":
        return Membership.ended_at.is_(None)
    if state == "removed":
        return Membership.ended_at.is_not(None)
    return and_(Membership.directory_state == state, Membership.ended_at.is_(None))


def _encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    """A cursor decodes to a membership id; anything else (``AAAA`` decodes to NULs, which
    PostgreSQL refuses) is ``cursor_invalid`` before it reaches a query."""
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = None
    if decoded is None or not decoded.isprintable() or len(decoded) > 36:
        raise ProvisioningError(ErrorCode.CURSOR_INVALID, "The cursor is not one this API issued.")
    return decoded


# Public names for the member list's cursor, which other paged lists of the management
# API share so that every cursor is opaque the same way.
encode_cursor = _encode_cursor
decode_cursor = _decode_cursor
