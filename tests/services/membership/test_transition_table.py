"""The membership transition table, row by row, through the service functions.

``services/membership/lifecycle.py`` holds the table as pure functions. Here each row runs
where it runs in production: the pre-state is reached with the services (or written as rows
where no service reaches it in one step), and the event is the service function an IdP push,
an admin or an invitation calls, on a real database session. Afterwards the test reads back
from the database the membership's D, O, end reason and link state; effective access
(``access.effective``); the seat count (``seats.member_seats``, the SQL form of the rule);
and the events written for the membership. A refused row must raise its code and write
nothing.

Not here: P4/P8, uniqueness checks made before the table is consulted
(``tests/api/scim/test_users.py``, ``test_lifecycle.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.patch import parse_patch
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import load_registry
from scim_server.scim.validation import ResourceValidator
from scim_server.services.audit import Actor
from scim_server.services.directory import users
from scim_server.services.directory.context import ScimContext
from scim_server.services.errors import DomainError
from scim_server.services.membership import access
from scim_server.services.membership import admin
from scim_server.services.membership import seats
from scim_server.services.organizations import orgs
from scim_server.services.signin import invitations
from scim_server.services.signin import jit
from scim_server.services.signin import sso_connections
from scim_server.storage import queries
from scim_server.storage.models import AdminOverride as O
from scim_server.storage.models import DirectoryState as D
from scim_server.storage.models import Event
from scim_server.storage.models import Invitation
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import User
from scim_server.storage.models import utcnow
from tests.conftest import PEPPER
from tests.scim_client import USER

REGISTRY = load_registry()
VALIDATORS = {name: ResourceValidator(rt) for name, rt in REGISTRY.resource_types.items()}


@dataclass
class World:
    """One organisation with its SCIM context and an admin acting with a management key."""

    db: Session
    org: Organization
    ctx: ScimContext
    by: admin.AdminActor
    email: str  # the one person each row is about
    scim_id: str | None = None

    def membership(self) -> Membership | None:
        person = self.db.scalars(select(User).where(User.email_normalized == self.email)).first()
        return queries.membership_of(self.db, self.org.id, person.id) if person else None

    def user_id(self) -> str:
        m = self.membership()
        assert m is not None
        return m.user_id


@pytest.fixture
def world(db: Session, org) -> World:
    organization = db.get_one(Organization, org.id)
    ctx = ScimContext(
        org=organization,
        directory_id=orgs.directory_of(db, org.id).id,
        actor=Actor("scim", "token"),
        base_url="https://example.test/scim/v2",
        registry=REGISTRY,
        validators=VALIDATORS,
    )
    by = admin.AdminActor(Actor("admin", "key"))
    return World(db, organization, ctx, by, f"row-{uuid.uuid4().hex[:8]}@example.com")


# --- the events: one service call each (``_`` is what the pre-state handed over) ---------


def post(w: World, _: Any = None, *, active: bool = True) -> None:
    doc = {"schemas": [USER], "userName": w.email, "emails": [{"value": w.email}]}
    valid = VALIDATORS["User"].validate({**doc, "active": active})
    w.scim_id = users.create_user(w.db, w.ctx, valid).row.id


def post_inactive(w: World, _: Any = None) -> None:
    post(w, active=False)


def set_active(w: World, value: bool) -> None:
    assert w.scim_id is not None
    operation = {"op": "replace", "path": "active", "value": value}
    message = {"schemas": [PATCH_OP], "Operations": [operation]}
    users.patch_user(w.db, w.ctx, w.scim_id, parse_patch(message, REGISTRY.user, max_operations=10))


def deactivate(w: World, _: Any = None) -> None:
    set_active(w, False)


def activate(w: World, _: Any = None) -> None:
    set_active(w, True)


def delete(w: World, _: Any = None) -> None:
    assert w.scim_id is not None
    users.delete_user(w.db, w.ctx, w.scim_id)


def disable(w: World, _: Any = None) -> None:
    admin.disable(w.db, w.org, w.user_id(), reason="table test", by=w.by)


def enable(w: World, _: Any = None) -> None:
    admin.enable(w.db, w.org, w.user_id(), by=w.by)


def edit(w: World, _: Any = None) -> None:
    admin.edit(w.db, w.org, w.user_id(), {"role": "admin"}, by=w.by)


def remove(w: World, _: Any = None) -> None:
    admin.remove(w.db, w.org, w.user_id(), by=w.by)


def disconnect(w: World, _: Any = None) -> None:
    orgs.disconnect_directory(w.db, w.org, actor=w.by.actor)


def sign_in(w: World, connection_id: str) -> None:
    """A JIT SSO login through the organisation's connection, email verified by the IdP."""
    claims = jit.Claims("https://idp.example", f"sub-{w.email}", w.email, email_verified=True)
    jit.jit_login(w.db, connection_id, claims, actor=Actor("jit", None))


def invite(w: World) -> Invitation:
    return invitations.create(w.db, w.org, {"email": w.email}, by=w.by, pepper=PEPPER).invitation


def accept(w: World, invitation: Invitation | None) -> None:
    """Accept the invitation issued before the pre-state (or a fresh one), as the person."""
    invitation = invitation or invite(w)
    m = w.membership()
    invitations.accept(w.db, invitation, invitations.Invitee(id=m.user_id if m else None))


# --- pre-states ----------------------------------------------------------------------------

Step = Callable[[World], Any]


def nothing(w: World) -> None:
    """No person, no membership."""


def person(w: World) -> User:
    """A person with no membership here (an account from elsewhere, email verified)."""
    found = User(email=w.email, email_normalized=w.email, email_verified=True)
    w.db.add(found)
    w.db.flush()
    return found


def verify_domain(w: World, _: Any = None) -> None:
    """This organisation verifies the email domain of the row's person."""
    domain = OrgDomain(org_id=w.org.id, domain="example.com", verification_token="t")
    domain.verified_at = utcnow()
    w.db.add(domain)
    w.db.flush()


def verified_domain(w: World) -> None:
    """A person from elsewhere whose email domain this organisation verified."""
    verify_domain(w)
    person(w)


def unmanaged(**state: Any) -> Step:
    """A member without a directory (as after an invitation), in ``state``; no SCIM view."""

    def arrange(w: World) -> None:
        role_id = queries.builtin_role_id(w.db, "member")
        m = Membership(org_id=w.org.id, user_id=person(w).id, source="invitation", **state)
        m.role_id = role_id
        w.db.add(m)
        w.db.flush()

    return arrange


def chain(*functions: Callable[..., Any]) -> Step:
    """Several services in a row, each called like an event."""

    def arrange(w: World) -> None:
        for function in functions:
            function(w)

    return arrange


def invited(then: Step) -> Step:
    """An invitation issued while the person has no membership, then the pre-state."""

    def arrange(w: World) -> Invitation:
        invitation = invite(w)
        then(w)
        return invitation

    return arrange


def sso(then: Step, *, jit_mode: str = "create", domain: bool = True) -> Step:
    """A JIT-enabled SSO connection (after ``then``); hands its id to the event."""

    def arrange(w: World) -> str:
        then(w)
        if domain:
            verify_domain(w)
        body = {"name": "IdP", "jit_enabled": True, "jit_mode": jit_mode}
        return sso_connections.create(w.db, w.org, body, actor=w.by.actor).id

    return arrange


ENDED = unmanaged(ended_at=utcnow(), end_reason="admin_removed")

# --- the table -------------------------------------------------------------------------------

# (row, pre-state, event, "D O end link" after or "refused <code>", "E" and/or "seat" after,
#  lifecycle events written for the membership). "-" is no end reason.
TABLE: list[tuple[str, Step, Callable[[World, Any], None], str, str, str]] = [
    ("P1", nothing, post, "active none - linked", "E seat", "user.created"),
    ("P2", verified_domain, post, "active none - linked", "E seat", "user.created"),
    ("P3", person, post, "active none - pending_claim", "seat", "user.created"),
    ("P5", chain(post, delete), post, "active none - linked", "E seat", "user.relinked"),
    ("P5-disabled", chain(post, disable, delete), post,
        "active disabled - linked", "", "user.relinked"),
    ("P6", chain(post_inactive, remove), post, "active none - linked", "E seat", "user.relinked"),
    ("P7", nothing, post_inactive, "inactive none - linked", "", "user.created"),
    ("U1", post, deactivate, "inactive none - linked", "", "user.deactivated"),
    ("U2", post_inactive, deactivate, "inactive none - linked", "", ""),
    ("U3", post_inactive, activate, "active none - linked", "E seat", "user.reactivated"),
    ("U4", post, activate, "active none - linked", "E seat", ""),
    ("U5", chain(post_inactive, disable), activate,
        "active disabled - linked", "", "membership.override_held"),
    ("X1", post, delete, "removed none directory_removed linked", "", "user.deleted"),
    ("A1", post, disable, "active disabled - linked", "", "membership.override_set"),
    ("A1-ended", chain(post, delete), disable,
        "removed disabled directory_removed linked", "", "membership.override_set"),
    ("A2", chain(post, disable), disable, "active disabled - linked", "", ""),
    ("A3", chain(post, disable), enable,
        "active none - linked", "E seat", "membership.override_cleared"),
    ("A3-inactive", chain(post_inactive, disable), enable,
        "inactive none - linked", "", "membership.override_cleared"),
    ("A4", post_inactive, edit, "refused membership_inactive", "", ""),
    ("A4-disabled", chain(post, disable), edit,
        "active disabled - linked", "", "membership.grants_updated"),
    ("A5", post, remove, "refused managed_by_directory", "", ""),
    ("A6", post_inactive, remove, "inactive none admin_removed linked", "", "membership.removed"),
    ("A6-unmanaged", unmanaged(), remove,
        "unmanaged none admin_removed linked", "", "membership.removed"),
    ("K1-active", post, disconnect,
        "unmanaged none - linked", "E seat", "membership.directory_disconnected"),
    ("K1-inactive", post_inactive, disconnect,
        "inactive none directory_disconnected linked", "", "membership.directory_disconnected"),
    ("J1", sso(nothing), sign_in, "unmanaged none - linked", "E seat", "membership.created"),
    ("J2", sso(unmanaged()), sign_in, "unmanaged none - linked", "E seat", ""),
    ("J3", sso(unmanaged(admin_override=O.DISABLED)), sign_in,
        "refused membership_disabled", "", ""),
    ("J4", sso(unmanaged(directory_state=D.INACTIVE)), sign_in,
        "refused membership_inactive", "", ""),
    ("J5", sso(ENDED), sign_in, "refused membership_removed", "", ""),
    ("J6", sso(person, jit_mode="link_only"), sign_in, "refused not_provisioned", "", ""),
    ("J7", sso(chain(person, post)), sign_in,
        "active none - linked", "E seat", "membership.link_claimed"),
    ("I1", nothing, accept,
        "unmanaged none - linked", "E seat", "membership.created invitation.accepted"),
    ("I2", invited(ENDED), accept,
        "unmanaged none - linked", "E seat", "membership.revived invitation.accepted"),
    ("I2-directory-removed", invited(chain(post, delete)), accept,
        "refused managed_by_directory", "", ""),
    ("I3", invited(unmanaged(admin_override=O.DISABLED)), accept,
        "refused membership_disabled", "", ""),
    ("I4", invited(unmanaged(directory_state=D.INACTIVE)), accept,
        "refused membership_inactive", "", ""),
    ("I5", invited(unmanaged()), accept,
        "unmanaged none - linked", "E seat", "invitation.accepted"),
]  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One row of ``TABLE``, read: what the database must say after the event."""

    id: str
    arrange: Step
    act: Callable[[World, Any], None]
    after: tuple[str, str, str | None, str] | None  # D, O, end_reason, link_state
    refused: str | None
    effective: bool
    seat: bool
    events: tuple[str, ...]

    @classmethod
    def read(cls, entry: tuple[str, Step, Callable[[World, Any], None], str, str, str]) -> Row:
        row_id, arrange, act, after, flags, events = entry
        words = after.split()
        refused = words[1] if words[0] == "refused" else None
        state_after = None if refused else (words[0], words[1], _none(words[2]), words[3])
        return cls(
            row_id,
            arrange,
            act,
            state_after,
            refused,
            "E" in flags.split(),
            "seat" in flags.split(),
            tuple(events.split()),
        )


def _none(word: str) -> str | None:
    return None if word == "-" else word


ROWS = [Row.read(entry) for entry in TABLE]


def state(m: Membership) -> tuple[str, str, str | None, str]:
    return (m.directory_state, m.admin_override, m.end_reason, m.link_state)


def last_event_id(db: Session) -> int:
    return int(db.scalar(select(func.max(Event.id))) or 0)


def events_since(db: Session, marker: int, membership_id: str) -> tuple[str, ...]:
    rows = db.scalars(
        select(Event.type)
        .where(Event.id > marker, Event.membership_id == membership_id)
        .order_by(Event.id)
    )
    return tuple(rows)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_transition_row(world: World, row: Row):
    db = world.db
    arranged = row.arrange(world)
    before = world.membership()
    before_state = state(before) if before else None
    marker = last_event_id(db)
    if row.refused:
        with pytest.raises(DomainError) as refused:
            row.act(world, arranged)
        assert getattr(refused.value, "code", None) == row.refused
        db.expire_all()
        after = world.membership()
        assert (state(after) if after else None) == before_state
        assert last_event_id(db) == marker
        return
    row.act(world, arranged)
    db.flush()
    m = world.membership()
    assert m is not None
    db.refresh(m)
    assert state(m) == row.after
    assert access.effective(db, m)[0] is row.effective
    assert db.scalar(select(func.count()).where(Membership.org_id == world.org.id)) == 1
    assert seats.member_seats(db, world.org.id) == int(row.seat)
    assert events_since(db, marker, m.id) == row.events


def test_every_trigger_of_the_table_has_a_row():
    """Each trigger the services drive here appears in at least one row id."""
    covered = {row.id.split("-")[0] for row in ROWS}
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert covered >= {
        "P1", "P2", "P3", "P5", "P6", "P7", "U1", "U2", "U3", "U4", "U5", "X1",
        "A1", "A2", "A3", "A4", "A5", "A6", "K1", "I1", "I2", "I3", "I4", "I5",
        "J1", "J2", "J3", "J4", "J5", "J6", "J7",
    }  # fmt: skip
