"""The membership package's management-API JSON: members, seats and sign-in sessions.

Rendering lives here, apart from the rules, so a field added to the API is added in one
place and the services return rows, not response bodies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from scim_server.services.formats import timestamp
from scim_server.services.membership import access
from scim_server.services.membership import lifecycle
from scim_server.services.membership.admin import site_ids
from scim_server.services.membership.seats import SeatCount
from scim_server.services.profiles import display_name
from scim_server.services.profiles import primary_email
from scim_server.storage import queries
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import SignInSession
from scim_server.storage.models import User


def describe(db: Session, m: Membership) -> dict[str, Any]:
    """The management API's member: D, O, E with reasons, seat, grants, SCIM id."""
    user = db.get_one(User, m.user_id)
    effective, reasons = access.effective(db, m)
    role = db.get(Role, m.role_id) if m.role_id else None
    view = queries.live_scim_view(db, m.id)
    profile = _profile(m, user, view[1] if view else {})
    return {
        "user_id": m.user_id,
        **profile,
        "directory_state": m.directory_state,
        "admin_override": {
            "state": m.admin_override,
            "by": m.override_by,
            "at": timestamp(m.override_at),
            "reason": m.override_reason,
        },
        "effective_access": effective,
        "denial_reasons": reasons,
        "counts_as_seat": lifecycle.counts_as_seat(access.state_of(m)),
        "link_state": m.link_state,
        "source": m.source,
        "role": {"id": role.id, "name": role.name} if role else None,
        "scope": m.scope,
        "sites": site_ids(db, m),
        # Set: an admin chose this grant, and group mappings leave it alone
        # (docs/lifecycle.md §2.7); null: the directory's group mappings decide it.
        "grant_overrides": {
            "role": _override(m.role_override_by, m.role_override_at),
            "sites": _override(m.sites_override_by, m.sites_override_at),
        },
        "scim_id": view[0] if view else None,
        "ended_at": timestamp(m.ended_at),
        "end_reason": m.end_reason,
        "created_at": timestamp(m.created_at),
    }


def _override(by: str | None, at: Any) -> dict[str, Any] | None:
    return {"by": by, "at": timestamp(at)} if at is not None else None


def _profile(m: Membership, user: User, attributes: dict[str, Any]) -> dict[str, Any]:
    """What this organisation shows for the member (docs/lifecycle.md §9): the name and
    primary email its own directory supplies, else the person's. Until the person claims a
    pending link, the name another organisation's IdP gave stays hidden."""
    fallback_name = user.name if m.link_state == LinkState.LINKED else None
    return {
        "email": primary_email(attributes) or user.email,
        "name": display_name(attributes) or fallback_name,
    }


def member_profile(db: Session, org_id: str, user_id: str) -> dict[str, Any] | None:
    """The member's profile in one organisation, as its sessions show it; None without a
    membership."""
    m = queries.membership_of(db, org_id, user_id)
    if m is None:
        return None
    view = queries.live_scim_view(db, m.id)
    return _profile(m, db.get_one(User, user_id), view[1] if view else {})


def member_page(db: Session, rows: list[Membership], cursor: str | None) -> dict[str, Any]:
    """One page of ``GET …/members``."""
    return {"members": [describe(db, m) for m in rows], "next_cursor": cursor}


def seats_json(count: SeatCount, org: Organization) -> dict[str, Any]:
    """``GET …/seats``: the count and whether the organisation is flagged over its limit."""
    return {
        "used": count.used,
        "limit": count.limit,
        "members": count.members,
        "pending_invitations": count.pending_invitations,
        "free": count.free,
        "over_limit": org.over_seat_limit_at is not None,
    }


def session_json(session: SignInSession, profile: dict[str, Any] | None = None) -> dict[str, Any]:
    """A registered sign-in session, as ``POST /sessions`` answers, with the member's
    ``profile`` in that organisation (docs/lifecycle.md §9)."""
    return {
        "id": session.id,
        "user_id": session.user_id,
        "organization_id": session.org_id,
        "method": session.method,
        "sso_connection_id": session.sso_connection_id,
        "created_at": timestamp(session.created_at),
        "profile": profile,
    }


def session_check_json(valid: bool, reason: str | None) -> dict[str, Any]:
    """``GET /sessions/<id>``: valid now, or the reason it is not."""
    return {"valid": valid, "reason": reason}
