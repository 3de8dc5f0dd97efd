"""Email invitations (docs/lifecycle.md §4): single-use secrets stored only as keyed hashes.

The link carries ``<invitation id>.<secret>``: the id is a public selector, the secret
256 random bits. We store HMAC-SHA256(pepper, "invitation:v1:<id>:<secret>") and compare
in constant time after loading the row by id, never by the hash. Accept is one
transaction around a compare-and-set on ``status='pending'``, so two accepts of one link
give one membership. Unknown, wrong, revoked and used links all answer the same
``invitation_invalid``; only a genuine link that ran out says ``invitation_expired``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.emails import normalize_email
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import access
from scim_server.services.membership import grants
from scim_server.services.membership import lifecycle
from scim_server.services.membership import seats
from scim_server.services.membership import transitions
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.admin import may_appoint_owner
from scim_server.services.membership.lifecycle import Refused
from scim_server.services.membership.lifecycle import Trigger
from scim_server.storage import queries
from scim_server.storage.models import Invitation
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import SiteAssignment
from scim_server.storage.models import User
from scim_server.storage.models import new_id
from scim_server.storage.models import utcnow

HASH_KID = "v1"
DEFAULT_TTL = 7 * 24 * 3600
MIN_TTL, MAX_TTL = 3600, 30 * 24 * 3600
MAX_FAILED_ATTEMPTS = 10  # per invitation; a resend resets the count (§4.6)


@dataclass(frozen=True)
class Issued:
    invitation: Invitation
    token: str


@dataclass(frozen=True)
class Accepted:
    outcome: str  # accepted | already_member
    user_id: str
    membership_id: str
    organization_id: str
    created_user: bool


@dataclass(frozen=True)
class Invitee:
    """The person who followed the link: a signed-in account (``id``), or someone signing
    up (``email`` to check against the invitation, ``name`` for the new account)."""

    id: str | None = None
    email: str | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> Invitee:
        """The ``user`` object of an accept call; absent or empty is a sign-up."""
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'user' must be an object.")
        return cls(
            id=None if raw.get("id") is None else str(raw["id"]),
            email=None if raw.get("email") is None else str(raw["email"]),
            name=raw["name"] if isinstance(raw.get("name"), str) else None,
        )


def _hash(pepper: str, invitation_id: str, secret: str) -> str:
    message = f"invitation:{HASH_KID}:{invitation_id}:{secret}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def _mint(pepper: str, invitation: Invitation) -> str:
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    invitation.secret_hash, invitation.hash_kid = _hash(pepper, invitation.id, secret), HASH_KID
    return f"{invitation.id}.{secret}"


# What ``POST …/invitations`` reads; any other field is refused (docs/api.md §1).
CREATE_FIELDS = ("email", "role", "scope", "sites", "expires_in", "delivery", "replace")


def create(
    db: Session, org: Organization, body: dict[str, Any], *, by: AdminActor, pepper: str
) -> Issued:
    """Invite ``email`` with a role (and scope); the token is returned this once only."""
    email = normalize_email(body.get("email", ""))
    role = grants.resolve_role(
        db, org, body.get("role", "member"), code=ErrorCode.INVITATION_ROLE_INVALID
    )
    _check_assignable(db, org, role, by)
    scope = grants.validate_scope(body.get("scope"))
    sites = grants.parse_site_grants(db, org, body["sites"]) if "sites" in body else None
    ttl = _ttl(body.get("expires_in", DEFAULT_TTL))
    delivery = body.get("delivery", "email")
    if delivery not in ("email", "link"):
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'delivery' is 'email' or 'link'.")
    _check_invitee(db, org, email)
    seats.require_free_seat(db, org)
    _settle_pending(db, org, email, replace=body.get("replace") is True, actor=by.actor)
    now = utcnow()
    invitation = Invitation(
        org_id=org.id,
        email=body["email"].strip(),
        email_normalized=email,
        role_id=role.id,
        scope=scope,
        sites=sites or None,
        status="pending",
        delivery=delivery,
        ttl_seconds=ttl,
        expires_at=now + timedelta(seconds=ttl),
        created_at=now,
        created_by=by.actor.id,
    )
    invitation.id = new_id()
    token = _mint(pepper, invitation)
    db.add(invitation)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise ProvisioningError(
            ErrorCode.INVITATION_PENDING, "A pending invitation for this email exists."
        ) from None
    after = _audit(invitation)
    record(db, org.id, by.actor, EventType.INVITATION_CREATED, invitation, after=after)
    return Issued(invitation, token)


def revoke(db: Session, org: Organization, invitation_id: str, *, actor: Actor) -> Invitation:
    """Pending -> revoked at once; any other state is ``invitation_not_pending``."""
    invitation = _get(db, org, invitation_id, lock=True)
    _require_pending(db, invitation)
    invitation.status, invitation.revoked_at, invitation.revoked_by = (
        "revoked",
        utcnow(),
        actor.id,
    )
    before, after = {"status": "pending"}, {"status": "revoked"}
    event = EventType.INVITATION_REVOKED
    record(db, org.id, actor, event, invitation, before=before, after=after)
    return invitation


def resend(
    db: Session, org: Organization, invitation_id: str, *, actor: Actor, pepper: str
) -> Issued:
    """Mint a new secret (the old link dies at once) and reset the expiry."""
    invitation = _get(db, org, invitation_id, lock=True)
    _require_pending(db, invitation)
    token = _mint(pepper, invitation)
    invitation.expires_at = utcnow() + timedelta(seconds=invitation.ttl_seconds)
    invitation.failed_attempts = 0
    after = {"expires_at": invitation.expires_at.isoformat()}
    record(db, org.id, actor, EventType.INVITATION_RESENT, invitation, after=after)
    return Issued(invitation, token)


def list_invitations(db: Session, org: Organization) -> list[Invitation]:
    return list(
        db.scalars(
            select(Invitation)
            .where(Invitation.org_id == org.id)
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def find_by_token(db: Session, token: str, *, pepper: str) -> Invitation:
    """The invitation a token names; every kind of wrong token is ``invitation_invalid``."""
    selector, _, secret = token.partition(".") if isinstance(token, str) else ("", "", "")
    invitation = db.get(Invitation, selector) if selector and secret else None
    expected = _hash(pepper, selector, secret)
    stored = invitation.secret_hash if invitation is not None else _hash(pepper, "x", "y")
    if invitation is not None and invitation.failed_attempts >= MAX_FAILED_ATTEMPTS:
        raise ProvisioningError(
            ErrorCode.RATE_LIMITED,
            "Too many failed attempts on this invitation; ask for it to be sent again.",
        )
    if invitation is None or not hmac.compare_digest(stored, expected):
        if invitation is not None:
            invitation.failed_attempts += 1  # the caller keeps this despite the error
        raise _invalid()
    return invitation


def accept_token(
    db: Session,
    token: str,
    user: Invitee,
    *,
    pepper: str,
    keep_failed_attempt: Callable[[], None],
) -> Accepted:
    """Accept the invitation a link's token names, for the person who followed it.

    A wrong token or a mismatched account counts a failed attempt that must outlive the
    refusal (it is what rate-limits guessing), so before raising those this calls
    ``keep_failed_attempt``: the caller then commits although the call failed.
    """
    try:
        invitation = find_by_token(db, token, pepper=pepper)
        check_acceptance(db, invitation, user)
    except ProvisioningError as error:
        if error.code in ("invitation_invalid", "invitation_email_mismatch"):
            keep_failed_attempt()  # the failed attempt is counted, the invitation lives
        raise
    return accept(db, invitation, user)


def check_acceptance(db: Session, invitation: Invitation, user: Invitee) -> None:
    """Steps 1–2 of §4.5 that write nothing except, on a mismatch, ``failed_attempts``.

    :raises ProvisioningError: ``invitation_invalid``, ``invitation_expired``,
        ``invitation_email_mismatch`` (the caller commits the failed-attempt count),
        ``login_required``.
    """
    if invitation.status != "pending":
        if invitation.status == "accepted" and user.id == invitation.accepted_user_id:
            return
        raise _invalid()
    if _expired(db, invitation):
        raise ProvisioningError(
            ErrorCode.INVITATION_EXPIRED, "This invitation has expired; ask for a new one."
        )
    person = _person(db, user)
    if person is not None:
        if not (person.email_normalized == invitation.email_normalized and person.email_verified):
            invitation.failed_attempts += 1
            by, event = Actor("invitation", invitation.id), EventType.INVITATION_EMAIL_MISMATCH
            record(db, invitation.org_id, by, event, invitation, user_id=person.id)
            raise ProvisioningError(
                ErrorCode.INVITATION_EMAIL_MISMATCH,
                f"This invitation is for {_mask(invitation.email)}; switch to that account.",
            )
        return
    if user.email is not None and normalize_email(user.email) != invitation.email_normalized:
        raise ProvisioningError(
            ErrorCode.INVITATION_EMAIL_MISMATCH,
            f"This invitation is for {_mask(invitation.email)}.",
        )
    existing = db.scalar(
        select(User.id).where(User.email_normalized == invitation.email_normalized)
    )
    if existing is not None:
        raise ProvisioningError(ErrorCode.LOGIN_REQUIRED, "Sign in to your account to accept.")
    if invitation.delivery != "email":
        raise ProvisioningError(
            ErrorCode.EMAIL_VERIFICATION_REQUIRED, "Verify your email address before accepting."
        )


def accept(db: Session, invitation: Invitation, user: Invitee) -> Accepted:
    """Step 3–4 of §4.5: re-validate, then the compare-and-set and the membership, atomically.

    Call ``check_acceptance`` first (its failed-attempt count must survive a refusal).
    """
    actor = Actor("invitation", invitation.id)
    if invitation.status == "accepted":
        m = queries.membership_of(db, invitation.org_id, invitation.accepted_user_id or "")
        assert m is not None
        return Accepted("already_member", m.user_id, m.id, m.org_id, False)
    org = db.get_one(Organization, invitation.org_id)
    if db.get(Role, invitation.role_id) is None:
        raise ProvisioningError(
            ErrorCode.INVITATION_ROLE_INVALID, "The invited role no longer exists."
        )
    person = _person(db, user)
    m = queries.membership_of(db, org.id, person.id) if person else None
    tr = _gate(db, org, m)
    if (
        person is not None
        and org.exclusive_membership
        and m is None
        and queries.live_membership_elsewhere(db, org.id, person.id)
    ):
        raise ProvisioningError(
            ErrorCode.MEMBERSHIP_CONFLICT, "You belong to another organization."
        )
    _compare_and_set(db, invitation, person.id if person else None)
    created = person is None
    if person is None:
        person = _sign_up(db, invitation, user)
        db.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id)
            .values(accepted_user_id=person.id)
        )
    if m is None:
        m = transitions.create(
            db,
            org_id=org.id,
            user_id=person.id,
            source="invitation",
            role_id=invitation.role_id,
            tr=tr,
            actor=actor,
        )
        m.scope = invitation.scope
        _give_sites(db, m, invitation)
        outcome = "accepted"
    elif tr.changed:
        m.role_id, m.scope, m.source = invitation.role_id, invitation.scope, "invitation"
        db.execute(delete(SiteAssignment).where(SiteAssignment.membership_id == m.id))
        _give_sites(db, m, invitation)
        transitions.apply(db, m, tr, actor=actor)
        outcome = "accepted"
    else:
        outcome = "already_member"  # row I5: grants untouched
    if outcome == "accepted":
        scim_ids.mint(db, m, person)
    after = {"outcome": outcome}
    event = EventType.INVITATION_ACCEPTED
    record(db, org.id, actor, event, invitation, membership=m, after=after)
    return Accepted(outcome, person.id, m.id, org.id, created)


def _gate(db: Session, org: Organization, m: Membership | None) -> lifecycle.Transition:
    connected = queries.connected_directory(db, org.id) is not None
    try:
        return lifecycle.transition(
            access.state_of(m) if m else None,
            Trigger.INVITATION_ACCEPTED,
            directory_connected=connected,
        )
    except Refused as refused:
        raise ProvisioningError(refused.code, refused.message) from None


def _compare_and_set(db: Session, invitation: Invitation, user_id: str | None) -> None:
    """The only way out of 'pending': one winner, whatever runs at the same time."""
    result = db.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.status == "pending",
            Invitation.expires_at > queries.db_now(db),
        )
        .values(status="accepted", accepted_user_id=user_id, accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.refresh(invitation)
        if invitation.status == "pending":
            raise ProvisioningError(ErrorCode.INVITATION_EXPIRED, "This invitation has expired.")
        raise _invalid()
    db.refresh(invitation)


def _sign_up(db: Session, invitation: Invitation, user: Invitee) -> User:
    """A new account with the invited email: verified, since the link reached that mailbox."""
    person = User(
        email=invitation.email,
        email_normalized=invitation.email_normalized,
        email_verified=True,
        name=user.name,
    )
    db.add(person)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:
        raise ProvisioningError(
            ErrorCode.LOGIN_REQUIRED, "Sign in to your account to accept."
        ) from None
    return person


def _person(db: Session, user: Invitee) -> User | None:
    if user.id is None:
        return None
    person = db.get(User, user.id)
    if person is None:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'user.id' names no account.")
    return person


def _check_invitee(db: Session, org: Organization, email: str) -> None:
    """§4.1 state of the invitee: never around an override or a directory decision."""
    person = db.scalars(select(User).where(User.email_normalized == email)).first()
    m = queries.membership_of(db, org.id, person.id) if person else None
    if m is not None:
        tr = _gate(db, org, m)
        if not tr.changed and m.ended_at is None:
            raise ProvisioningError(ErrorCode.ALREADY_MEMBER, "This person is already a member.")
    if (
        person is not None
        and org.exclusive_membership
        and (m is None or m.ended_at)
        and queries.live_membership_elsewhere(db, org.id, person.id)
    ):
        raise ProvisioningError(
            ErrorCode.MEMBERSHIP_CONFLICT, "This person belongs to another organization."
        )


def _settle_pending(
    db: Session, org: Organization, email: str, *, replace: bool, actor: Actor
) -> None:
    """One pending invitation per (org, email): expire stale ones, replace on request."""
    current = db.scalars(
        select(Invitation)
        .where(
            Invitation.org_id == org.id,
            Invitation.email_normalized == email,
            Invitation.status == "pending",
        )
        .with_for_update()
    ).first()
    if current is None:
        return
    if _expired(db, current):
        current.status = "expired"
    elif replace:
        current.status, current.revoked_at, current.revoked_by = "revoked", utcnow(), actor.id
        record(db, org.id, actor, EventType.INVITATION_REVOKED, current, reason="replaced")
    else:
        raise ProvisioningError(
            ErrorCode.INVITATION_PENDING,
            "A pending invitation for this email exists; send replace=true to replace it.",
        )
    db.flush()


def _check_assignable(db: Session, org: Organization, role: Role, by: AdminActor) -> None:
    """Only Owners and Admins invite, nobody above their own role, and only an Owner (or a
    key appointing the first Owner) invites an Owner (``admin.resolve_actor`` has already
    checked that a named person is an effective member)."""
    if by.role not in grants.ADMIN_ROLES:
        raise ProvisioningError(
            ErrorCode.ROLE_NOT_ASSIGNABLE, "Only effective Owners and Admins invite people."
        )
    if role.builtin and role.name == grants.OWNER:
        if not may_appoint_owner(db, org, by):
            raise ProvisioningError(
                ErrorCode.ROLE_NOT_ASSIGNABLE, f"You cannot invite someone as {role.name}."
            )
        return
    if grants.rank(role) > grants.RANK[by.role]:
        raise ProvisioningError(
            ErrorCode.ROLE_NOT_ASSIGNABLE, f"You cannot invite someone as {role.name}."
        )


def _ttl(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TTL <= value <= MAX_TTL:
        raise ProvisioningError(
            ErrorCode.TTL_INVALID, "'expires_in' is seconds, from 3600 to 2592000."
        )
    return int(value)


def _expired(db: Session, invitation: Invitation) -> bool:
    """Evaluated on the database clock (docs/lifecycle.md §4.3)."""
    still = db.scalar(
        select(Invitation.id).where(
            Invitation.id == invitation.id, Invitation.expires_at > queries.db_now(db)
        )
    )
    return still is None


def _get(db: Session, org: Organization, invitation_id: str, *, lock: bool = False) -> Invitation:
    stmt = select(Invitation).where(Invitation.id == invitation_id, Invitation.org_id == org.id)
    invitation = db.scalars(stmt.with_for_update() if lock else stmt).first()
    if invitation is None:
        raise NotFound(f"No invitation {excerpt(invitation_id)}.")
    return invitation


def shown_status(db: Session, invitation: Invitation) -> str:
    """The status the API shows: a pending invitation past its expiry reads ``expired``."""
    if invitation.status == "pending" and _expired(db, invitation):
        return "expired"
    return invitation.status


def _require_pending(db: Session, invitation: Invitation) -> None:
    if invitation.status != "pending" or _expired(db, invitation):
        raise ProvisioningError(
            ErrorCode.INVITATION_NOT_PENDING, "This invitation is no longer pending."
        )


def _invalid() -> ProvisioningError:
    return ProvisioningError(ErrorCode.INVITATION_INVALID, "This invitation link is not valid.")


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***{local[-1:] if len(local) > 1 else ''}@{domain}"


def _give_sites(db: Session, m: Membership, invitation: Invitation) -> None:
    """The invitation's sites with their site roles (docs/lifecycle.md §2.7)."""
    rows = [
        {"membership_id": m.id, "site_id": site_id, "site_role_id": site_role_id}
        for site_id, site_role_id in (invitation.sites or {}).items()
    ]
    if rows:
        db.flush()
        db.execute(insert(SiteAssignment), rows)


def _audit(invitation: Invitation) -> dict[str, Any]:
    return {
        "email": invitation.email_normalized,
        "role_id": invitation.role_id,
        "scope": invitation.scope,
        "sites": invitation.sites,
        "expires_at": invitation.expires_at.isoformat(),
        "delivery": invitation.delivery,
    }
