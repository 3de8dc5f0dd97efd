"""Server-wide figures for the /metrics gauges: grouped counts, never rows in Python."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import func
from sqlalchemy import select

from scim_server.storage import access_sql
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization


@dataclass(frozen=True)
class MemberCounts:
    """Current (not ended) memberships by (directory_state, admin_override), and seats."""

    by_state: dict[tuple[str, str], int]
    seats_used: int
    organizations: int


def member_counts(connection: Connection) -> MemberCounts:
    """Three aggregate statements; at a million memberships one scan each per scrape."""
    rows = connection.execute(
        select(Membership.directory_state, Membership.admin_override, func.count())
        .where(Membership.ended_at.is_(None))
        .group_by(Membership.directory_state, Membership.admin_override)
    )
    by_state = {(str(d), str(o)): int(n) for d, o, n in rows}
    seats = connection.scalar(select(func.count()).where(access_sql.counts_as_seat()))
    orgs = connection.scalar(select(func.count()).select_from(Organization))
    return MemberCounts(by_state, int(seats or 0), int(orgs or 0))
