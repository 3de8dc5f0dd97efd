"""Seats (docs/lifecycle.md §2.3): live, directory-active or unmanaged, not admin-disabled
memberships, plus pending unexpired invitations, which reserve one each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.storage import access_sql
from scim_server.storage.models import Invitation
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import utcnow


@dataclass(frozen=True)
class SeatCount:
    members: int
    pending_invitations: int
    limit: int | None

    @property
    def used(self) -> int:
        return self.members + self.pending_invitations

    @property
    def free(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def member_seats(db: Session, org_id: str) -> int:
    """count(seat(m)), with the SQL form of ``lifecycle.counts_as_seat``."""
    stmt = select(func.count()).where(Membership.org_id == org_id, access_sql.counts_as_seat())
    return int(db.scalar(stmt) or 0)


def pending_invitations(db: Session, org_id: str) -> int:
    """Pending, unexpired invitations (each reserves a seat)."""
    stmt = select(func.count()).where(
        Invitation.org_id == org_id,
        Invitation.status == "pending",
        Invitation.expires_at > utcnow(),
    )
    return int(db.scalar(stmt) or 0)


def count(db: Session, org: Organization) -> SeatCount:
    return SeatCount(member_seats(db, org.id), pending_invitations(db, org.id), org.seat_limit)


def require_free_seat(db: Session, org: Organization) -> None:
    """Admin re-enables, invitations and JIT creations fail when the org is full.

    The organisation row is locked first, so parallel reservations count one at a time
    and cannot overshoot the limit together (SQLite writers are serialised anyway).
    """
    if org.seat_limit is None:
        return
    db.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    seats = count(db, org)
    if seats.limit is not None and seats.used >= seats.limit:
        raise ProvisioningError(
            ErrorCode.SEAT_LIMIT_REACHED,
            f"All {seats.limit} seats are taken ({seats.members} members, "
            f"{seats.pending_invitations} pending invitations).",
        )


def flag_if_over(db: Session, org: Organization) -> None:
    """SCIM never fails for seats (an IdP cannot fix billing); flag the org for true-up.

    An UPDATE by id, not an attribute write: the SCIM context's organisation is a
    transient copy of the row read at authentication (``tokens.ScimCredentials``).
    """
    if org.seat_limit is None:
        return
    flag = Organization.over_seat_limit_at
    stmt = update(Organization).where(Organization.id == org.id)
    if count(db, org).used > org.seat_limit:
        db.execute(stmt.where(flag.is_(None)).values(over_seat_limit_at=utcnow()))
    else:
        db.execute(stmt.where(flag.is_not(None)).values(over_seat_limit_at=None))
