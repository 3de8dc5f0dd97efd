"""JIT SSO provisioning through ``POST /api/v1/sso/login`` (docs/lifecycle.md §3, rows J1–J7;
the parallel half of two first logins at once is in tests/live/test_signin_races.py).

Reading of the spec where it leaves a choice:
* ``trust_unverified_email`` (§3.1 step 6) is the connection's ``require_email_verified``
  setting inverted (docs/api.md §3.6 names only the latter): trust=true is
  ``require_email_verified: false``.
* Every refusal on ``/sso/login`` is a 403 with the §3 code (docs/api.md §3.7), except an
  unknown connection, which is 404 ``sso_connection_not_found`` (errors.API_STATUS).
* "Writes nothing" means no new row in users, memberships, sso_identities, sessions or the
  event trail.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from scim_server.storage.models import Event
from scim_server.storage.models import Membership
from scim_server.storage.models import SignInSession
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import SsoIdentity
from scim_server.storage.models import User
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error

ISSUER = "https://idp.acme.example"
ABSENT = object()  # leave the claim out altogether


# --- helpers ------------------------------------------------------------------------------


def verify_domain(platform: Admin, org_id: str, domain: str) -> None:
    claimed = platform.call("POST", f"/organizations/{org_id}/domains", {"domain": domain})
    assert claimed.status_code == 201, claimed.get_json()
    verified = platform.call(
        "POST",
        f"/organizations/{org_id}/domains/{domain}/verify",
        {"method": "manual", "reason": "verified by hand for the test"},
    )
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["verified"] is True


def create_connection(admin: Admin, org_id: str, **fields) -> str:
    body = {"name": f"Okta {uuid.uuid4().hex[:6]}", "jit_enabled": True, **fields}
    response = admin.call("POST", f"/organizations/{org_id}/sso-connections", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def patch_connection(admin: Admin, org_id: str, connection_id: str, **fields) -> dict:
    response = admin.call(
        "PATCH", f"/organizations/{org_id}/sso-connections/{connection_id}", fields
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class Sso:
    """An IdP talking to one connection, through the host product's login hook."""

    def __init__(self, platform: Admin, connection_id: str, issuer: str = ISSUER) -> None:
        self.platform = platform
        self.connection_id = connection_id
        self.issuer = issuer

    def login(self, sub: str, email=ABSENT, email_verified=True, **extra):
        claims = {"iss": self.issuer, "sub": sub, **extra}
        if email is not ABSENT:
            claims["email"] = email
        if email_verified is not ABSENT:
            claims["email_verified"] = email_verified
        return self.platform.call(
            "POST", "/sso/login", {"connection_id": self.connection_id, "claims": claims}
        )

    def ok(self, sub: str, email=ABSENT, **kw) -> dict:
        response = self.login(sub, email, **kw)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def acme(platform, admin, org) -> Sso:
    """acme.com verified for the org; a JIT-enabled connection with the default role."""
    verify_domain(platform, org.id, "acme.com")
    return Sso(platform, create_connection(admin, org.id))


def row_counts(db) -> dict[str, int]:
    db.expire_all()
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model))
        for model in (User, Membership, SsoIdentity, SignInSession, Event)
    }


@contextmanager
def writes_nothing(db):
    before = row_counts(db)
    yield
    assert row_counts(db) == before


def refused(response, code: str, status: int = 403) -> None:
    assert_api_error(response, status, code)


def fresh(db, model, key):
    return db.get(model, key, populate_existing=True)


def identities(db, **where) -> list[SsoIdentity]:
    db.expire_all()
    query = select(SsoIdentity).filter_by(**where)
    return list(db.scalars(query.execution_options(populate_existing=True)))


def local_account(db, email: str, *, verified: bool, password: bool = True) -> str:
    user = User(
        email=email,
        email_normalized=email.lower(),
        email_verified=verified,
        password_hash="argon2$not-a-real-hash" if password else None,
    )
    db.add(user)
    db.commit()
    return user.id


def scim_member(scim: Scim, db, email: str, *, verified: bool = True, **extra) -> dict:
    """A SCIM-provisioned member whose account email is (or is not) verified."""
    created = scim.create_user(email, **extra)
    db.execute(
        update(User).where(User.id == created[PRODUCT]["userId"]).values(email_verified=verified)
    )
    db.commit()
    return created


def set_org(platform: Admin, org_id: str, **fields) -> None:
    response = platform.call("PATCH", f"/organizations/{org_id}", fields)
    assert response.status_code == 200, response.get_json()


def set_default_role_behind_the_validator(db, connection_id: str, role_id: str) -> None:
    db.execute(
        update(SsoConnection)
        .where(SsoConnection.id == connection_id)
        .values(default_role_id=role_id, default_role_override=True)
    )
    db.commit()


def mark_user_disabled(db, user_id: str) -> None:
    db.execute(update(User).where(User.id == user_id).values(disabled_at=datetime(2024, 1, 1)))
    db.commit()


def session_state(platform: Admin, session_id: str) -> dict:
    response = platform.call("GET", f"/sessions/{session_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- row J1: first login ---------------------------------------------------------------------


def test_case_22_first_login_creates_one_user_identity_and_member_membership(
    acme, admin, db, org, other_org, client
):
    before = row_counts(db)
    body = acme.ok("s1", "u@ACME.com", name="U Person")
    after = row_counts(db)
    assert after["users"] == before["users"] + 1
    assert after["memberships"] == before["memberships"] + 1
    assert after["sso_identities"] == before["sso_identities"] + 1
    assert body["created_user"] is True and body["provisioned"] is True
    assert body["linked_identity"] is True
    assert body["organization_id"] == org.id

    user = fresh(db, User, body["user_id"])
    assert user.email_normalized == "u@acme.com"
    assert user.email_verified is True
    assert user.password_hash is None
    [identity] = identities(db, user_id=body["user_id"])
    assert (identity.issuer, identity.subject) == (ISSUER, "s1")
    assert identity.connection_id == acme.connection_id

    member = admin.member(body["user_id"])
    assert member["role"]["name"] == "member"
    assert member["sites"] == []
    assert not member["scope"]  # an empty scope
    assert member["source"] == "jit"
    assert member["directory_state"] == "unmanaged"
    assert member["admin_override"]["state"] == "none"
    assert member["effective_access"] is True and member["counts_as_seat"] is True
    assert member["email"] == "u@acme.com"

    created = [
        e
        for e in admin.events()["events"]
        if e["user_id"] == body["user_id"] and e["type"].startswith("membership.")
    ]
    assert len(created) == 1 and created[0]["actor"]["type"] == "jit"

    # never provisioned into an org other than the connection's
    other = Admin(client, other_org.management_key, other_org.id)
    response = other.call("GET", f"/organizations/{other_org.id}/members/{body['user_id']}")
    assert response.status_code == 404


def test_j1_session_is_valid_and_tied_to_the_connection(acme, platform, db):
    body = acme.ok("s1", "u@acme.com")
    session = body["session"]
    assert session["sso_connection_id"] == acme.connection_id
    assert session_state(platform, session["id"]) == {"valid": True, "reason": None}
    row = fresh(db, SignInSession, session["id"])
    assert row.sso_connection_id == acme.connection_id
    assert (row.user_id, row.org_id) == (body["user_id"], body["organization_id"])
    assert row.revoked_at is None


def test_j1_jit_member_is_listed_by_scim_with_a_lazily_minted_id(acme, scim):
    body = acme.ok("s1", "listed@acme.com")
    listing = scim.get("/Users", query_string={"count": 1000}).get_json()
    mine = [r for r in listing["Resources"] if r[PRODUCT]["userId"] == body["user_id"]]
    assert len(mine) == 1
    assert mine[0]["active"] is True and mine[0]["id"]
    assert scim.get(f"/Users/{mine[0]['id']}").status_code == 200


# --- §3.3: idempotency -----------------------------------------------------------------------


def test_case_23_the_same_claims_again_give_the_same_user_and_write_no_rows(acme, admin, db):
    first = acme.ok("s1", "u@ACME.com")
    events = admin.events()["events"]
    before = row_counts(db)
    for _ in range(2):
        again = acme.ok("s1", "u@ACME.com")
        assert again["user_id"] == first["user_id"]
        assert again["membership_id"] == first["membership_id"]
        assert again["created_user"] is False and again["provisioned"] is False
        assert again["linked_identity"] is False
        assert session_state(acme.platform, again["session"]["id"])["valid"] is True
    after = row_counts(db)
    for table in ("users", "memberships", "sso_identities"):
        assert after[table] == before[table], table
    new = admin.events()["events"][len(events) :]
    assert not [e for e in new if e["type"].startswith(("membership.", "user."))], new


# --- §3.1 step 6: email_verified ------------------------------------------------------------


@pytest.mark.parametrize(
    ("email_verified", "trust_unverified", "expected"),
    [
        (False, True, "email_not_verified"),  # an explicit false is never relaxed
        (ABSENT, True, None),
        (None, True, None),  # null is the same as absent (SAML has no such claim)
        (ABSENT, False, "email_not_verified"),
        (None, False, "email_not_verified"),
        (False, False, "email_not_verified"),
        (True, False, None),
        (True, True, None),
    ],
)
def test_case_24_email_verified_claim(
    platform, admin, org, db, email_verified, trust_unverified, expected
):
    verify_domain(platform, org.id, "acme.com")
    connection = create_connection(admin, org.id)
    patch_connection(admin, org.id, connection, require_email_verified=not trust_unverified)
    sso = Sso(platform, connection)
    if expected is None:
        body = sso.ok("s1", "u@acme.com", email_verified=email_verified)
        assert body["created_user"] is True
        return
    with writes_nothing(db):
        refused(sso.login("s1", "u@acme.com", email_verified=email_verified), expected)


# --- §3.1 step 7: the email domain -----------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "u@evil.com",  # not claimed at all
        "u@eu.acme.com",  # subdomains are not implied
        "u@acme.com.evil.com",
        "u@gmail.com",  # a public mail domain
    ],
)
def test_case_25_an_email_domain_not_verified_for_this_org_is_refused(acme, db, email):
    with writes_nothing(db):
        refused(acme.login("s1", email), "email_domain_not_verified")


def test_case_25_a_claimed_but_unverified_domain_is_refused(acme, admin, org, db):
    claimed = admin.call("POST", f"/organizations/{org.id}/domains", {"domain": "beta.com"})
    assert claimed.status_code == 201 and claimed.get_json()["verified"] is False
    with writes_nothing(db):
        refused(acme.login("s1", "u@beta.com"), "email_domain_not_verified")


def test_case_25_a_domain_verified_by_another_org_is_refused(
    acme, client, admin, org, other_org, db
):
    other = Admin(client, PLATFORM_KEY, other_org.id)
    verify_domain(other, other_org.id, "evil.com")
    # this org may even have a pending claim on it: still not verified *for this org*
    admin.call("POST", f"/organizations/{org.id}/domains", {"domain": "evil.com"})
    with writes_nothing(db):
        refused(acme.login("s1", "u@evil.com"), "email_domain_not_verified")
    member_ids = [
        m["user_id"]
        for m in admin.call("GET", f"/organizations/{org.id}/members").get_json()["members"]
    ]
    assert member_ids == []


def test_case_25_the_domain_is_normalised_lower_case_nfc_and_idna(platform, admin, org, db):
    verify_domain(platform, org.id, "xn--bcher-kva.example")  # bücher.example
    sso = Sso(platform, create_connection(admin, org.id))
    decomposed = "Anna@BU\u0308CHER.example"  # U + combining diaeresis, upper-case
    body = sso.ok("s1", decomposed)
    assert body["created_user"] is True


# --- §3.1 steps 2 and 4: JIT switched off, connection disabled ------------------------------------


def test_case_26_jit_disabled_without_an_identity(acme, admin, org, db):
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "jit_disabled")


def test_case_26_a_linked_user_still_logs_in_when_jit_is_switched_off(acme, admin, org):
    first = acme.ok("s1", "u@acme.com")
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    again = acme.ok("s1", "u@acme.com")
    assert again["user_id"] == first["user_id"] and again["provisioned"] is False


def test_case_26_a_disabled_connection_refuses_even_linked_users(acme, admin, org, db):
    acme.ok("s1", "u@acme.com")
    response = admin.call(
        "POST", f"/organizations/{org.id}/sso-connections/{acme.connection_id}/disable", {}
    )
    assert response.status_code == 200
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "sso_connection_disabled")
        refused(acme.login("s2", "new@acme.com"), "sso_connection_disabled")


def test_unknown_connection_is_refused(platform, db):
    """docs/api.md §3.7: /sso/login refusals are 403 with the docs/lifecycle.md §3.1 code."""
    with writes_nothing(db):
        refused(
            Sso(platform, str(uuid.uuid4())).login("s1", "u@acme.com"),
            "sso_connection_not_found",
            403,
        )


def test_email_missing(acme, db):
    with writes_nothing(db):
        refused(acme.login("s1"), "email_missing")


def test_organization_inactive(acme, platform, org, db):
    set_org(platform, org.id, active=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "organization_inactive")


# --- §3.1 step 8: linking -----------------------------------------------------------------------


def test_case_27_another_subject_with_the_same_email_is_a_conflict_not_a_relink(acme, db):
    first = acme.ok("s1", "u@acme.com")
    with writes_nothing(db):
        refused(acme.login("s2", "u@acme.com"), "sso_identity_conflict")
    [identity] = identities(db, user_id=first["user_id"])
    assert identity.subject == "s1"
    assert identities(db, issuer=ISSUER, subject="s2") == []
    assert acme.ok("s1", "u@acme.com")["user_id"] == first["user_id"]


def test_case_28_an_unverified_local_account_needs_an_interactive_link(acme, db, admin, org):
    user_id = local_account(db, "u@acme.com", verified=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "account_link_required")
    assert identities(db, user_id=user_id) == []
    response = admin.call("GET", f"/organizations/{org.id}/members/{user_id}")
    assert response.status_code == 404


def test_case_28_a_verified_local_account_is_auto_linked(acme, db, admin):
    user_id = local_account(db, "u@acme.com", verified=True)
    body = acme.ok("s1", "u@acme.com")
    assert body["user_id"] == user_id
    assert body["created_user"] is False and body["linked_identity"] is True
    assert body["provisioned"] is True
    assert [i.subject for i in identities(db, user_id=user_id)] == ["s1"]
    assert admin.member(user_id)["role"]["name"] == "member"


# --- §3.1 step 10: the default role ---------------------------------------------------------------


@pytest.mark.parametrize("role_id", ["builtin-admin", "builtin-owner"])
def test_case_29_a_privileged_default_role_fails_closed_at_runtime(acme, db, role_id):
    set_default_role_behind_the_validator(db, acme.connection_id, role_id)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "jit_role_invalid")


def test_case_29_j2_an_existing_members_grants_never_change(acme, admin, platform, org, db):
    invited = admin.call(
        "POST",
        f"/organizations/{org.id}/invitations",
        {"email": "viewer@acme.com", "role": "viewer", "scope": {"countries": ["FR"]}},
    )
    assert invited.status_code == 201, invited.get_json()
    accepted = platform.call(
        "POST", "/invitations/accept", {"token": invited.get_json()["token"], "user": {}}
    )
    assert accepted.status_code == 200, accepted.get_json()
    user_id = accepted.get_json()["user_id"]
    site = admin.call("POST", f"/organizations/{org.id}/sites", {"name": "Paris"}).get_json()
    assert admin.edit(user_id, {"sites": [site["id"]]}).status_code == 200
    before = admin.member(user_id)

    body = acme.ok("s1", "viewer@acme.com")
    assert body["user_id"] == user_id
    assert body["provisioned"] is False and body["created_user"] is False
    assert body["linked_identity"] is True
    after = admin.member(user_id)
    assert after["role"]["name"] == "viewer"
    assert after["scope"] == {"countries": ["FR"]} and after["sites"] == [
        {"site": site["id"], "role": "viewer"}
    ]
    assert after == before
    acme.ok("s1", "viewer@acme.com")
    assert admin.member(user_id) == before


# --- membership gates: rows J3, J4, J5, user disabled ---------------------------------------------


def test_j3_an_admin_disabled_member_is_refused_and_stays_disabled(acme, admin, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    assert admin.disable(user_id).status_code == 200
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_disabled")
    member = admin.member(user_id)
    assert member["admin_override"]["state"] == "disabled"
    assert member["effective_access"] is False


def test_j4_a_directory_inactive_member_is_refused(acme, scim, db, admin):
    created = scim_member(scim, db, "u@acme.com")
    user_id = created[PRODUCT]["userId"]
    acme.ok("s1", "u@acme.com")  # links the identity (row J2)
    patched = scim.patch(
        f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert patched.status_code == 200
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_inactive")
    assert admin.member(user_id)["directory_state"] == "inactive"


def test_j4_a_directory_inactive_member_is_refused_on_first_login_too(acme, scim, db):
    scim_member(scim, db, "u@acme.com", active=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_inactive")


def test_case_30_j5_jit_never_resurrects_an_admin_removed_membership(acme, admin, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    removed = admin.remove(user_id)
    assert removed.status_code == 200 and removed.get_json()["end_reason"] == "admin_removed"
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_removed")
    member = admin.member(user_id)
    assert member["ended_at"] is not None and member["effective_access"] is False


def test_j5_jit_never_resurrects_a_directory_removed_membership(acme, scim, admin, db):
    created = scim_member(scim, db, "u@acme.com")
    acme.ok("s1", "u@acme.com")
    assert scim.delete(f"/Users/{created['id']}").status_code == 204
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_removed")
    assert admin.member(created[PRODUCT]["userId"])["end_reason"] == "directory_removed"


def test_a_platform_disabled_user_is_refused(acme, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    mark_user_disabled(db, user_id)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "user_disabled")


# --- row J6: link-only when the org has a SCIM directory -----------------------------------------


@pytest.mark.parametrize("jit_mode", [None, "auto", "link_only"])
def test_case_30_j6_an_unknown_user_is_not_provisioned_when_scim_is_on(
    acme, scim, admin, org, db, jit_mode
):
    scim.create_user("provisioned@acme.com")  # the org's directory is in use
    if jit_mode is not None:
        patch_connection(admin, org.id, acme.connection_id, jit_mode=jit_mode)
    with writes_nothing(db):
        refused(acme.login("s1", "stranger@acme.com"), "not_provisioned")


def test_j6_link_only_still_links_a_provisioned_member(acme, scim, admin, org, db):
    created = scim_member(scim, db, "u@acme.com")
    patch_connection(admin, org.id, acme.connection_id, jit_mode="link_only")
    body = acme.ok("s1", "u@acme.com")
    assert body["user_id"] == created[PRODUCT]["userId"]
    assert body["provisioned"] is False and body["linked_identity"] is True
    member = admin.member(body["user_id"])
    assert member["directory_state"] == "active" and member["source"] == "scim"


# --- row J7: claiming a pending_claim membership --------------------------------------------------


def test_j7_first_sso_login_claims_a_pending_claim_membership(
    client, platform, admin, scim, org, other_org, db
):
    # an existing, verified account (it signed up through an emailed invitation elsewhere)
    other = Admin(client, other_org.management_key, other_org.id)
    invited = other.call(
        "POST", f"/organizations/{other_org.id}/invitations", {"email": "p@acme.com"}
    ).get_json()
    joined = platform.call("POST", "/invitations/accept", {"token": invited["token"], "user": {}})
    assert joined.status_code == 200, joined.get_json()
    user_id = joined.get_json()["user_id"]

    # this org's directory pushes the same email before acme.com is verified here (row P3)
    created = scim.create_user("p@acme.com")
    assert created[PRODUCT]["userId"] == user_id
    assert created[PRODUCT]["linkPending"] is True
    assert created[PRODUCT]["effectiveAccess"] is False
    assert admin.member(user_id)["link_state"] == "pending_claim"

    sso = Sso(platform, create_connection(admin, org.id))
    with writes_nothing(db):
        refused(sso.login("p1", "p@acme.com"), "email_domain_not_verified")
    verify_domain(platform, org.id, "acme.com")

    seen = len(admin.events()["events"])
    body = sso.ok("p1", "p@acme.com")
    assert body["user_id"] == user_id and body["created_user"] is False
    claim_events = [
        e
        for e in admin.events()["events"][seen:]
        if e["type"].startswith("membership.") and e["user_id"] == user_id
    ]
    assert len(claim_events) == 1 and claim_events[0]["actor"]["type"] == "jit", claim_events
    claimed = fresh(db, Membership, body["membership_id"])
    assert (claimed.org_id, claimed.user_id, claimed.link_state) == (org.id, user_id, "linked")
    member = admin.member(user_id)
    assert member["link_state"] == "linked" and member["effective_access"] is True
    assert member["directory_state"] == "active" and member["role"]["name"] == "member"
    resource = scim.get(f"/Users/{created['id']}").get_json()
    assert resource[PRODUCT]["linkPending"] is False
    assert resource[PRODUCT]["effectiveAccess"] is True
    assert session_state(platform, body["session"]["id"])["valid"] is True


def test_j7_a_claim_needs_the_same_email(client, platform, admin, scim, org, other_org, db):
    local_account(db, "p@acme.com", verified=True)
    created = scim.create_user("p@acme.com")
    assert created[PRODUCT]["linkPending"] is True
    verify_domain(platform, org.id, "acme.com")
    sso = Sso(platform, create_connection(admin, org.id, jit_mode="link_only"))
    refused(sso.login("p1", "someone.else@acme.com"), "not_provisioned")
    assert admin.member(created[PRODUCT]["userId"])["link_state"] == "pending_claim"


# --- seats and exclusive membership ------------------------------------------------------------


def test_no_free_seat_refuses_a_jit_creation_but_not_an_existing_member(
    acme, admin, platform, org, db
):
    first = acme.ok("s1", "first@acme.com")
    used = admin.call("GET", f"/organizations/{org.id}/seats").get_json()["used"]
    set_org(platform, org.id, seat_limit=used)
    with writes_nothing(db):
        refused(acme.login("s2", "second@acme.com"), "seat_limit_reached")
    assert acme.ok("s1", "first@acme.com")["user_id"] == first["user_id"]


def test_exclusive_membership_refuses_a_member_of_another_org(
    acme, client, platform, org, other_org, db
):
    other = Admin(client, other_org.management_key, other_org.id)
    invited = other.call(
        "POST", f"/organizations/{other_org.id}/invitations", {"email": "x@acme.com"}
    ).get_json()
    assert (
        platform.call(
            "POST", "/invitations/accept", {"token": invited["token"], "user": {}}
        ).status_code
        == 200
    )
    set_org(platform, org.id, exclusive_membership=True)
    with writes_nothing(db):
        refused(acme.login("s1", "x@acme.com"), "membership_conflict")


# --- §3.1: the preconditions are checked in order ------------------------------------------------


def test_order_disabled_connection_before_jit_disabled(acme, admin, org, db):
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    admin.call("POST", f"/organizations/{org.id}/sso-connections/{acme.connection_id}/disable")
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "sso_connection_disabled")


def test_order_disabled_connection_before_inactive_org(acme, admin, platform, org, db):
    admin.call("POST", f"/organizations/{org.id}/sso-connections/{acme.connection_id}/disable")
    set_org(platform, org.id, active=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "sso_connection_disabled")


def test_order_inactive_org_before_identity_lookup_and_jit(acme, admin, platform, org, db):
    acme.ok("s1", "linked@acme.com")
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    set_org(platform, org.id, active=False)
    with writes_nothing(db):
        refused(acme.login("s1", "linked@acme.com"), "organization_inactive")
        refused(acme.login("s2", "new@acme.com"), "organization_inactive")


def test_order_jit_disabled_before_email_checks(acme, admin, org, db):
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    with writes_nothing(db):
        refused(acme.login("s1"), "jit_disabled")
        refused(acme.login("s1", "u@evil.com", email_verified=False), "jit_disabled")


def test_order_email_missing_before_email_not_verified(acme, db):
    with writes_nothing(db):
        refused(acme.login("s1", email_verified=False), "email_missing")


def test_order_email_not_verified_before_domain(acme, db):
    with writes_nothing(db):
        refused(acme.login("s1", "u@evil.com", email_verified=False), "email_not_verified")


def test_order_domain_before_account_linking(acme, db):
    local_account(db, "u@evil.com", verified=False)
    with writes_nothing(db):
        refused(acme.login("s1", "u@evil.com"), "email_domain_not_verified")


def test_order_domain_before_default_role(acme, db):
    set_default_role_behind_the_validator(db, acme.connection_id, "builtin-admin")
    with writes_nothing(db):
        refused(acme.login("s1", "u@evil.com"), "email_domain_not_verified")


def test_order_a_found_identity_skips_the_jit_email_checks(acme, admin, org, db):
    """Step 3: (issuer, sub) is the key; steps 4–8 are for first logins only."""
    first = acme.ok("s1", "u@acme.com")
    patch_connection(admin, org.id, acme.connection_id, jit_enabled=False)
    for claims in (
        {"email": "renamed@other-domain.example"},
        {"email": "u@acme.com", "email_verified": False},
        {},
    ):
        body = acme.ok("s1", **claims)
        assert body["user_id"] == first["user_id"] and body["provisioned"] is False


def test_order_account_linking_before_membership_gates(acme, scim, admin, db):
    created = scim_member(scim, db, "u@acme.com", verified=False)
    assert admin.disable(created[PRODUCT]["userId"]).status_code == 200
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "account_link_required")


def test_order_identity_conflict_before_membership_gates(acme, admin, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    assert admin.disable(user_id).status_code == 200
    with writes_nothing(db):
        refused(acme.login("s2", "u@acme.com"), "sso_identity_conflict")


def test_order_user_disabled_before_membership_disabled(acme, admin, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    assert admin.disable(user_id).status_code == 200
    mark_user_disabled(db, user_id)
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "user_disabled")


def test_order_membership_disabled_before_membership_inactive(acme, scim, admin, db):
    created = scim_member(scim, db, "u@acme.com")
    acme.ok("s1", "u@acme.com")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert admin.disable(created[PRODUCT]["userId"]).status_code == 200
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_disabled")


def test_order_not_provisioned_before_seat_limit(acme, scim, admin, platform, org, db):
    scim.create_user("provisioned@acme.com")
    used = admin.call("GET", f"/organizations/{org.id}/seats").get_json()["used"]
    set_org(platform, org.id, seat_limit=used)
    with writes_nothing(db):
        refused(acme.login("s1", "stranger@acme.com"), "not_provisioned")


def test_order_membership_gates_before_default_role(acme, admin, db):
    user_id = acme.ok("s1", "u@acme.com")["user_id"]
    admin.remove(user_id)
    set_default_role_behind_the_validator(db, acme.connection_id, "builtin-admin")
    with writes_nothing(db):
        refused(acme.login("s1", "u@acme.com"), "membership_removed")
