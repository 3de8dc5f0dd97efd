"""The SCIM rows of docs/lifecycle.md §2.5: what each push does to D, access, sessions, events."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scim_server.storage.models import Event
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import Role
from scim_server.storage.models import ScimUser
from scim_server.storage.models import SignInSession
from scim_server.storage.models import User
from scim_server.storage.models import utcnow
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error


def membership_of(db, created) -> Membership:
    db.expire_all()
    return db.get(Membership, db.get(ScimUser, created["id"]).membership_id)


def events_for(db, membership_id) -> list[str]:
    db.expire_all()
    return list(
        db.scalars(
            select(Event.type).where(Event.membership_id == membership_id).order_by(Event.id)
        )
    )


def open_session(db, m: Membership) -> SignInSession:
    session = SignInSession(
        user_id=m.user_id, org_id=m.org_id, method="sso", access_epoch=m.access_epoch
    )
    db.add(session)
    db.commit()
    return session


def test_p1_create_makes_person_membership_and_one_event(scim, db, org):
    created = scim.create_user("new.person@example.com")
    m = membership_of(db, created)
    assert (m.directory_state, m.admin_override, m.source, m.ended_at) == (
        "active",
        "none",
        "scim",
        None,
    )
    assert db.get(Role, m.role_id).name == "member"
    assert db.get(User, m.user_id).email_normalized == "new.person@example.com"
    assert events_for(db, m.id) == ["user.created"]
    event = db.scalars(select(Event).where(Event.membership_id == m.id)).one()
    assert (event.actor_type, event.org_id) == ("scim", org.id)
    assert event.actor_id  # the SCIM token's id


def test_p7_create_inactive(scim, db):
    created = scim.create_user(active=False)
    assert created["active"] is False and created[PRODUCT]["effectiveAccess"] is False
    assert membership_of(db, created).directory_state == "inactive"


def test_u1_deactivation_revokes_sessions_in_the_same_transaction(scim, db):
    created = scim.create_user()
    m = membership_of(db, created)
    session = open_session(db, m)
    epoch = m.access_epoch
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    db.expire_all()
    assert db.get(SignInSession, session.id).revoked_at is not None
    assert db.get(SignInSession, session.id).revoked_reason == "directory_deactivated"
    assert membership_of(db, created).access_epoch == epoch + 1
    assert events_for(db, m.id) == ["user.created", "session.revoked", "user.deactivated"]
    # row U3: reactivation never revives a session
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}])
    db.expire_all()
    assert db.get(SignInSession, session.id).revoked_at is not None
    assert events_for(db, m.id)[-1] == "user.reactivated"


def test_u2_u4_repeated_pushes_are_no_ops_without_events(scim, db):
    created = scim.create_user()
    m = membership_of(db, created)
    for _ in range(2):
        scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}])
    for _ in range(2):
        scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert events_for(db, m.id) == ["user.created", "user.deactivated"]


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.mark.parametrize(
    ("ops", "active", "display_name"),
    [
        ([{"op": "Replace", "path": "active", "value": "False"}], False, None),  # Entra
        ([{"op": "replace", "value": {"active": False}}], False, None),  # Okta
        (
            [
                {
                    "op": "add",
                    "path": "urn:ietf:params:scim:schemas:core:2.0:User:active",
                    "value": False,
                }
            ],
            False,
            None,
        ),
        (
            [
                {"op": "replace", "path": "active", "value": False},
                {"op": "replace", "path": "active", "value": True},
            ],
            True,
            None,
        ),
        (
            [
                {"op": "replace", "path": "active", "value": False},
                {"op": "replace", "path": "displayName", "value": "Both Stored"},
            ],
            False,
            "Both Stored",
        ),
        (
            [{"op": "replace", "value": {"active": False, "displayName": "Both Stored"}}],
            False,
            "Both Stored",
        ),
        (
            [
                {"op": "replace", "path": "displayName", "value": "Both Stored"},
                {"op": "replace", "path": "active", "value": False},
            ],
            False,
            "Both Stored",
        ),
    ],
)
def test_u1_an_active_patch_stores_exactly_what_it_says(scim, db, ops, active, display_name):
    """Whether a PATCH sets only ``active`` or more, every attribute it names is stored,
    the ETag moves exactly when something changed, and the event matches D."""
    created = scim.create_user()
    response = scim.patch(f"/Users/{created['id']}", ops)
    assert response.status_code == 200, response.get_json()
    body = scim.get(f"/Users/{created['id']}").get_json()
    assert (body["active"], body.get("displayName")) == (active, display_name)
    changed = active is False or display_name is not None
    assert (body["meta"]["version"] != created["meta"]["version"]) is changed
    assert response.get_json()["meta"]["version"] == body["meta"]["version"]
    m = membership_of(db, created)
    assert m.directory_state == ("active" if active else "inactive")
    expected = ["user.created"] + ([] if active else ["user.deactivated"])
    assert [e for e in events_for(db, m.id) if e != "user.updated"] == expected


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "active", "value": "maybe"}],
        [{"op": "replace", "path": "active", "value": 0}],
        [{"op": "replace", "value": {"active": "no"}}],
        [{"op": "replace", "path": f"{ENTERPRISE}:active", "value": False}],
    ],
)
def test_u1_an_active_patch_with_a_bad_value_changes_nothing(scim, db, ops):
    created = scim.create_user()
    response = scim.patch(f"/Users/{created['id']}", ops)
    error = response.get_json()
    assert response.status_code == 400 and error["scimType"] in ("invalidValue", "invalidPath")
    body = scim.get(f"/Users/{created['id']}").get_json()
    assert body["active"] is True and body["meta"]["version"] == created["meta"]["version"]
    assert events_for(db, membership_of(db, created).id) == ["user.created"]


def test_u5_directory_never_clears_an_admin_disable(scim, db):
    created = scim.create_user(active=False)
    m = membership_of(db, created)
    m.admin_override, m.override_by, m.override_at = "disabled", "admin@example.com", utcnow()
    db.commit()
    body = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}]
    ).get_json()
    assert body["active"] is True  # SCIM shows what the directory said
    assert body[PRODUCT]["adminDisabled"] is True
    assert body[PRODUCT]["effectiveAccess"] is False
    assert membership_of(db, created).admin_override == "disabled"
    assert events_for(db, m.id)[-1] == "membership.override_held"


def test_x1_delete_keeps_person_membership_and_history(scim, db):
    created = scim.create_user()
    m = membership_of(db, created)
    session = open_session(db, m)
    scim.delete(f"/Users/{created['id']}")
    db.expire_all()
    m = db.get(Membership, m.id)
    assert (m.directory_state, m.end_reason, m.role_id) == ("removed", "directory_removed", None)
    assert m.ended_at is not None
    assert db.get(User, m.user_id) is not None
    assert db.get(ScimUser, created["id"]).deleted_at is not None
    assert db.get(SignInSession, session.id).revoked_at is not None
    deleted = db.scalars(
        select(Event).where(Event.membership_id == m.id, Event.type == "user.deleted")
    ).one()
    assert deleted.before["role_id"] == "builtin-member"  # grants snapshotted before clearing
    assert deleted.after["directory_state"] == "removed"


def test_p5_re_add_keeps_an_admin_override_and_starts_from_default_grants(scim, db):
    created = scim.create_user("keep.ban@example.com")
    m = membership_of(db, created)
    scim.delete(f"/Users/{created['id']}")
    db.expire_all()
    m = db.get(Membership, m.id)
    m.admin_override = "disabled"
    db.commit()
    again = scim.create_user("keep.ban@example.com")
    assert again[PRODUCT]["adminDisabled"] is True
    assert again[PRODUCT]["effectiveAccess"] is False
    revived = membership_of(db, again)
    assert revived.id == m.id and revived.ended_at is None
    assert db.get(Role, revived.role_id).name == "member"
    assert events_for(db, m.id)[-1] == "user.relinked"


def test_p3_existing_account_of_another_org_links_pending(client, scim, other_org, db):
    Scim(client, other_org.token).create_user("shared@partner.com")
    created = scim.create_user("shared@partner.com")
    assert created[PRODUCT]["linkPending"] is True
    assert created[PRODUCT]["effectiveAccess"] is False
    first = db.scalars(select(Membership).where(Membership.org_id == other_org.id)).one()
    assert created[PRODUCT]["userId"] == first.user_id  # the same person, no duplicate


def test_p2_existing_account_on_a_domain_this_org_verified_links_at_once(
    client, scim, org, other_org, db
):
    db.add(
        OrgDomain(
            domain="partner.com",
            org_id=org.id,
            verification_token="t",
            verified_at=utcnow(),
            verified_method="manual",
        )
    )
    db.commit()
    Scim(client, other_org.token).create_user("ok@partner.com")
    created = scim.create_user("ok@partner.com")
    assert created[PRODUCT]["linkPending"] is False
    assert created[PRODUCT]["effectiveAccess"] is True


def test_p4_live_member_of_any_source_with_that_email_is_409(scim, db, org):
    person = User(email="jit@example.com", email_normalized="jit@example.com")
    db.add(person)
    db.flush()
    db.add(Membership(org_id=org.id, user_id=person.id, source="jit"))
    db.commit()
    body = assert_scim_error(
        scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "jit-user",
                "emails": [{"value": "JIT@example.com", "primary": True}],
            },
        ),
        409,
        "uniqueness",
    )
    assert person.id in body["detail"]


def test_p8_exclusive_membership_refuses_members_of_other_orgs(client, scim, org, other_org, db):
    Scim(client, other_org.token).create_user("busy@example.com")
    db.get(Organization, org.id).exclusive_membership = True
    db.commit()
    body = assert_scim_error(
        scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "busy@example.com",
                "emails": [{"value": "busy@example.com"}],
            },
        ),
        409,
        "uniqueness",
    )
    assert "another organization" in body["detail"]
