"""Just-in-time provisioning on SSO login (docs/lifecycle.md §3).

Preconditions, checked in this order, each a distinct code and none writing anything:

 1. the connection exists ............................ sso_connection_not_found
 2. it is enabled; the organisation is active ......... sso_connection_disabled,
                                                        organization_inactive
 3. (issuer, sub) is a known identity -> skip to 9 (the key is never the email)
 4. JIT is on for the connection, to create a person
    or a membership (known members sign in anyway) .... jit_disabled
 5. the claims carry an email ......................... email_missing
 6. email_verified is true (or absent, when the
    connection does not require it; false never) ...... email_not_verified
 7. the email's domain is verified by this org ........ email_domain_not_verified
 8. resolve the person: create one; refuse a second
    subject on this connection; auto-link only a
    verified local email .............................. sso_identity_conflict, account_link_required
 9. membership gates .................................. user_disabled, membership_disabled,
                                                        membership_inactive, membership_removed,
                                                        not_provisioned, membership_conflict,
                                                        seat_limit_reached
10. the default role is not privileged ................ jit_role_invalid

Then, in one transaction: the person, the identity, a membership (unmanaged, the
connection's default role, no sites) and its event. Correctness under two first logins at
once rests on unique constraints; a lost race rolls back to a savepoint and retries once,
down the "identity found" path. JIT never changes an existing member's grants, never
clears an override and never resurrects an ended membership.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.emails import domain_of
from scim_server.services.emails import normalize_email
from scim_server.services.errors import AccessRefused
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import required_string
from scim_server.services.inputs import string_field
from scim_server.services.membership import access
from scim_server.services.membership import lifecycle
from scim_server.services.membership import seats
from scim_server.services.membership import transitions
from scim_server.services.membership.lifecycle import Refused
from scim_server.services.membership.lifecycle import Trigger
from scim_server.services.membership.sessions import create_session
from scim_server.services.signin import domains
from scim_server.services.signin.jit_config import jit_default_role
from scim_server.storage import queries
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import SignInSession
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import SsoIdentity
from scim_server.storage.models import User
from scim_server.storage.models import utcnow


@dataclass(frozen=True)
class Claims:
    """Already validated by the OIDC/SAML layer (signature, iss, aud, exp, nonce)."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool | None = None  # SAML has no such claim: None
    name: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> Claims:
        """The claims object a sign-in layer forwards: ``iss`` and ``sub`` are required,
        ``email_verified`` is a boolean when present, a non-string ``name`` is dropped."""
        if not isinstance(raw, dict):
            raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'claims' must be an object.")
        verified = raw.get("email_verified")
        if verified is not None and not isinstance(verified, bool):
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, "'email_verified' must be a boolean."
            )
        return cls(
            issuer=required_string(raw, "iss"),
            subject=required_string(raw, "sub"),
            email=string_field(raw, "email", required=False),
            email_verified=verified,
            name=raw["name"] if isinstance(raw.get("name"), str) else None,
        )


@dataclass(frozen=True)
class JitResult:
    user_id: str
    membership_id: str
    organization_id: str
    created_user: bool
    created_membership: bool
    linked_identity: bool


@dataclass(frozen=True)
class SsoSignIn:
    """An SSO login that went through: what JIT did, and the session it was given."""

    result: JitResult
    session: SignInSession


def sign_in_with_sso(db: Session, connection_id: str, claims: Claims, *, actor: Actor) -> SsoSignIn:
    """Provision or recognise the person, then issue a session tied to the connection.

    JIT's own changes are recorded as the connection's (actor type ``jit``); the session
    as the caller's.
    """
    result = jit_login(
        db, connection_id, claims, actor=Actor("jit", connection_id, actor.request_id)
    )
    session = create_session(
        db,
        user_id=result.user_id,
        org_id=result.organization_id,
        method="sso",
        sso_connection_id=connection_id,
        actor=actor,
    )
    return SsoSignIn(result, session)


def complete_link(
    db: Session, connection_id: str, user_id: str, claims: Claims, *, actor: Actor
) -> SsoSignIn:
    """Confirm a link that ``/sso/login`` answered ``account_link_required`` for
    (docs/lifecycle.md §3.6), then sign in as ``/sso/login`` does.

    The host product has the person signed in to the existing account ``user_id`` and
    forwards the claims of the SSO login they just made. The rules of automatic linking
    hold (steps 1–2 and 5–7, one subject per connection, the identity never moved), and the
    claimed email must be the account's own: the IdP of a domain this organisation
    verified vouches for the mailbox, and the signed-in account proves it is the person's,
    so the account's email becomes verified.
    """
    jit_actor = Actor("jit", connection_id, actor.request_id)
    try:
        with db.begin_nested():
            _lock_subject(db, claims)
            linked = _confirm(db, connection_id, user_id, claims, jit_actor)
    except IntegrityError:
        raise refuse(
            ErrorCode.CONFLICT, "Another sign-in changed this account; try again."
        ) from None
    signed_in = sign_in_with_sso(db, connection_id, claims, actor=actor)
    return SsoSignIn(replace(signed_in.result, linked_identity=linked), signed_in.session)


def _confirm(db: Session, connection_id: str, user_id: str, claims: Claims, actor: Actor) -> bool:
    """Check and link; returns whether this call linked the identity (False: it already was)."""
    conn, org = _connection(db, connection_id)
    email = _check_claims(db, org, conn, claims)
    person = db.get(User, user_id)
    if person is None:
        raise NotFound(f"No user {excerpt(user_id)}.")
    if person.email_normalized != email:
        raise refuse(
            ErrorCode.SSO_LINK_EMAIL_MISMATCH,
            "The identity provider's email is not this account's email; sign in to the "
            "account that has it.",
        )
    if person.disabled_at is not None:
        raise refuse(ErrorCode.USER_DISABLED, "This account is disabled.")
    identity = _identity(db, claims)
    if identity is not None:
        if identity.user_id != person.id:
            raise refuse(
                ErrorCode.SSO_IDENTITY_CONFLICT, "This identity is linked to another account."
            )
        return False  # already linked: confirming again changes nothing
    _refuse_second_subject(db, conn, person)
    person.email_verified = True
    _add_identity(db, org, conn, claims, person, actor, method="confirmed")
    return True


def refuse(code: ErrorCode, message: str) -> AccessRefused:
    return AccessRefused(code, message)  # docs/api.md §3.7: 403 + the code


def jit_login(db: Session, connection_id: str, claims: Claims, *, actor: Actor) -> JitResult:
    """Run the contract once; on a lost race, once more from a clean savepoint."""
    for attempt in (1, 2):
        try:
            with db.begin_nested():
                _lock_subject(db, claims)
                return _login(db, connection_id, claims, actor)
        except IntegrityError:
            if attempt == 2:
                raise refuse(
                    ErrorCode.CONFLICT, "Another sign-in changed this account; try again."
                ) from None
    raise AssertionError("unreachable")


def _lock_subject(db: Session, claims: Claims) -> None:
    """Serialise first logins of one subject on PostgreSQL; SQLite relies on constraints."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"{claims.issuer}\x1f{claims.subject}"},
        )


def _connection(db: Session, connection_id: str) -> tuple[SsoConnection, Organization]:
    """Steps 1–2: an enabled connection of an active organisation."""
    conn = db.get(SsoConnection, connection_id)
    if conn is None:
        raise refuse(ErrorCode.SSO_CONNECTION_NOT_FOUND, "No such SSO connection.")
    org = db.get_one(Organization, conn.org_id)
    if not conn.enabled:
        raise refuse(ErrorCode.SSO_CONNECTION_DISABLED, "This SSO connection is disabled.")
    if not org.active:
        raise refuse(ErrorCode.ORGANIZATION_INACTIVE, "This organization is inactive.")
    return conn, org


def _identity(db: Session, claims: Claims) -> SsoIdentity | None:
    """Step 3: the identity is keyed by ``(issuer, subject)``, never by email."""
    return db.scalars(
        select(SsoIdentity).where(
            SsoIdentity.issuer == claims.issuer, SsoIdentity.subject == claims.subject
        )
    ).first()


def _login(db: Session, connection_id: str, claims: Claims, actor: Actor) -> JitResult:
    conn, org = _connection(db, connection_id)
    identity = _identity(db, claims)
    if identity is not None:
        identity.last_login_at = utcnow()
        person = db.get_one(User, identity.user_id)
        m = queries.membership_of(db, org.id, person.id)
        if m is not None:
            return _existing_member(db, org, conn, person, m, actor, linked=False)
        _linkable_email(db, org, conn, claims)  # inconsistent data: continue at step 4
        created_user, linked = False, False
    else:
        email = _linkable_email(db, org, conn, claims)
        person, created_user = _person_for(db, conn, claims, email)
        linked = True
    m = queries.membership_of(db, org.id, person.id)
    if linked:  # steps 8-10: link the new identity, then the membership
        method = None if created_user else "automatic"
        _add_identity(db, org, conn, claims, person, actor, method=method)
    if m is not None:
        return _existing_member(
            db, org, conn, person, m, actor, linked=linked, created_user=created_user
        )
    m = _join(db, org, conn, person, actor)
    return JitResult(person.id, m.id, org.id, created_user, True, linked)


def _add_identity(
    db: Session,
    org: Organization,
    conn: SsoConnection,
    claims: Claims,
    person: User,
    actor: Actor,
    *,
    method: str | None,
) -> None:
    """Link ``(issuer, subject)`` to the person; linking an account that existed before
    (``method`` ``automatic`` or ``confirmed``) is an event, docs/lifecycle.md §3.6."""
    identity = SsoIdentity(
        issuer=claims.issuer,
        subject=claims.subject,
        connection_id=conn.id,
        user_id=person.id,
        last_login_at=utcnow(),
    )
    db.add(identity)
    db.flush()
    if method is not None:
        after = {"connection_id": conn.id, "issuer": claims.issuer, "subject": claims.subject}
        record(
            db,
            org.id,
            actor,
            EventType.SSO_IDENTITY_LINKED,
            Target("sso_identity", identity.id),
            user_id=person.id,
            after={**after, "method": method},
        )


def _linkable_email(db: Session, org: Organization, conn: SsoConnection, claims: Claims) -> str:
    """Steps 4–7 of a login without a known identity. With JIT off only a known member can
    get in, so claims that cannot identify one answer ``jit_disabled``, as they always have:
    the specific reason would tell a stranger nothing they may use."""
    try:
        return _check_claims(db, org, conn, claims)
    except AccessRefused:
        _require_jit(conn)
        raise


def _check_claims(db: Session, org: Organization, conn: SsoConnection, claims: Claims) -> str:
    """Steps 5–7; returns the normalised email. They hold whatever the JIT setting: a
    known member is linked by the same rules on a JIT-off connection (step 4 governs only
    creating people and memberships, ``_person_for`` and ``_join``)."""
    if not claims.email:
        raise refuse(ErrorCode.EMAIL_MISSING, "The identity provider sent no email.")
    if claims.email_verified is False or (
        claims.email_verified is None and conn.require_email_verified
    ):
        raise refuse(
            ErrorCode.EMAIL_NOT_VERIFIED, "The identity provider has not verified your email."
        )
    email = normalize_email(claims.email)
    if domains.verified_for(db, org.id, domain_of(email)) is None:
        raise refuse(
            ErrorCode.EMAIL_DOMAIN_NOT_VERIFIED,
            "Your email domain is not verified for this organization.",
        )
    return email


def _person_for(db: Session, conn: SsoConnection, claims: Claims, email: str) -> tuple[User, bool]:
    """Step 8: create the person, or auto-link only a verified local account."""
    person = db.scalars(select(User).where(User.email_normalized == email)).first()
    if person is None:
        _require_jit(conn)
        person = User(
            email=email,
            email_normalized=email,
            email_verified=True,
            name=claims.name,
            profile_org_id=conn.org_id,  # its directory, if any, keeps it current (§9)
        )
        db.add(person)
        db.flush()
        return person, True
    if not conn.jit_enabled and queries.membership_of(db, conn.org_id, person.id) is None:
        _require_jit(conn)  # nothing to link to here: say so before asking for a link
    _refuse_second_subject(db, conn, person)
    if not person.email_verified:
        raise refuse(
            ErrorCode.ACCOUNT_LINK_REQUIRED,
            "Sign in to your existing account to link this identity.",
        )
    return person, False


def _refuse_second_subject(db: Session, conn: SsoConnection, person: User) -> None:
    """A second subject on one connection is a reassigned subject or a reused email, both
    takeover vectors: an admin must unlink first (docs/lifecycle.md §3.1 step 8)."""
    other = db.scalar(
        select(SsoIdentity.subject).where(
            SsoIdentity.connection_id == conn.id, SsoIdentity.user_id == person.id
        )
    )
    if other is not None:
        raise refuse(
            ErrorCode.SSO_IDENTITY_CONFLICT,
            "This account is linked to another identity on this connection.",
        )


def _existing_member(
    db: Session,
    org: Organization,
    conn: SsoConnection,
    person: User,
    m: Membership,
    actor: Actor,
    *,
    linked: bool,
    created_user: bool = False,
) -> JitResult:
    """Step 9 for a membership that exists: gates, or claim a pending link
    (docs/lifecycle.md rows J2–J5, J7)."""
    state = access.state_of(m)
    for code, denied in (
        (ErrorCode.USER_DISABLED, person.disabled_at is not None),
        (ErrorCode.MEMBERSHIP_DISABLED, state.admin_override == AdminOverride.DISABLED),
        (
            ErrorCode.MEMBERSHIP_INACTIVE,
            state.directory_state == DirectoryState.INACTIVE and not state.ended,
        ),
        (ErrorCode.MEMBERSHIP_REMOVED, state.ended),
    ):
        if denied:
            raise refuse(code, _GATE_MESSAGES[code])
    if state.link_state == LinkState.PENDING_CLAIM:
        _claim(db, person, m, actor)
    allowed, reasons = access.effective(db, m)
    if not allowed:
        raise refuse(reasons[0], _GATE_MESSAGES.get(reasons[0], "Access denied."))
    return JitResult(person.id, m.id, org.id, created_user, False, linked)


def _claim(db: Session, person: User, m: Membership, actor: Actor) -> None:
    """Row J7: a verified login of this org's connection with the membership's email claims it."""
    if not person.email_verified:
        return
    tr = lifecycle.transition(
        access.state_of(m), Trigger.LINK_CLAIMED, facts=access.facts_of(db, m)
    )
    transitions.apply(db, m, tr, actor=actor)


def _join(
    db: Session, org: Organization, conn: SsoConnection, person: User, actor: Actor
) -> Membership:
    """Step 9–10 for a new membership, then row J1."""
    _require_jit(conn)
    if person.disabled_at is not None:
        raise refuse(ErrorCode.USER_DISABLED, "This account is disabled.")
    if _link_only(db, org, conn):
        raise refuse(ErrorCode.NOT_PROVISIONED, "Your account has not been provisioned.")
    if org.exclusive_membership and queries.live_membership_elsewhere(db, org.id, person.id):
        raise refuse(ErrorCode.MEMBERSHIP_CONFLICT, "You belong to another organization.")
    role = _default_role(db, org, conn)
    try:
        seats.require_free_seat(db, org)
    except ProvisioningError as error:
        raise refuse(error.code, error.message) from None
    try:
        tr = lifecycle.transition(None, Trigger.JOINED)
    except Refused as refused:
        raise refuse(refused.code, refused.message) from None
    m = transitions.create(
        db, org_id=org.id, user_id=person.id, source="jit", role_id=role.id, tr=tr, actor=actor
    )
    scim_ids.mint(db, m, person)
    return m


def _require_jit(conn: SsoConnection) -> None:
    """Step 4: JIT creates people and memberships only where the connection enables it."""
    if not conn.jit_enabled:
        raise refuse(ErrorCode.JIT_DISABLED, "Your account has not been provisioned.")


def _default_role(db: Session, org: Organization, conn: SsoConnection) -> Role:
    """Step 10: the one JIT role setting, docs/lifecycle.md §3.5."""
    try:
        return jit_default_role(db, org, conn)
    except ProvisioningError as error:
        raise refuse(error.code, error.message) from None


def _link_only(db: Session, org: Organization, conn: SsoConnection) -> bool:
    """docs/lifecycle.md row J6: with an active SCIM directory, JIT only links (the IdP
    decides who exists)."""
    if conn.jit_mode != "auto":
        return conn.jit_mode == "link_only"
    return queries.directory_active(db, org.id)


_GATE_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.ORGANIZATION_INACTIVE: "This organization is inactive.",
    ErrorCode.USER_DISABLED: "This account is disabled.",
    ErrorCode.MEMBERSHIP_REMOVED: "Your membership has ended; ask an admin to invite you again.",
    ErrorCode.MEMBERSHIP_INACTIVE: "Your account has been deactivated by your identity provider.",
    ErrorCode.MEMBERSHIP_DISABLED: "An administrator has disabled your access.",
    ErrorCode.MEMBERSHIP_PENDING_CLAIM: "Confirm this account with a verified email to continue.",
}
