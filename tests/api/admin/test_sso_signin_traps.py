"""SCIM + SSO sign-in without traps (docs/lifecycle.md §3.1, §3.5, §3.6).

- A member the directory provisioned signs in through any enabled connection, whatever
  its JIT setting: JIT governs creating people, not signing in known ones.
- Verifying a domain marks the organisation's members on it verified, so people
  provisioned before the verification link automatically afterwards.
- ``POST /sso/link`` completes a link ``/sso/login`` refused with ``account_link_required``.
- ``/jit/roles`` is the one JIT role setting; a connection's ``default_role`` overrides it.
"""

from __future__ import annotations

from sqlalchemy import select

from scim_server.storage.models import Event
from scim_server.storage.models import User
from tests.api.admin.test_jit import ABSENT
from tests.api.admin.test_jit import ISSUER
from tests.api.admin.test_jit import Sso
from tests.api.admin.test_jit import create_connection
from tests.api.admin.test_jit import local_account
from tests.api.admin.test_jit import patch_connection
from tests.api.admin.test_jit import refused
from tests.api.admin.test_jit import verify_domain
from tests.api.admin.test_jit import writes_nothing
from tests.scim_client import Scim


def user_id_of(created: dict) -> str:
    return created["urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"]["userId"]


def events(db, type_: str) -> list[Event]:
    db.expire_all()
    return list(db.scalars(select(Event).where(Event.type == type_).order_by(Event.id)))


def verified(db, user_id: str) -> bool:
    db.expire_all()
    return db.get_one(User, user_id).email_verified


def link(sso: Sso, user_id: str, sub: str, email=ABSENT, **extra):
    claims = {"iss": sso.issuer, "sub": sub, "email_verified": True, **extra}
    if email is not ABSENT:
        claims["email"] = email
    body = {"connection_id": sso.connection_id, "user_id": user_id, "claims": claims}
    return sso.platform.call("POST", "/sso/link", body)


# --- a provisioned member on a JIT-off connection ------------------------------------------------


def test_an_okta_provisioned_member_signs_in_through_a_jit_off_connection(
    scim, admin, platform, org, db
):
    verify_domain(platform, org.id, "acme.com")
    created = scim.create_user("ann@acme.com")
    sso = Sso(platform, create_connection(admin, org.id, jit_enabled=False))
    body = sso.ok("okta-ann", "ann@acme.com")
    assert body["user_id"] == user_id_of(created)
    assert (body["provisioned"], body["created_user"], body["linked_identity"]) == (
        False,
        False,
        True,
    )
    [linked] = events(db, "sso_identity.linked")
    assert linked.after["method"] == "automatic" and linked.user_id == body["user_id"]
    assert sso.ok("okta-ann", "ann@acme.com")["linked_identity"] is False  # found by (iss, sub)


def test_jit_off_still_creates_nobody(scim, admin, platform, org, db):
    verify_domain(platform, org.id, "acme.com")
    local_account(db, "outsider@acme.com", verified=True)
    local_account(db, "unverified@acme.com", verified=False)
    sso = Sso(platform, create_connection(admin, org.id, jit_enabled=False))
    with writes_nothing(db):
        refused(sso.login("s1", "stranger@acme.com"), "jit_disabled")
        refused(sso.login("s2", "outsider@acme.com"), "jit_disabled")  # an account, no member
        refused(sso.login("s3", "unverified@acme.com"), "jit_disabled")  # not account_link_required


# --- provisioned before the domain was verified ------------------------------------------------


def test_a_member_provisioned_before_domain_verification_links_after_it(
    scim, admin, platform, org, db
):
    created = scim.create_user("bo@acme.com")  # acme.com not verified yet: unverified email
    uid = user_id_of(created)
    outsider = local_account(db, "outsider@acme.com", verified=False)
    sso = Sso(platform, create_connection(admin, org.id))
    verify_domain(platform, org.id, "acme.com")
    assert verified(db, uid) is True
    assert verified(db, outsider) is False  # not a member: not this organisation's to vouch for
    [event] = events(db, "domain.verified")
    assert event.after["emails_verified"] == 1
    body = sso.ok("okta-bo", "bo@acme.com")
    assert body["user_id"] == uid and body["linked_identity"] is True


def test_verification_leaves_other_domains_and_ended_members_alone(scim, admin, platform, org, db):
    other = user_id_of(scim.create_user("cy@acme.com.evil.example"))
    gone = scim.create_user("dee@acme.com")
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    verify_domain(platform, org.id, "acme.com")
    assert verified(db, other) is False
    assert verified(db, user_id_of(gone)) is False


# --- completing a link --------------------------------------------------------------------------


def pending_link(client, scim, admin, platform, org, other_org):
    """Eve's account was created by Globex's directory before anyone verified acme.com, so
    its email is unverified; Acme verifies acme.com and her SSO login needs a link."""
    globex = Scim(client, other_org.token)
    uid = user_id_of(globex.create_user("eve@acme.com"))
    verify_domain(platform, org.id, "acme.com")
    sso = Sso(platform, create_connection(admin, org.id))
    refused(sso.login("okta-eve", "eve@acme.com"), "account_link_required")
    return sso, uid


def test_link_completion_links_the_signed_in_account_and_signs_in(
    client, scim, admin, platform, org, other_org, db
):
    sso, uid = pending_link(client, scim, admin, platform, org, other_org)
    response = link(sso, uid, "okta-eve", "eve@acme.com")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["user_id"], body["provisioned"], body["organization_id"]) == (uid, True, org.id)
    assert body["linked_identity"] is True
    assert body["session"]["id"] and body["profile"]["email"] == "eve@acme.com"
    assert verified(db, uid) is True
    [event] = events(db, "sso_identity.linked")
    assert event.after["method"] == "confirmed" and event.after["subject"] == "okta-eve"
    again = sso.ok("okta-eve", "eve@acme.com")  # from now on found by (issuer, subject)
    assert again["user_id"] == uid and again["linked_identity"] is False


def test_link_completion_refuses_what_automatic_linking_refuses(
    client, scim, admin, platform, org, other_org, db
):
    sso, uid = pending_link(client, scim, admin, platform, org, other_org)
    someone_else = local_account(db, "frank@acme.com", verified=False)
    with writes_nothing(db):
        refused(link(sso, someone_else, "okta-eve", "eve@acme.com"), "sso_link_email_mismatch")
        refused(
            link(sso, uid, "okta-eve", "eve@acme.com", email_verified=False), "email_not_verified"
        )
        refused(link(sso, uid, "okta-eve"), "email_missing")
        refused(link(sso, uid, "okta-eve", "eve@other.example"), "email_domain_not_verified")
        refused(link(sso, "no-such-user", "okta-eve", "eve@acme.com"), "not_found", 404)
        body = {"connection_id": sso.connection_id, "user_id": uid, "claims": {}, "extra": 1}
        refused(sso.platform.call("POST", "/sso/link", body), "validation_error", 400)
    # The identity already belongs to another account: never moved.
    other = Sso(platform, create_connection(admin, org.id))
    owner = other.ok("okta-grace", "grace@acme.com")["user_id"]
    assert owner != uid
    with writes_nothing(db):
        refused(link(other, uid, "okta-grace", "eve@acme.com"), "sso_identity_conflict")


def test_link_completion_on_a_jit_off_connection_still_needs_a_membership(
    client, scim, admin, platform, org, other_org, db
):
    sso, uid = pending_link(client, scim, admin, platform, org, other_org)
    patch_connection(admin, org.id, sso.connection_id, jit_enabled=False)
    with writes_nothing(db):
        refused(link(sso, uid, "okta-eve", "eve@acme.com"), "jit_disabled")


def test_link_completion_needs_the_platform_key(client, scim, admin, platform, org, other_org):
    sso, uid = pending_link(client, scim, admin, platform, org, other_org)
    body = {
        "connection_id": sso.connection_id,
        "user_id": uid,
        "claims": {"iss": ISSUER, "sub": "okta-eve", "email": "eve@acme.com"},
    }
    refused(admin.call("POST", "/sso/link", body), "platform_key_required")


# --- one JIT role setting ------------------------------------------------------------------------


def set_jit_role(admin, org_id: str, role: str) -> None:
    response = admin.call(
        "PUT", f"/organizations/{org_id}/jit/roles", {"organizationRoleIds": [role]}
    )
    assert response.status_code in (200, 201, 204), response.get_json()


def role_of(admin, user_id: str) -> str:
    return admin.member(user_id)["role"]["name"]


def test_sso_connector_jit_uses_jit_roles_unless_the_connection_overrides_it(admin, platform, org):
    verify_domain(platform, org.id, "acme.com")
    set_jit_role(admin, org.id, "viewer")
    follows = Sso(platform, create_connection(admin, org.id))
    overrides = Sso(platform, create_connection(admin, org.id, default_role="member"))
    assert role_of(admin, follows.ok("s1", "a@acme.com")["user_id"]) == "viewer"
    assert role_of(admin, overrides.ok("s2", "b@acme.com")["user_id"]) == "member"
    cleared = patch_connection(admin, org.id, overrides.connection_id, default_role=None)
    assert cleared["default_role_id"] is None
    assert role_of(admin, overrides.ok("s3", "c@acme.com")["user_id"]) == "viewer"


def test_without_jit_roles_a_connection_without_override_gives_member(admin, platform, org):
    verify_domain(platform, org.id, "acme.com")
    sso = Sso(platform, create_connection(admin, org.id))
    assert role_of(admin, sso.ok("s1", "a@acme.com")["user_id"]) == "member"
