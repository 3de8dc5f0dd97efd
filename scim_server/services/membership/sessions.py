"""SignInSession revocation (docs/lifecycle.md §2.6): one path for every cause of lost access."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.errors import AccessRefused
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.membership.access import effective
from scim_server.services.membership.grants import OWNER
from scim_server.storage import prepared
from scim_server.storage import queries
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import SignInSession
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import utcnow

# A Core statement (no ORM bulk-update machinery, no autoflush), built once; no session
# object of these rows is held by a request that revokes them.
_SESSIONS = cast(Table, SignInSession.__table__)
_REVOKE_LIVE_SESSIONS = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.user_id == bindparam("person"),
        _SESSIONS.c.org_id == bindparam("org"),
        _SESSIONS.c.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("at"), revoked_reason=bindparam("reason"))
)


def revoke_live_sessions(db: Session, membership: Membership, *, reason: str, actor: Actor) -> int:
    """Revoke every live session of the member in this org, in the caller's transaction.

    The caller (``transitions.apply``, the one path for lost access) bumps the
    membership's ``access_epoch`` in the same UPDATE as its new state, so a session minted
    before the loss never validates again, even if the member is later reactivated.
    """
    db.flush()  # as the session's own execute would autoflush
    count = prepared.execute(
        db,
        _REVOKE_LIVE_SESSIONS,
        {
            "person": membership.user_id,
            "org": membership.org_id,
            "at": utcnow(),
            "reason": reason,
        },
    )
    if count:
        after = {"revoked": count}
        event = EventType.SESSION_REVOKED
        record(db, membership.org_id, actor, event, membership, after=after, reason=reason)
    return count


def create_session(
    db: Session,
    *,
    user_id: str,
    org_id: str,
    method: str,
    sso_connection_id: str | None,
    actor: Actor,
) -> SignInSession:
    """Register a sign-in; refused with the primary denial code without effective access."""
    m = queries.membership_of(db, org_id, user_id)
    if m is None:
        raise AccessRefused(ErrorCode.MEMBERSHIP_NOT_FOUND, "This person is not a member here.")
    allowed, reasons = effective(db, m)
    if not allowed:
        raise AccessRefused(reasons[0], f"No access to this organization: {reasons[0]}.")
    if sso_connection_id is not None:
        _require_usable_connection(db, org_id, sso_connection_id)
    _require_allowed_method(db, m, method, sso_connection_id)
    session = SignInSession(
        user_id=user_id,
        org_id=org_id,
        method=method,
        sso_connection_id=sso_connection_id,
        access_epoch=m.access_epoch,
    )
    db.add(session)
    db.flush()
    after = {"method": method, "sso_connection_id": sso_connection_id}
    record(db, org_id, actor, EventType.SESSION_CREATED, session, membership=m, after=after)
    return session


def _require_allowed_method(
    db: Session, m: Membership, method: str, sso_connection_id: str | None
) -> None:
    """An organisation with ``sso_required`` takes only sessions through one of its enabled
    SSO connections (docs/api.md §3.1): method ``sso`` with the connection named, which
    ``_require_usable_connection`` has checked. Owners may still sign in otherwise unless
    the organisation turned the break-glass off, so an IdP outage cannot lock everyone out.
    """
    org = db.get_one(Organization, m.org_id)
    if not org.sso_required or (method == "sso" and sso_connection_id is not None):
        return
    role = db.get(Role, m.role_id) if m.role_id else None
    if org.sso_owner_break_glass and role is not None and role.builtin and role.name == OWNER:
        return
    raise AccessRefused(
        ErrorCode.SSO_REQUIRED,
        "This organization requires single sign-on: sign in through its SSO connection "
        "(method 'sso' with the sso_connection_id).",
    )


def check_session(db: Session, session_id: str) -> tuple[bool, str | None]:
    """Is the session valid now? Effective access is checked live, with the epoch
    (docs/lifecycle.md §2.6, item 3)."""
    session = db.get(SignInSession, session_id)
    if session is None:
        raise NotFound(f"No session {excerpt(session_id)}.")
    if session.revoked_at is not None:
        return False, session.revoked_reason or "revoked"
    m = queries.membership_of(db, session.org_id, session.user_id)
    if m is None:
        return False, "membership_not_found"
    allowed, reasons = effective(db, m)
    if not allowed:
        return False, reasons[0]
    if m.access_epoch != session.access_epoch:
        return False, "access_epoch_changed"
    return True, None


def end_session(db: Session, session_id: str, *, actor: Actor) -> None:
    """Sign out: revoke one session."""
    session = db.get(SignInSession, session_id)
    if session is None:
        raise NotFound(f"No session {excerpt(session_id)}.")
    if session.revoked_at is None:
        session.revoked_at, session.revoked_reason = utcnow(), "signed_out"
        record(db, session.org_id, actor, EventType.SESSION_REVOKED, session, reason="signed_out")


def revoke_connection_sessions(
    db: Session, org_id: str, connection_id: str | None, *, reason: str, actor: Actor
) -> int:
    """docs/lifecycle.md row S1: revoke the sessions issued through one SSO connection (or,
    with None, the org's)."""
    stmt = update(SignInSession).where(
        SignInSession.org_id == org_id, SignInSession.revoked_at.is_(None)
    )
    if connection_id is not None:
        stmt = stmt.where(SignInSession.sso_connection_id == connection_id)
    result = db.execute(
        stmt.values(revoked_at=utcnow(), revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        target = Target("sso_connection", connection_id or org_id)
        after = {"revoked": count}
        record(db, org_id, actor, EventType.SESSION_REVOKED, target, after=after, reason=reason)
    return count


def _require_usable_connection(db: Session, org_id: str, connection_id: str) -> None:
    """Row S1: no new sign-in through a disabled connection (or another org's)."""
    conn = db.get(SsoConnection, connection_id)
    if conn is None or conn.org_id != org_id:
        raise AccessRefused(ErrorCode.SSO_CONNECTION_NOT_FOUND, "No such SSO connection here.")
    if not conn.enabled:
        raise AccessRefused(ErrorCode.SSO_CONNECTION_DISABLED, "This SSO connection is disabled.")


def live_sessions(db: Session, org_id: str, user_id: str, *, limit: int) -> list[SignInSession]:
    """A member's unrevoked sessions here, newest first (the console's member page), read
    through ix_sessions_user_org and capped, however many a person piles up."""
    return list(
        db.scalars(
            select(SignInSession)
            .where(
                SignInSession.user_id == user_id,
                SignInSession.org_id == org_id,
                SignInSession.revoked_at.is_(None),
            )
            .order_by(SignInSession.created_at.desc())
            .limit(limit)
        )
    )
