"""Invitations through the management API and ``POST /api/v1/invitations/accept``
(docs/lifecycle.md §4, rows I1–I5, the §4.8 error mapping; the parallel half
of case 36 is in tests/live/test_signin_races.py).

How the accept endpoint names the person (docs/api.md §3.4 leaves ``user`` open): ``{"id":
<user id>}`` is the signed-in person; ``{}`` (or a name only) is someone without a session,
so the sign-up path when no account has the invitation's email.

Reading of the spec where it leaves a choice:
* ``already_member`` for the person who already accepted (§4.5 step 1) and for an accept by
  someone who is already an effective member (row I5) is informational: either a 200 with
  ``outcome: "already_member"`` or the 409 error of §4.8 is accepted.
* An expired invitation is listed with ``status: "expired"`` (§4.3, computed lazily).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
import uuid
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from scim_server.storage.models import Invitation
from scim_server.storage.models import Membership
from scim_server.storage.models import User
from scim_server.storage.models import utcnow
from tests.conftest import PEPPER
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error

TOKEN = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$"
)
SEVEN_DAYS = timedelta(days=7)


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None)


def invite_response(admin: Admin, email: str, role: str | None = "viewer", acting="key", **extra):
    body = {"email": email, **extra}
    if role is not None:
        body["role"] = role
    return admin.call("POST", f"/organizations/{admin.org_id}/invitations", body, acting)


def invite(admin: Admin, email: str, role: str | None = "viewer", **extra) -> dict:
    response = invite_response(admin, email, role, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def accept(platform: Admin, token: str, user: dict | None = None):
    return platform.call("POST", "/invitations/accept", {"token": token, "user": user or {}})


def accepted(platform: Admin, token: str, user: dict | None = None) -> dict:
    response = accept(platform, token, user)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "accepted"
    return response.get_json()


def listed(admin: Admin) -> dict[str, dict]:
    response = admin.call("GET", f"/organizations/{admin.org_id}/invitations")
    assert response.status_code == 200
    return {i["id"]: i for i in response.get_json()["invitations"]}


def seats(admin: Admin) -> dict:
    return admin.call("GET", f"/organizations/{admin.org_id}/seats").get_json()


def revoke(admin: Admin, invitation_id: str):
    return admin.call("POST", f"/organizations/{admin.org_id}/invitations/{invitation_id}/revoke")


def resend(admin: Admin, invitation_id: str):
    return admin.call("POST", f"/organizations/{admin.org_id}/invitations/{invitation_id}/resend")


def is_already_member(response) -> bool:
    body = response.get_json()
    if response.status_code == 200:
        return body.get("outcome") == "already_member"
    return response.status_code == 409 and body["error"]["code"] == "already_member"


def account(db, email: str, *, verified: bool = True) -> str:
    user = User(email=email, email_normalized=email.lower(), email_verified=verified)
    db.add(user)
    db.commit()
    return user.id


def users_with_email(db, email: str) -> int:
    return db.scalar(select(func.count()).select_from(User).where(User.email_normalized == email))


def set_expiry(db, invitation_id: str, at: datetime) -> None:
    db.execute(update(Invitation).where(Invitation.id == invitation_id).values(expires_at=at))
    db.commit()


def scim_member(scim: Scim, email: str, **extra) -> dict:
    return scim.create_user(email, **extra)


def jit_member(admin: Admin, platform: Admin, email: str) -> str:
    """An effective, unmanaged member with a verified email (signed up via an invitation)."""
    body = accepted(platform, invite(admin, email, "member")["token"])
    return body["user_id"]


# --- §4.1–§4.2: create, token format, hashing, expiry ------------------------------------------


def test_case_33_create_token_format_hash_and_default_expiry(admin, org, db):
    body = invite(admin, "Bob@Acme.com", "viewer", scope={"countries": ["FR"]})
    match = TOKEN.match(body["token"])
    assert match, body["token"]
    selector, secret = match.groups()
    assert selector == body["id"]
    assert body["accept_url"].endswith(body["token"])
    assert body["status"] == "pending"
    assert body["role"]["name"] == "viewer" and body["scope"] == {"countries": ["FR"]}
    assert body["failed_attempts"] == 0
    assert when(body["expires_at"]) - when(body["created_at"]) == SEVEN_DAYS

    row = db.get(Invitation, body["id"], populate_existing=True)
    assert row.email_normalized == "bob@acme.com"
    assert row.hash_kid
    expected = hmac.new(
        PEPPER.encode(), f"invitation:v1:{selector}:{secret}".encode(), hashlib.sha256
    ).hexdigest()
    assert row.secret_hash == expected
    for column in Invitation.__table__.columns:
        value = getattr(row, column.key)
        assert secret not in str(value), column.key
        assert body["token"] not in str(value), column.key

    again = listed(admin)[body["id"]]
    assert "token" not in again and "accept_url" not in again
    assert secret not in str(again)


@pytest.mark.parametrize(
    ("expires_in", "ok"),
    [
        (3600, True),
        (30 * 86400, True),
        (3599, False),
        (30 * 86400 + 1, False),
        (0, False),
        (-3600, False),
        ("7d", False),
        (None, True),
    ],
)
def test_ttl_bounds(admin, expires_in, ok):
    extra = {} if expires_in is None else {"expires_in": expires_in}
    response = invite_response(admin, "ttl@acme.com", **extra)
    if not ok:
        assert_api_error(response, 422, "ttl_invalid")
        assert listed(admin) == {}
        return
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    expected = SEVEN_DAYS if expires_in is None else timedelta(seconds=expires_in)
    assert when(body["expires_at"]) - when(body["created_at"]) == expected


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@acme.com", "a@b@acme.com", 42])
def test_email_invalid(admin, email):
    assert_api_error(invite_response(admin, email), 422, "email_invalid")
    assert listed(admin) == {}


@pytest.mark.parametrize("scope", ["FR", {"countries": "FR"}, {"countries": [1]}, ["FR"]])
def test_scope_invalid(admin, scope):
    assert_api_error(invite_response(admin, "s@acme.com", scope=scope), 422, "scope_invalid")
    assert listed(admin) == {}


def test_email_normalisation_keeps_plus_and_dots(admin, platform, db):
    body = invite(admin, "Bob.Smith+Sales@ACME.com")
    row = db.get(Invitation, body["id"], populate_existing=True)
    assert row.email_normalized == "bob.smith+sales@acme.com"
    result = accepted(platform, body["token"])
    user = db.get(User, result["user_id"], populate_existing=True)
    assert user.email_normalized == "bob.smith+sales@acme.com"


# --- §4.5: accept by a new person, and the injected fault ------------------------------


def test_case_34_sign_up_creates_a_verified_user_and_the_membership(admin, platform, org, db):
    body = invite(admin, "Bob@Acme.com", "viewer", scope={"countries": ["FR"]})
    result = accepted(platform, body["token"], {"name": "Bob"})
    assert result["created_user"] is True and result["organization_id"] == org.id

    user = db.get(User, result["user_id"], populate_existing=True)
    assert user.email_normalized == "bob@acme.com"
    assert user.email_verified is True  # delivery=email proved control of the mailbox
    member = admin.member(result["user_id"])
    assert member["role"]["name"] == "viewer"
    assert member["scope"] == {"countries": ["FR"]}
    assert member["sites"] == []
    assert member["source"] == "invitation"
    assert member["directory_state"] == "unmanaged"
    assert member["effective_access"] is True

    state = listed(admin)[body["id"]]
    assert state["status"] == "accepted"
    assert state["accepted_user_id"] == result["user_id"]
    events = [
        e
        for e in admin.events()["events"]
        if e["user_id"] == result["user_id"] and e["type"].startswith("membership.")
    ]
    assert len(events) == 1 and events[0]["actor"]["type"] == "invitation", events
    assert seats(admin)["pending_invitations"] == 0


def _fail_on_membership_insert():
    """The database-level fault: every INSERT of a memberships row raises."""

    def boom(*_args, **_kwargs):
        raise RuntimeError("injected fault: membership insert failed")

    event.listen(Membership, "before_insert", boom)
    return boom


def _patch_membership_create(monkeypatch) -> int:
    """The service-level fault: ``memberships.create`` (the public function that inserts a
    membership) raises, wherever a loaded module holds a reference to it."""
    from scim_server.services.membership import transitions

    original = transitions.create

    def boom(*_args, **_kwargs):
        raise RuntimeError("injected fault: membership insert failed")

    patched = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("scim_server") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, boom)
                patched += 1
    return patched


@pytest.mark.parametrize("fault", ["insert_event", "service_function"])
def test_case_34_a_failed_membership_insert_leaves_no_user_and_a_pending_invitation(
    admin, platform, db, monkeypatch, fault
):
    body = invite(admin, "Bob@Acme.com", "viewer", scope={"countries": ["FR"]})
    users_before = db.scalar(select(func.count()).select_from(User))
    if fault == "insert_event":
        boom = _fail_on_membership_insert()
        try:
            response = accept(platform, body["token"])
        finally:
            event.remove(Membership, "before_insert", boom)
    else:
        assert _patch_membership_create(monkeypatch) >= 1
        response = accept(platform, body["token"])
        monkeypatch.undo()
    assert response.status_code >= 400, response.get_json()
    db.expire_all()
    assert users_with_email(db, "bob@acme.com") == 0
    assert db.scalar(select(func.count()).select_from(User)) == users_before
    state = listed(admin)[body["id"]]
    assert state["status"] == "pending" and state["accepted_user_id"] is None
    # the link still works once the fault is gone
    assert accepted(platform, body["token"])["created_user"] is True


# --- §4.5 step 2: the wrong signed-in person -----------------------------------------------------


def test_case_35_email_mismatch_does_not_consume_the_invitation(admin, platform, db):
    alice = account(db, "alice@acme.com")
    body = invite(admin, "bob@acme.com")
    response = accept(platform, body["token"], {"id": alice})
    error = assert_api_error(response, 403, "invitation_email_mismatch")
    assert "bob@acme.com" not in error["error"]["message"].lower()  # masked
    assert "***" in error["error"]["message"]
    state = listed(admin)[body["id"]]
    assert state["status"] == "pending" and state["failed_attempts"] == 1
    assert admin.call("GET", admin.member_path(alice)).status_code == 404

    bob = account(db, "Bob@Acme.com")
    result = accepted(platform, body["token"], {"id": bob})
    assert result["user_id"] == bob and result["created_user"] is False
    assert listed(admin)[body["id"]]["status"] == "accepted"


def test_an_unverified_signed_in_email_is_a_mismatch(admin, platform, db):
    bob = account(db, "bob@acme.com", verified=False)
    body = invite(admin, "bob@acme.com")
    assert_api_error(accept(platform, body["token"], {"id": bob}), 403, "invitation_email_mismatch")
    assert listed(admin)[body["id"]]["status"] == "pending"


def test_login_required_for_an_existing_account_without_a_session(admin, platform, db):
    bob = account(db, "bob@acme.com")
    body = invite(admin, "BOB@acme.com")
    assert_api_error(accept(platform, body["token"]), 401, "login_required")
    assert listed(admin)[body["id"]]["status"] == "pending"
    assert users_with_email(db, "bob@acme.com") == 1
    assert accepted(platform, body["token"], {"id": bob})["user_id"] == bob


# --- §4.6 (sequential half): the same person twice -----------------------------------------


def test_case_36_accepting_twice_gives_already_member_and_no_duplicate(admin, platform, db, org):
    bob = account(db, "bob@acme.com")
    body = invite(admin, "bob@acme.com")
    first = accepted(platform, body["token"], {"id": bob})
    second = accept(platform, body["token"], {"id": bob})
    assert is_already_member(second), second.get_json()
    count = db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org.id, Membership.user_id == bob)
    )
    assert count == 1
    assert first["user_id"] == bob and admin.member(bob)["role"]["name"] == "viewer"
    # someone else re-using the consumed link learns nothing
    assert_api_error(accept(platform, body["token"]), 404, "invitation_invalid")


# --- §4.4: resend and revoke -----------------------------------------------------------------


def test_case_37_resend_rotates_the_secret_and_resets_expiry(admin, platform, db):
    body = invite(admin, "bob@acme.com", expires_in=3600)
    set_expiry(db, body["id"], utcnow() + timedelta(minutes=10))
    response = resend(admin, body["id"])
    assert response.status_code == 200, response.get_json()
    renewed = response.get_json()
    assert TOKEN.match(renewed["token"]) and renewed["token"] != body["token"]
    assert renewed["id"] == body["id"] and renewed["status"] == "pending"
    remaining = when(renewed["expires_at"]) - utcnow()
    assert timedelta(minutes=55) < remaining <= timedelta(hours=1)

    assert_api_error(accept(platform, body["token"]), 404, "invitation_invalid")
    result = accepted(platform, renewed["token"])
    assert result["created_user"] is True


def test_case_37_revoke_kills_the_new_link_and_revoking_again_is_not_pending(admin, platform):
    body = invite(admin, "bob@acme.com")
    renewed = resend(admin, body["id"]).get_json()
    response = revoke(admin, body["id"])
    assert response.status_code == 200 and response.get_json()["status"] == "revoked"
    assert_api_error(accept(platform, renewed["token"]), 404, "invitation_invalid")
    assert_api_error(accept(platform, body["token"]), 404, "invitation_invalid")
    assert_api_error(revoke(admin, body["id"]), 409, "invitation_not_pending")
    assert_api_error(resend(admin, body["id"]), 409, "invitation_not_pending")
    assert listed(admin)[body["id"]]["status"] == "revoked"


def test_an_accepted_invitation_cannot_be_revoked_or_resent(admin, platform):
    body = invite(admin, "bob@acme.com")
    accepted(platform, body["token"])
    assert_api_error(revoke(admin, body["id"]), 409, "invitation_not_pending")
    assert_api_error(resend(admin, body["id"]), 409, "invitation_not_pending")


def test_invitations_of_another_org_are_not_found(client, admin, other_org):
    body = invite(admin, "bob@acme.com")
    other = Admin(client, other_org.management_key, other_org.id)
    assert (
        other.call(
            "POST", f"/organizations/{admin.org_id}/invitations/{body['id']}/revoke"
        ).status_code
        == 404
    )
    assert revoke(other, body["id"]).status_code == 404
    assert resend(other, body["id"]).status_code == 404
    assert listed(other) == {}
    assert listed(admin)[body["id"]]["status"] == "pending"


# --- §4.5 step 1: one answer for every invalid link ----------------------------------------------


def test_case_38_invalid_links_are_indistinguishable(admin, platform):
    wrong = invite(admin, "wrong@acme.com")
    last = wrong["token"][-1]
    wrong_by_one = wrong["token"][:-1] + ("A" if last != "A" else "B")
    revoked = invite(admin, "revoked@acme.com")
    assert revoke(admin, revoked["id"]).status_code == 200
    used = invite(admin, "used@acme.com")
    accepted(platform, used["token"])
    unknown = f"{uuid.uuid4()}.{wrong['token'].split('.')[1]}"

    responses = [
        accept(platform, token)
        for token in (wrong_by_one, revoked["token"], used["token"], unknown)
    ]
    bodies = [r.get_json() for r in responses]
    assert [r.status_code for r in responses] == [404] * 4
    assert all(b["error"]["code"] == "invitation_invalid" for b in bodies)
    assert all(b == bodies[0] for b in bodies), bodies
    assert listed(admin)[wrong["id"]]["status"] == "pending"


@pytest.mark.parametrize(
    "token", ["", "garbage", "no-dot-at-all", ".", f"{uuid.uuid4()}.", "not-a-uuid.secret"]
)
def test_malformed_tokens_are_invalid_or_rejected(platform, token):
    response = accept(platform, token)
    assert response.status_code in (400, 404), response.get_json()
    if token:
        assert_api_error(response, 404, "invitation_invalid")


def test_case_38_expired_after_a_valid_secret_only(admin, platform, db):
    body = invite(admin, "bob@acme.com")
    set_expiry(db, body["id"], utcnow() - timedelta(seconds=1))
    assert_api_error(accept(platform, body["token"]), 410, "invitation_expired")
    wrong = body["token"][:-1] + ("A" if body["token"][-1] != "A" else "B")
    assert_api_error(accept(platform, wrong), 404, "invitation_invalid")
    assert users_with_email(db, "bob@acme.com") == 0
    state = listed(admin)[body["id"]]
    assert state["status"] == "expired"
    assert seats(admin)["pending_invitations"] == 0  # an expired invitation reserves nothing
    assert_api_error(resend(admin, body["id"]), 409, "invitation_not_pending")
    # a new invitation for the same email is allowed
    assert invite_response(admin, "bob@acme.com").status_code == 201


def test_expiry_boundary_is_exclusive(admin, platform, db):
    body = invite(admin, "bob@acme.com")
    set_expiry(db, body["id"], utcnow() + timedelta(minutes=5))
    assert accepted(platform, body["token"])["created_user"] is True


def test_ten_wrong_secrets_rate_limit_the_invitation_without_consuming_it(admin, platform):
    body = invite(admin, "bob@acme.com")
    wrong = body["token"][:-1] + ("A" if body["token"][-1] != "A" else "B")
    for _ in range(10):
        assert_api_error(accept(platform, wrong), 404, "invitation_invalid")
    assert_api_error(accept(platform, wrong), 429, "rate_limited")
    assert listed(admin)[body["id"]]["status"] == "pending"


# --- §4.1: who may be invited, and with which role -------------------------------------


def test_case_39_an_admin_disabled_member_cannot_be_invited(admin, platform):
    user_id = jit_member(admin, platform, "bob@acme.com")
    assert admin.disable(user_id).status_code == 200
    assert_api_error(invite_response(admin, "Bob@acme.com"), 403, "membership_disabled")
    assert [i for i in listed(admin).values() if i["status"] == "pending"] == []
    assert admin.member(user_id)["admin_override"]["state"] == "disabled"


def test_case_39_a_live_member_is_already_a_member(admin, platform, scim):
    jit_member(admin, platform, "bob@acme.com")
    assert_api_error(invite_response(admin, "BOB@acme.com"), 409, "already_member")
    scim_member(scim, "carol@acme.com")
    assert_api_error(invite_response(admin, "carol@acme.com"), 409, "already_member")


def test_a_directory_inactive_member_cannot_be_invited(admin, scim):
    created = scim_member(scim, "dave@acme.com")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert_api_error(invite_response(admin, "dave@acme.com"), 409, "membership_inactive")


def test_a_directory_removed_member_is_managed_by_the_directory(admin, scim):
    created = scim_member(scim, "erin@acme.com")
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    assert_api_error(invite_response(admin, "erin@acme.com"), 409, "managed_by_directory")


@pytest.fixture
def org_admin(admin, scim) -> str:
    """An effective member with the Admin role; returns their email."""
    created = scim_member(scim, "it.admin@acme.com")
    assert admin.edit(created[PRODUCT]["userId"], {"role": "admin"}).status_code == 200
    return "it.admin@acme.com"


def test_case_39_an_admin_cannot_invite_an_owner(admin, org_admin):
    response = invite_response(admin, "boss@acme.com", "owner", acting=org_admin)
    assert_api_error(response, 403, "role_not_assignable")
    assert listed(admin) == {}
    made = invite_response(admin, "peer@acme.com", "admin", acting=org_admin)
    assert made.status_code == 201, made.get_json()
    [member] = admin.call(
        "GET", f"/organizations/{admin.org_id}/members?email={org_admin}"
    ).get_json()["members"]
    assert made.get_json()["created_by"] == member["user_id"]  # the person, resolved


def test_case_39_a_custom_role_of_another_org_is_invalid(client, admin, other_org):
    other = Admin(client, other_org.management_key, other_org.id)
    foreign = other.call("POST", f"/organizations/{other_org.id}/roles", {"name": "globex"})
    assert foreign.status_code == 201
    for role in (foreign.get_json()["id"], "globex", "no-such-role"):
        assert_api_error(
            invite_response(admin, "bob@acme.com", role), 422, "invitation_role_invalid"
        )
    assert listed(admin) == {}
    own = admin.call("POST", f"/organizations/{admin.org_id}/roles", {"name": "auditor"})
    made = invite(admin, "bob@acme.com", own.get_json()["id"])
    assert made["role"]["name"] == "auditor"


# --- §4.1: one pending invitation per email ------------------------------------------------


def test_case_40_a_second_pending_invitation_needs_replace(admin, platform, db, org):
    first = invite(admin, "Bob@Acme.com", "viewer")
    assert_api_error(invite_response(admin, "bob@acme.com", "member"), 409, "invitation_pending")
    assert listed(admin)[first["id"]]["status"] == "pending"

    second = invite(admin, "bob@ACME.com", "member", replace=True)
    states = listed(admin)
    assert states[first["id"]]["status"] == "revoked"
    assert states[second["id"]]["status"] == "pending"
    pending = db.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(Invitation.org_id == org.id, Invitation.status == "pending")
    )
    assert pending == 1
    assert_api_error(accept(platform, first["token"]), 404, "invitation_invalid")
    result = accepted(platform, second["token"])
    assert admin.member(result["user_id"])["role"]["name"] == "member"


def test_case_40_replace_is_atomic_when_the_new_invitation_is_refused(admin):
    first = invite(admin, "bob@acme.com")
    refused = invite_response(admin, "bob@acme.com", "no-such-role", replace=True)
    assert_api_error(refused, 422, "invitation_role_invalid")
    assert listed(admin)[first["id"]]["status"] == "pending"


# --- seats ---------------------------------------------------------------------------------------


def test_a_pending_invitation_reserves_a_seat(admin, platform, org):
    before = seats(admin)
    body = invite(admin, "bob@acme.com")
    during = seats(admin)
    assert during["pending_invitations"] == before["pending_invitations"] + 1
    assert during["used"] == before["used"] + 1
    platform.call("PATCH", f"/organizations/{org.id}", {"seat_limit": during["used"]})
    assert_api_error(invite_response(admin, "carol@acme.com"), 409, "seat_limit_reached")
    # the reservation covers the acceptance
    accepted(platform, body["token"])
    after = seats(admin)
    assert after["used"] == during["used"] and after["pending_invitations"] == 0


def test_a_revoked_invitation_frees_its_seat(admin):
    before = seats(admin)["used"]
    body = invite(admin, "bob@acme.com")
    revoke(admin, body["id"])
    assert seats(admin)["used"] == before


def test_i1_an_invited_member_is_listed_by_scim(admin, platform, scim):
    result = accepted(platform, invite(admin, "bob@acme.com")["token"])
    listing = scim.get("/Users", query_string={"count": 1000}).get_json()
    mine = [r for r in listing["Resources"] if r[PRODUCT]["userId"] == result["user_id"]]
    assert len(mine) == 1
    assert mine[0]["active"] is True


# --- rows I2–I5 at accept -------------------------------------------------------------------------


def test_i2_an_invitation_revives_an_admin_removed_member_with_its_grants(admin, platform, db):
    user_id = jit_member(admin, platform, "bob@acme.com")
    assert admin.remove(user_id).status_code == 200
    body = invite(admin, "bob@acme.com", "viewer", scope={"countries": ["DE"]})
    result = accepted(platform, body["token"], {"id": user_id})
    assert result["user_id"] == user_id and result["created_user"] is False
    member = admin.member(user_id)
    assert member["ended_at"] is None and member["effective_access"] is True
    assert member["role"]["name"] == "viewer" and member["scope"] == {"countries": ["DE"]}


def test_i2_a_revival_keeps_an_admin_override(admin, platform, db):
    user_id = jit_member(admin, platform, "bob@acme.com")
    assert admin.disable(user_id).status_code == 200
    assert admin.remove(user_id).status_code == 200
    response = invite_response(admin, "bob@acme.com")
    if response.status_code == 201:  # allowed at create: the accept must still refuse
        assert_api_error(
            accept(platform, response.get_json()["token"], {"id": user_id}),
            403,
            "membership_disabled",
        )
        assert listed(admin)[response.get_json()["id"]]["status"] == "pending"
    else:
        assert_api_error(response, 403, "membership_disabled")
    member = admin.member(user_id)
    assert member["admin_override"]["state"] == "disabled"
    assert member["effective_access"] is False


@pytest.fixture
def verified_scim_member(scim, db):
    def make(email: str, **extra) -> dict:
        created = scim_member(scim, email, **extra)
        db.execute(
            update(User).where(User.id == created[PRODUCT]["userId"]).values(email_verified=True)
        )
        db.commit()
        return created

    return make


def test_i3_membership_disabled_at_accept(admin, platform, verified_scim_member):
    body = invite(admin, "bob@acme.com", "admin")
    created = verified_scim_member("bob@acme.com")
    user_id = created[PRODUCT]["userId"]
    assert admin.disable(user_id).status_code == 200
    assert_api_error(accept(platform, body["token"], {"id": user_id}), 403, "membership_disabled")
    assert listed(admin)[body["id"]]["status"] == "pending"
    member = admin.member(user_id)
    assert member["admin_override"]["state"] == "disabled" and member["role"]["name"] == "member"


def test_i4_a_directory_deactivation_blocks_the_accept(admin, platform, scim, verified_scim_member):
    body = invite(admin, "bob@acme.com", "admin")
    created = verified_scim_member("bob@acme.com")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    user_id = created[PRODUCT]["userId"]
    assert_api_error(accept(platform, body["token"], {"id": user_id}), 409, "membership_inactive")
    assert listed(admin)[body["id"]]["status"] == "pending"
    member = admin.member(user_id)
    assert member["directory_state"] == "inactive" and member["effective_access"] is False
    assert member["role"]["name"] == "member"


def test_i2_directory_removed_with_the_directory_connected_is_managed_by_directory(
    admin, platform, scim, verified_scim_member
):
    body = invite(admin, "bob@acme.com")
    created = verified_scim_member("bob@acme.com")
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    user_id = created[PRODUCT]["userId"]
    assert_api_error(accept(platform, body["token"], {"id": user_id}), 409, "managed_by_directory")
    assert listed(admin)[body["id"]]["status"] == "pending"
    assert admin.member(user_id)["ended_at"] is not None


def test_i5_an_invitation_never_changes_an_existing_members_role(
    admin, platform, verified_scim_member
):
    body = invite(admin, "bob@acme.com", "admin", scope={"countries": ["FR"]})
    created = verified_scim_member("bob@acme.com")
    user_id = created[PRODUCT]["userId"]
    before = admin.member(user_id)
    response = accept(platform, body["token"], {"id": user_id})
    assert is_already_member(response), response.get_json()
    after = admin.member(user_id)
    assert after["role"]["name"] == "member" and after["scope"] == before["scope"]
    assert after == before
    assert listed(admin)[body["id"]]["status"] == "accepted"


def test_exclusive_membership_refuses_a_member_of_another_org(
    client, admin, platform, org, other_org, db
):
    other_admin = Admin(client, other_org.management_key, other_org.id)
    elsewhere = accepted(platform, invite(other_admin, "bob@acme.com")["token"])
    platform.call("PATCH", f"/organizations/{org.id}", {"exclusive_membership": True})
    response = invite_response(admin, "bob@acme.com")
    if response.status_code == 201:
        response = accept(platform, response.get_json()["token"], {"id": elsewhere["user_id"]})
    assert_api_error(response, 409, "membership_conflict")
    assert admin.call("GET", admin.member_path(elsewhere["user_id"])).status_code == 404


def test_accept_needs_the_platform_key(admin, client):
    body = invite(admin, "bob@acme.com")
    response = admin.call("POST", "/invitations/accept", {"token": body["token"], "user": {}})
    assert_api_error(response, 403, "platform_key_required")
    anonymous = client.post("/api/v1/invitations/accept", json={"token": body["token"]})
    assert anonymous.status_code == 401
    assert listed(admin)[body["id"]]["status"] == "pending"


# --- §4.3: expiry uses the database clock -----------------------------------------------------


def _shift_app_clock(monkeypatch, delta: timedelta) -> int:
    """Make the application's ``utcnow`` (wherever a module holds it) run ``delta`` off."""
    from scim_server.storage import models

    original = models.utcnow

    def shifted() -> datetime:
        return original() + delta

    patched = 0
    for name, module in list(sys.modules.items()):
        if not name.startswith("scim_server") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, shifted)
                patched += 1
    return patched


def test_case_38_expiry_is_judged_by_the_database_clock_not_the_app_clock(
    admin, platform, db, monkeypatch
):
    live = invite(admin, "bob@acme.com")
    gone = invite(admin, "carol@acme.com")
    set_expiry(db, gone["id"], utcnow() - timedelta(minutes=1))
    assert _shift_app_clock(monkeypatch, timedelta(days=8)) >= 1
    result = accept(platform, live["token"])
    monkeypatch.undo()
    assert result.status_code == 200, result.get_json()
    assert _shift_app_clock(monkeypatch, -timedelta(days=1)) >= 1
    assert_api_error(accept(platform, gone["token"]), 410, "invitation_expired")
