"""The SQL forms of the lifecycle rules agree with the Python rules on every state.

The state space is small enough to enumerate whole: D × O × ended × link × the person's
disabled flag × the organisation's active flag. Every combination is written as a real
membership row, and the database evaluates ``storage/access_sql.py`` on it (SQLite in
the default run, PostgreSQL with ``SCIM_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.filter import Column
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import load_registry
from scim_server.services.membership import lifecycle
from scim_server.services.membership.lifecycle import AccessFacts
from scim_server.services.membership.lifecycle import MemberState
from scim_server.services.membership.seats import member_seats
from scim_server.storage import access_sql
from scim_server.storage import queries
from scim_server.storage.attr_map import user_resolver
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

END_REASONS = (None, "directory_removed", "admin_removed", "directory_disconnected")


@dataclass(frozen=True)
class Case:
    state: MemberState
    facts: AccessFacts


def all_cases() -> list[Case]:
    return [
        Case(MemberState(d, o, end, link), AccessFacts(user_disabled=disabled, org_active=active))
        for d, o, end, link, disabled, active in itertools.product(
            DirectoryState, AdminOverride, END_REASONS, LinkState, (False, True), (True, False)
        )
    ]


def _store(db: Session, cases: list[Case]) -> dict[str, Case]:
    """One person and membership per case, in an active or an inactive organisation."""
    orgs = {active: Organization(name=f"org-{active}", active=active) for active in (True, False)}
    db.add_all(orgs.values())
    db.flush()
    now, by_id = utcnow(), {}
    for case in cases:
        person = User(name="p", disabled_at=now if case.facts.user_disabled else None)
        db.add(person)
        db.flush()
        s = case.state
        m = Membership(
            org_id=orgs[case.facts.org_active].id,
            user_id=person.id,
            source="admin",
            directory_state=s.directory_state,
            admin_override=s.admin_override,
            end_reason=s.end_reason,
            ended_at=now if s.ended else None,  # as transitions._write_state keeps them
            link_state=s.link_state,
        )
        db.add(m)
        db.flush()
        by_id[m.id] = case
    return by_id


def test_the_state_space_is_enumerated_whole():
    cases = all_cases()
    assert len(cases) == 4 * 2 * 4 * 2 * 2 * 2 == len(set(cases))
    # both answers occur for every rule, so a constant expression could not pass
    assert {lifecycle.effective_access(c.state, c.facts) for c in cases} == {True, False}
    assert {lifecycle.counts_as_seat(c.state) for c in cases} == {True, False}


def test_sql_rules_agree_with_the_python_rules_on_every_combination(db: Session):
    by_id = _store(db, all_cases())
    rows = db.execute(
        select(
            Membership.id,
            access_sql.effective_access(),
            access_sql.counts_as_seat(),
            access_sql.scim_active(),
            and_(access_sql.row_grants_access(), access_sql.person_enabled()),
        ).where(Membership.id.in_(by_id))
    ).all()
    assert len(rows) == len(by_id)
    wrong = []
    for m_id, effective, seat, active, owner_counted in rows:
        case = by_id[m_id]
        expected = (
            lifecycle.effective_access(case.state, case.facts),
            lifecycle.counts_as_seat(case.state),
            lifecycle.scim_active(case.state.directory_state),
            lifecycle.effective_access(case.state, AccessFacts(case.facts.user_disabled)),
        )
        if (bool(effective), bool(seat), bool(active), bool(owner_counted)) != expected:
            wrong.append((case, (effective, seat, active, owner_counted), expected))
    assert wrong == []


def test_the_callers_count_with_those_rules(db: Session):
    """Seats and the last-Owner count are computed with the shared expressions."""
    by_id = _store(db, all_cases())
    owner = queries.builtin_role_id(db, "owner")
    org_of = {}
    for m in db.scalars(select(Membership).where(Membership.id.in_(by_id))):
        m.role_id, org_of[m.id] = owner, m.org_id
    db.flush()
    for org_id in set(org_of.values()):
        mine = [case for m_id, case in by_id.items() if org_of[m_id] == org_id]
        seats = sum(lifecycle.counts_as_seat(c.state) for c in mine)
        owners = sum(
            lifecycle.effective_access(c.state, AccessFacts(c.facts.user_disabled)) for c in mine
        )
        assert member_seats(db, org_id) == seats
        assert queries.effective_owner_count(db, org_id, owner) == owners


def test_the_scim_filter_columns_agree_with_the_documents(db: Session):
    """``active`` and ``effectiveAccess`` filter as the SCIM document reports them."""
    by_id = _store(db, all_cases())
    resolve = user_resolver(load_registry().user)
    columns = [resolve(None, "active", None), resolve(PRODUCT_USER, "effectiveAccess", None)]
    assert all(isinstance(c, Column) for c in columns)
    exprs = [c.expr for c in columns if isinstance(c, Column)]
    rows = db.execute(select(Membership.id, *exprs).where(Membership.id.in_(by_id))).all()
    wrong = []
    for m_id, active, effective in rows:
        case = by_id[m_id]
        expected = (
            lifecycle.scim_active(case.state.directory_state),
            lifecycle.effective_access(case.state, case.facts),
        )
        if (bool(active), bool(effective)) != expected:
            wrong.append((case, (active, effective), expected))
    assert len(rows) == len(by_id)
    assert wrong == []
