"""Ways into the console without an account in this server (README "Console").

A *portal link* is minted by the host product with the platform key for a customer's IT
admin: one organisation, the sections it opens (``sso``, ``directory``), 5 minutes to 7
days. An *admin link* is the host product signing one of its admins in: it names the
acting member, whose role is checked again on every console request. Both are single-use
and stored only as a keyed hash; opening one starts a ``ConsoleSession`` held in the
database (every worker sees a logout at once) behind a cookie that is also only hashed.
"""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.secrets import digest
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership.admin import AdminActor
from scim_server.storage.models import ConsoleLink
from scim_server.storage.models import ConsoleSession
from scim_server.storage.models import Organization
from scim_server.storage.models import utcnow

SECTIONS = ("sso", "directory")
# Every page of the console: what an admin link opens.
ALL_SECTIONS = ("members", "sso", "directory", "events")
MIN_TTL, MAX_TTL = 5 * 60, 7 * 24 * 3600
ADMIN_LINK_TTL = 5 * 60
LINK_PREFIX, COOKIE_PREFIX = "cpl", "ccs"


@dataclass(frozen=True)
class Minted:
    link: ConsoleLink
    secret: str  # shown once, in the URL the host product hands on


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


def _invalid(message: str) -> ProvisioningError:
    return ProvisioningError(ErrorCode.VALIDATION_ERROR, message)


def check_portal_request(body: dict[str, Any]) -> tuple[list[str], int]:
    """The sections and lifetime of a portal link, or a 400 naming what is wrong."""
    unknown = set(body) - {"sections", "expires_in_seconds"}
    if unknown:
        raise _invalid(f"Unknown fields: {', '.join(sorted(unknown))[:200]}.")
    sections = body.get("sections")
    if (
        not isinstance(sections, list)
        or not sections
        or not all(isinstance(s, str) and s in SECTIONS for s in sections)
    ):
        raise _invalid(f"'sections' is a non-empty list of {', '.join(SECTIONS)}.")
    ttl = body.get("expires_in_seconds", 24 * 3600)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not MIN_TTL <= ttl <= MAX_TTL:
        raise _invalid(f"'expires_in_seconds' is an integer from {MIN_TTL} to {MAX_TTL}.")
    return sorted(set(sections)), ttl


def mint_portal_link(
    db: Session, org: Organization, body: dict[str, Any], *, actor: Actor, pepper: str
) -> Minted:
    sections, ttl = check_portal_request(body)
    minted = _mint(db, org, "portal", sections, None, ttl, actor=actor, pepper=pepper)
    after = {"sections": sections, "expires_at": minted.link.expires_at.isoformat()}
    record(db, org.id, actor, EventType.PORTAL_LINK_CREATED, _target(minted.link), after=after)
    return minted


def mint_admin_link(
    db: Session, org: Organization, acting: AdminActor, *, actor: Actor, pepper: str
) -> Minted:
    """A one-time sign-in for ``acting``, an effective Owner or Admin (never the key)."""
    if acting.user_id is None:
        raise ProvisioningError(
            ErrorCode.ACTING_USER_REQUIRED, "A console session acts as a member, never as 'key'."
        )
    minted = _mint(
        db,
        org,
        "admin",
        list(ALL_SECTIONS),
        acting.user_id,
        ADMIN_LINK_TTL,
        actor=actor,
        pepper=pepper,
    )
    after = {"acting_user_id": acting.user_id, "expires_at": minted.link.expires_at.isoformat()}
    record(
        db,
        org.id,
        actor,
        EventType.CONSOLE_LINK_CREATED,
        _target(minted.link),
        user_id=acting.user_id,
        after=after,
    )
    return minted


def _mint(
    db: Session,
    org: Organization,
    purpose: str,
    sections: list[str],
    acting_user_id: str | None,
    ttl: int,
    *,
    actor: Actor,
    pepper: str,
) -> Minted:
    secret = f"{LINK_PREFIX}_{random.token_urlsafe(32)}"
    link = ConsoleLink(
        org_id=org.id,
        secret_hash=digest(secret, pepper),
        purpose=purpose,
        sections=sections,
        acting_user_id=acting_user_id,
        expires_at=utcnow() + timedelta(seconds=ttl),
        created_by=actor.id,
    )
    db.add(link)
    db.flush()
    return Minted(link, secret)


def _target(link: ConsoleLink) -> Target:
    return Target("console_link", link.id)


def open_link(
    db: Session, secret: str, *, pepper: str, timeouts: Timeouts, request_id: str | None
) -> tuple[ConsoleSession, str]:
    """Spend a link (once: a compare-and-set, so two workers cannot both win) and start a
    session; returns it and the cookie secret. Unknown, used and expired links all get the
    same refusal, so the answer tells a guesser nothing."""
    now = utcnow()
    link = db.scalar(select(ConsoleLink).where(ConsoleLink.secret_hash == digest(secret, pepper)))
    refused = ProvisioningError(
        ErrorCode.CONSOLE_LINK_INVALID, "This link is invalid, expired or already used."
    )
    if link is None or link.expires_at <= now or not spend(db, link, now):
        raise refused
    cookie = f"{COOKIE_PREFIX}_{random.token_urlsafe(32)}"
    session = ConsoleSession(
        org_id=link.org_id,
        link_id=link.id,
        secret_hash=digest(cookie, pepper),
        sections=list(link.sections),
        acting_user_id=link.acting_user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
    )
    db.add(session)
    db.flush()
    actor = Actor("console", session_actor_id(session), request_id)
    record(
        db,
        link.org_id,
        actor,
        EventType.CONSOLE_LINK_USED,
        _target(link),
        user_id=link.acting_user_id,
        after={"session_id": session.id, "purpose": link.purpose},
    )
    return session, cookie


def spend(db: Session, link: ConsoleLink, now: datetime) -> bool:
    """Mark the link used unless it already is: one conditional UPDATE, so of two workers
    opening the same link at once exactly one wins."""
    spent = db.execute(
        update(ConsoleLink)
        .where(ConsoleLink.id == link.id, ConsoleLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    won: bool = spent.rowcount == 1  # type: ignore[attr-defined]
    if won:
        link.used_at = now
    return won


def session_actor_id(session: ConsoleSession) -> str:
    return session.acting_user_id or f"portal:{session.link_id}"


def find_session(
    db: Session, cookie: str, *, pepper: str, timeouts: Timeouts
) -> ConsoleSession | None:
    """The live session behind a cookie, its idle clock restarted; None when there is none,
    it ended, or a timeout passed (then it is ended for good)."""
    session = db.scalar(
        select(ConsoleSession).where(ConsoleSession.secret_hash == digest(cookie, pepper))
    )
    if session is None or session.ended_at is not None:
        return None
    now = utcnow()
    reason = _timed_out(session, now, timeouts)
    if reason is not None:
        session.ended_at, session.ended_reason = now, reason
        return None
    session.last_seen_at = now
    return session


def _timed_out(session: ConsoleSession, now: datetime, timeouts: Timeouts) -> str | None:
    if now >= session.expires_at:
        return "expired"
    if now - session.last_seen_at >= timeouts.idle:
        return "idle"
    return None


def end_session(db: Session, session: ConsoleSession, *, actor: Actor) -> None:
    """Logout: the row ends, so the cookie is worthless on every worker."""
    if session.ended_at is None:
        session.ended_at, session.ended_reason = utcnow(), "logout"
        record(
            db,
            session.org_id,
            actor,
            EventType.CONSOLE_SESSION_ENDED,
            Target("console_session", session.id),
            user_id=session.acting_user_id,
        )
