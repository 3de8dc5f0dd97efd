"""The lifecycle rules that SQL must also evaluate: effective access, seats, SCIM ``active``.

``services/membership/lifecycle.py`` states each rule in Python for one membership;
queries that count or filter many memberships need the same rule as a SQL condition.
Both forms are written once, here and there, and ``tests/storage/test_access_sql.py``
runs every combination of the state space through both, so they cannot drift apart.
Every expression is over ``Membership`` and self-contained (the person and the
organisation are correlated subqueries), so any statement that selects memberships can
use it without adding joins.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import exists
from sqlalchemy import select

from scim_server.storage.models import AdminOverride
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import User

# D values under which the directory grants access (and SCIM reports ``active``).
_D_GRANTING = (DirectoryState.UNMANAGED, DirectoryState.ACTIVE)


def scim_active() -> ColumnElement[bool]:
    """SCIM ``active`` reports D, not E (``lifecycle.scim_active``)."""
    return Membership.directory_state.in_(_D_GRANTING)


def row_grants_access() -> ColumnElement[bool]:
    """E as far as the membership row decides it: live, D unmanaged or active, O none,
    link claimed. ``lifecycle.effective_access`` with the person enabled and the
    organisation active."""
    return and_(
        Membership.ended_at.is_(None),
        Membership.directory_state.in_(_D_GRANTING),
        Membership.admin_override == AdminOverride.NONE,
        Membership.link_state == LinkState.LINKED,
    )


def person_enabled() -> ColumnElement[bool]:
    """The member's person is not disabled platform-wide (a missing row is not disabled,
    as in ``access.facts_of``)."""
    return ~exists(
        select(User.id).where(User.id == Membership.user_id, User.disabled_at.is_not(None))
    )


def organization_active() -> ColumnElement[bool]:
    """The member's organisation is active (a missing row is not, as in ``access.facts_of``)."""
    return exists(
        select(Organization.id).where(
            Organization.id == Membership.org_id, Organization.active.is_(True)
        )
    )


def effective_access() -> ColumnElement[bool]:
    """E(m): ``lifecycle.effective_access`` with the facts read from the database."""
    return and_(row_grants_access(), person_enabled(), organization_active())


def counts_as_seat() -> ColumnElement[bool]:
    """seat(m): ``lifecycle.counts_as_seat``; pending claims count, the person's and the
    organisation's state do not."""
    return and_(
        Membership.ended_at.is_(None),
        Membership.directory_state.in_(_D_GRANTING),
        Membership.admin_override == AdminOverride.NONE,
    )
