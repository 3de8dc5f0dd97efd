"""SSO connections, verified domains and the Logto-shaped JIT configuration
(docs/api.md §3.6; docs/lifecycle.md §3.1 steps 7 and 10, rows S1–S2).

Reading of the spec where it leaves a choice:
* Row S1 "new SSO logins via C → sso_connection_disabled" covers a session the host registers
  with ``POST /sessions`` naming ``sso_connection_id=C`` as well as ``/sso/login``: both are
  a sign-in through C.
* Email-domain JIT (Logto's organization JIT email domains) runs when a person with a
  verified email on such a domain registers a session in the org, and gives the org's JIT
  role (the built-in Member when none is configured).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from scim_server.storage.models import User
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import assert_api_error

ISSUER = "https://idp.acme.example"


class FakeResolver:
    """DNS TXT answers the test controls; records every name asked for."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        return list(self.records.get(name, []))


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
def app_overrides(resolver) -> dict:
    """conftest's app, with the fake TXT resolver."""
    return {"TXT_RESOLVER": resolver}


def path(org_id: str, suffix: str = "") -> str:
    return f"/organizations/{org_id}{suffix}"


def claim(who: Admin, org_id: str, domain: str) -> dict:
    response = who.call("POST", path(org_id, "/domains"), {"domain": domain})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def manual_verify(platform: Admin, org_id: str, domain: str):
    return platform.call(
        "POST",
        path(org_id, f"/domains/{domain}/verify"),
        {"method": "manual", "reason": "customer cannot publish TXT records"},
    )


def verify_domain(platform: Admin, org_id: str, domain: str) -> None:
    claim(platform, org_id, domain)
    response = manual_verify(platform, org_id, domain)
    assert response.status_code == 200, response.get_json()


def domains(who: Admin, org_id: str) -> dict[str, dict]:
    response = who.call("GET", path(org_id, "/domains"))
    assert response.status_code == 200
    return {d["domain"]: d for d in response.get_json()["domains"]}


def create_connection(admin: Admin, org_id: str, **fields) -> str:
    body = {"name": f"Okta {uuid.uuid4().hex[:6]}", "jit_enabled": True, **fields}
    response = admin.call("POST", path(org_id, "/sso-connections"), body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def login(platform: Admin, connection_id: str, sub: str, email: str):
    claims = {"iss": ISSUER, "sub": sub, "email": email, "email_verified": True}
    return platform.call("POST", "/sso/login", {"connection_id": connection_id, "claims": claims})


def register_session(platform: Admin, user_id: str, org_id: str, method: str, **extra):
    body = {"user_id": user_id, "organization_id": org_id, "method": method, **extra}
    return platform.call("POST", "/sessions", body)


def session_state(platform: Admin, session_id: str) -> dict:
    response = platform.call("GET", f"/sessions/{session_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def disable(admin: Admin, org_id: str, connection_id: str, **body):
    return admin.call("POST", path(org_id, f"/sso-connections/{connection_id}/disable"), body)


def local_account(db, email: str, *, verified: bool) -> str:
    user = User(email=email, email_normalized=email.lower(), email_verified=verified)
    db.add(user)
    db.commit()
    return user.id


# --- default role (§3.1 step 10, validated at configuration) -----------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "builtin-owner", "builtin-admin"])
def test_a_privileged_default_role_is_refused_at_create(admin, org, role):
    response = admin.call(
        "POST", path(org.id, "/sso-connections"), {"name": "Okta", "default_role": role}
    )
    assert_api_error(response, 422, "jit_role_invalid")
    listed = admin.call("GET", path(org.id, "/sso-connections")).get_json()
    assert listed["sso_connections"] == []


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_privileged_default_role_is_refused_at_update(admin, org, role):
    connection = create_connection(admin, org.id, default_role="viewer")
    response = admin.call(
        "PATCH", path(org.id, f"/sso-connections/{connection}"), {"default_role": role}
    )
    assert_api_error(response, 422, "jit_role_invalid")
    [listed] = admin.call("GET", path(org.id, "/sso-connections")).get_json()["sso_connections"]
    assert listed["default_role_id"] == "builtin-viewer"


def test_default_role_follows_jit_roles_and_may_be_overridden_by_viewer_or_a_custom_role(
    admin, org
):
    """No override: null, which follows /jit/roles, else member (docs/lifecycle.md §3.5)."""
    created = admin.call("POST", path(org.id, "/sso-connections"), {"name": "A"}).get_json()
    assert created["default_role_id"] is None
    viewer = create_connection(admin, org.id, default_role="viewer")
    custom = admin.call("POST", path(org.id, "/roles"), {"name": "auditor"}).get_json()
    own = create_connection(admin, org.id, default_role=custom["id"])
    listed = {
        c["id"]: c["default_role_id"]
        for c in admin.call("GET", path(org.id, "/sso-connections")).get_json()["sso_connections"]
    }
    assert listed[viewer] == "builtin-viewer" and listed[own] == custom["id"]


def test_a_default_role_of_another_org_is_refused(client, admin, org, other_org):
    other = Admin(client, other_org.management_key, other_org.id)
    foreign = other.call("POST", path(other_org.id, "/roles"), {"name": "globex"}).get_json()
    response = admin.call(
        "POST", path(org.id, "/sso-connections"), {"name": "A", "default_role": foreign["id"]}
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] in ("jit_role_invalid", "role_invalid")


def test_connections_of_another_org_are_not_found(client, admin, org, other_org):
    other = Admin(client, other_org.management_key, other_org.id)
    theirs = create_connection(other, other_org.id)
    assert disable(admin, org.id, theirs).status_code == 404
    assert admin.call("POST", path(org.id, f"/sso-connections/{theirs}/enable")).status_code == 404
    assert admin.call("GET", path(other_org.id, "/sso-connections")).status_code == 404
    assert (
        admin.call("PATCH", path(org.id, f"/sso-connections/{theirs}"), {"name": "x"}).status_code
        == 404
    )


# --- row S1: disabling a connection ------------------------------------------------------


@pytest.fixture
def signed_in(platform, admin, scim, org, db) -> dict:
    """U, a SCIM-provisioned member, with a session through C and a password session."""
    verify_domain(platform, org.id, "acme.com")
    connection = create_connection(admin, org.id)
    created = scim.create_user("u@acme.com")
    user_id = created[PRODUCT]["userId"]
    db.execute(update(User).where(User.id == user_id).values(email_verified=True))
    db.commit()
    sso = login(platform, connection, "s1", "u@acme.com")
    assert sso.status_code == 200, sso.get_json()
    password = register_session(platform, user_id, org.id, "password")
    assert password.status_code == 201, password.get_json()
    return {
        "connection": connection,
        "user_id": user_id,
        "scim_id": created["id"],
        "sso_session": sso.get_json()["session"]["id"],
        "password_session": password.get_json()["id"],
    }


def test_case_32_s1_disable_revokes_only_the_connections_sessions(
    signed_in, admin, platform, scim, org, db
):
    member_before = admin.member(signed_in["user_id"])
    response = disable(admin, org.id, signed_in["connection"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["enabled"] is False
    assert response.get_json()["sessions_revoked"] == 1

    assert session_state(platform, signed_in["sso_session"])["valid"] is False
    assert session_state(platform, signed_in["password_session"]) == {
        "valid": True,
        "reason": None,
    }
    assert admin.member(signed_in["user_id"]) == member_before  # no membership change

    refused = login(platform, signed_in["connection"], "s1", "u@acme.com")
    assert_api_error(refused, 403, "sso_connection_disabled")

    patched = scim.patch(
        f"/Users/{signed_in['scim_id']}",
        [{"op": "replace", "path": "displayName", "value": "Still Managed"}],
    )
    assert patched.status_code == 200 and patched.get_json()["displayName"] == "Still Managed"
    deactivated = scim.patch(
        f"/Users/{signed_in['scim_id']}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert deactivated.status_code == 200 and deactivated.get_json()["active"] is False
    assert session_state(platform, signed_in["password_session"])["valid"] is False


def test_case_32_revoke_all_org_sessions_revokes_both(
    signed_in, admin, platform, client, org, other_org
):
    # a session in another org must not be touched
    other = Admin(client, other_org.management_key, other_org.id)
    invited = other.call(
        "POST", path(other_org.id, "/invitations"), {"email": "elsewhere@globex.example"}
    ).get_json()
    joined = platform.call("POST", "/invitations/accept", {"token": invited["token"], "user": {}})
    foreign = register_session(platform, joined.get_json()["user_id"], other_org.id, "password")
    assert foreign.status_code == 201

    response = disable(admin, org.id, signed_in["connection"], revoke_all_org_sessions=True)
    assert response.status_code == 200, response.get_json()
    assert session_state(platform, signed_in["sso_session"])["valid"] is False
    assert session_state(platform, signed_in["password_session"])["valid"] is False
    assert session_state(platform, foreign.get_json()["id"])["valid"] is True
    assert admin.member(signed_in["user_id"])["effective_access"] is True


def test_s2_re_enabling_revives_no_session(signed_in, admin, platform, org):
    disable(admin, org.id, signed_in["connection"])
    response = admin.call(
        "POST", path(org.id, f"/sso-connections/{signed_in['connection']}/enable")
    )
    assert response.status_code == 200 and response.get_json()["enabled"] is True
    assert session_state(platform, signed_in["sso_session"])["valid"] is False
    fresh_login = login(platform, signed_in["connection"], "s1", "u@acme.com")
    assert fresh_login.status_code == 200, fresh_login.get_json()
    assert fresh_login.get_json()["user_id"] == signed_in["user_id"]
    assert session_state(platform, fresh_login.get_json()["session"]["id"])["valid"] is True
    assert session_state(platform, signed_in["sso_session"])["valid"] is False


def test_disable_records_an_event(signed_in, admin, org):
    count = len(admin.events()["events"])
    disable(admin, org.id, signed_in["connection"])
    new = admin.events()["events"][count:]
    assert any(e["target"]["id"] == signed_in["connection"] for e in new), new


def test_s1_a_session_through_a_disabled_connection_cannot_be_registered(
    signed_in, admin, platform, org
):
    disable(admin, org.id, signed_in["connection"])
    response = register_session(
        platform,
        signed_in["user_id"],
        org.id,
        "sso",
        sso_connection_id=signed_in["connection"],
    )
    if response.status_code == 201:
        assert session_state(platform, response.get_json()["id"])["valid"] is False
    assert_api_error(response, 403, "sso_connection_disabled")


def test_unknown_connection_disable_is_not_found(admin, org):
    response = disable(admin, org.id, str(uuid.uuid4()))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] in ("sso_connection_not_found", "not_found")


# --- domains ----------------------------------------------------------------------------------


def test_claim_returns_the_txt_record_to_publish(admin, org):
    body = claim(admin, org.id, "Acme.COM")
    assert body["domain"] == "acme.com"
    assert body["verified"] is False and body["verified_at"] is None
    assert body["txt_record"]["name"] and body["txt_record"]["value"]
    assert domains(admin, org.id)["acme.com"]["verified"] is False


@pytest.mark.parametrize(
    "domain", ["gmail.com", "outlook.com", "GMAIL.com", "not a domain", "", "acme"]
)
def test_public_or_malformed_domains_are_refused(admin, org, domain):
    response = admin.call("POST", path(org.id, "/domains"), {"domain": domain})
    assert response.status_code in (400, 422), response.get_json()
    assert response.get_json()["error"]["code"] in ("domain_invalid", "validation_error")
    if domain and domain.lower() in ("gmail.com", "outlook.com"):
        assert_api_error(response, 422, "domain_invalid")
    assert domains(admin, org.id) == {}


def test_dns_verification_needs_the_exact_txt_value(admin, org, resolver):
    record = claim(admin, org.id, "acme.com")["txt_record"]
    verify = path(org.id, "/domains/acme.com/verify")

    assert admin.call("POST", verify, {}).status_code >= 400  # nothing published yet
    resolver.records[record["name"]] = ["v=spf1 -all", record["value"] + "x", "wrong"]
    assert admin.call("POST", verify, {"method": "dns"}).status_code >= 400
    resolver.records["_other." + "acme.com"] = [record["value"]]
    assert admin.call("POST", verify, {"method": "dns"}).status_code >= 400
    assert domains(admin, org.id)["acme.com"]["verified"] is False
    assert set(resolver.asked) == {record["name"]}

    resolver.records[record["name"]] = ["v=spf1 -all", record["value"]]
    response = admin.call("POST", verify, {"method": "dns"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["verified"] is True
    assert response.get_json()["verification_method"] == "dns"
    assert domains(admin, org.id)["acme.com"]["verified"] is True


def test_manual_verification_needs_the_platform_key_and_records_why(admin, platform, org):
    claim(admin, org.id, "acme.com")
    refused = admin.call(
        "POST", path(org.id, "/domains/acme.com/verify"), {"method": "manual", "reason": "x"}
    )
    assert_api_error(refused, 403, "platform_key_required")
    assert domains(admin, org.id)["acme.com"]["verified"] is False
    no_reason = platform.call(
        "POST", path(org.id, "/domains/acme.com/verify"), {"method": "manual"}
    )
    assert no_reason.status_code == 400
    assert domains(admin, org.id)["acme.com"]["verified"] is False

    response = platform.call(
        "POST",
        path(org.id, "/domains/acme.com/verify"),
        {"method": "manual", "reason": "ticket 4711"},
        acting="key",
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["verification_method"] == "manual"
    [event] = [e for e in admin.events()["events"] if e["type"] == "domain.verified"]
    assert event["reason"] == "ticket 4711"
    assert event["actor"] == {"type": "system", "id": "key:platform"}


def test_a_domain_verified_by_one_org_cannot_be_verified_by_another_manually(
    client, platform, org, other_org
):
    verify_domain(platform, org.id, "acme.com")
    other = Admin(client, PLATFORM_KEY, other_org.id)
    other.call("POST", path(other_org.id, "/domains"), {"domain": "acme.com"})
    assert_api_error(manual_verify(other, other_org.id, "acme.com"), 409, "domain_taken")
    assert domains(other, other_org.id).get("acme.com", {}).get("verified") is not True
    assert domains(platform, org.id)["acme.com"]["verified"] is True


def test_a_domain_verified_by_one_org_cannot_be_verified_by_another_by_dns(
    client, platform, org, other_org, resolver
):
    verify_domain(platform, org.id, "acme.com")
    other = Admin(client, other_org.management_key, other_org.id)
    claimed = other.call("POST", path(other_org.id, "/domains"), {"domain": "acme.com"})
    if claimed.status_code != 201:  # refusing the claim itself is also fine
        assert_api_error(claimed, 409, "domain_taken")
        return
    record = claimed.get_json()["txt_record"]
    resolver.records[record["name"]] = [record["value"]]
    response = other.call("POST", path(other_org.id, "/domains/acme.com/verify"), {})
    assert_api_error(response, 409, "domain_taken")
    assert domains(other, other_org.id)["acme.com"]["verified"] is False


def test_domains_of_another_org_are_not_visible(client, admin, org, other_org):
    claim(admin, org.id, "acme.com")
    other = Admin(client, other_org.management_key, other_org.id)
    assert other.call("GET", path(org.id, "/domains")).status_code == 404
    assert other.call("POST", path(org.id, "/domains/acme.com/verify"), {}).status_code == 404


# --- Logto-shaped JIT configuration ---------------------------------------------------------


def test_jit_email_domains_accept_only_verified_domains(admin, platform, org, client, other_org):
    base = path(org.id, "/jit/email-domains")
    assert admin.call("GET", base).get_json() == []
    claim(admin, org.id, "pending.example")
    for domain in ("pending.example", "never-claimed.example", "gmail.com"):
        response = admin.call("POST", base, {"emailDomain": domain})
        assert response.status_code in (400, 404, 409, 422), response.get_json()
    theirs = Admin(client, PLATFORM_KEY, other_org.id)
    verify_domain(theirs, other_org.id, "globex.example")
    assert admin.call("POST", base, {"emailDomain": "globex.example"}).status_code >= 400
    assert admin.call("GET", base).get_json() == []

    verify_domain(platform, org.id, "acme.com")
    verify_domain(platform, org.id, "acme.org")
    added = admin.call("POST", base, {"emailDomain": "acme.com"})
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["emailDomain"] == "acme.com"
    assert [d["emailDomain"] for d in admin.call("GET", base).get_json()] == ["acme.com"]

    refused = admin.call("PUT", base, {"emailDomains": ["acme.org", "pending.example"]})
    assert refused.status_code >= 400
    assert [d["emailDomain"] for d in admin.call("GET", base).get_json()] == ["acme.com"]

    assert admin.call("PUT", base, {"emailDomains": ["acme.org"]}).status_code == 204
    assert [d["emailDomain"] for d in admin.call("GET", base).get_json()] == ["acme.org"]
    assert admin.call("DELETE", f"{base}/acme.org").status_code == 204
    assert admin.call("GET", base).get_json() == []
    assert admin.call("DELETE", f"{base}/acme.org").status_code == 404


def test_jit_sso_connectors_switch_jit_per_connection(admin, platform, org, client, other_org):
    verify_domain(platform, org.id, "acme.com")
    base = path(org.id, "/jit/sso-connectors")
    off = create_connection(admin, org.id, jit_enabled=False)
    on = create_connection(admin, org.id)
    assert [c["id"] for c in admin.call("GET", base).get_json()] == [on]
    assert_api_error(login(platform, off, "s1", "one@acme.com"), 403, "jit_disabled")

    assert admin.call("POST", base, {"ssoConnectorIds": [off]}).status_code == 201
    assert sorted(c["id"] for c in admin.call("GET", base).get_json()) == sorted([on, off])
    assert login(platform, off, "s1", "one@acme.com").status_code == 200

    assert admin.call("PUT", base, {"ssoConnectorIds": [off]}).status_code == 204
    assert [c["id"] for c in admin.call("GET", base).get_json()] == [off]
    assert_api_error(login(platform, on, "s2", "two@acme.com"), 403, "jit_disabled")

    assert admin.call("DELETE", f"{base}/{off}").status_code == 204
    assert admin.call("GET", base).get_json() == []
    assert_api_error(login(platform, off, "s3", "three@acme.com"), 403, "jit_disabled")

    other = Admin(client, other_org.management_key, other_org.id)
    theirs = create_connection(other, other_org.id, jit_enabled=False)
    assert admin.call("POST", base, {"ssoConnectorIds": [theirs]}).status_code >= 400
    assert admin.call("PUT", base, {"ssoConnectorIds": [theirs]}).status_code >= 400
    assert admin.call("GET", base).get_json() == []
    assert other.call("GET", path(other_org.id, "/jit/sso-connectors")).get_json() == []


def test_jit_roles_refuse_privileged_roles(admin, org, client, other_org):
    base = path(org.id, "/jit/roles")
    assert admin.call("GET", base).get_json() == []
    for role in ("builtin-admin", "builtin-owner"):
        assert_api_error(
            admin.call("POST", base, {"organizationRoleIds": [role]}), 422, "jit_role_invalid"
        )
        assert_api_error(
            admin.call("PUT", base, {"organizationRoleIds": ["builtin-viewer", role]}),
            422,
            "jit_role_invalid",
        )
    assert admin.call("GET", base).get_json() == []
    other = Admin(client, other_org.management_key, other_org.id)
    foreign = other.call("POST", path(other_org.id, "/roles"), {"name": "globex"}).get_json()
    assert admin.call("POST", base, {"organizationRoleIds": [foreign["id"]]}).status_code == 422

    assert admin.call("POST", base, {"organizationRoleIds": ["builtin-viewer"]}).status_code == 201
    assert [r["id"] for r in admin.call("GET", base).get_json()] == ["builtin-viewer"]
    assert admin.call("PUT", base, {"organizationRoleIds": ["builtin-member"]}).status_code == 204
    assert [r["id"] for r in admin.call("GET", base).get_json()] == ["builtin-member"]
    assert admin.call("DELETE", f"{base}/builtin-member").status_code == 204
    assert admin.call("GET", base).get_json() == []


@pytest.fixture
def jit_domain(admin, platform, org) -> str:
    verify_domain(platform, org.id, "acme.com")
    response = admin.call("POST", path(org.id, "/jit/email-domains"), {"emailDomain": "acme.com"})
    assert response.status_code == 201, response.get_json()
    assert (
        admin.call(
            "POST", path(org.id, "/jit/roles"), {"organizationRoleIds": ["builtin-viewer"]}
        ).status_code
        == 201
    )
    return "acme.com"


def test_email_domain_jit_joins_a_verified_email_with_the_jit_role(
    jit_domain, admin, platform, org, db
):
    user_id = local_account(db, "Walker@ACME.com", verified=True)
    response = register_session(platform, user_id, org.id, "password")
    assert response.status_code == 201, response.get_json()
    assert session_state(platform, response.get_json()["id"])["valid"] is True
    member = admin.member(user_id)
    assert member["role"]["name"] == "viewer"
    assert member["effective_access"] is True and member["sites"] == []
    assert member["directory_state"] == "unmanaged"


def test_email_domain_jit_never_joins_an_unverified_email(jit_domain, admin, platform, org, db):
    user_id = local_account(db, "x@acme.com", verified=False)
    response = register_session(platform, user_id, org.id, "password")
    assert response.status_code == 403, response.get_json()
    assert admin.call("GET", path(org.id, f"/members/{user_id}")).status_code == 404


def test_email_domain_jit_ignores_other_domains_and_removed_domains(
    jit_domain, admin, platform, org, db
):
    elsewhere = local_account(db, "y@eu.acme.com", verified=True)
    assert register_session(platform, elsewhere, org.id, "password").status_code == 403
    assert admin.call("GET", path(org.id, f"/members/{elsewhere}")).status_code == 404

    assert admin.call("DELETE", path(org.id, "/jit/email-domains/acme.com")).status_code == 204
    later = local_account(db, "z@acme.com", verified=True)
    assert register_session(platform, later, org.id, "password").status_code == 403
    assert admin.call("GET", path(org.id, f"/members/{later}")).status_code == 404


def test_email_domain_jit_leaves_an_existing_member_alone(jit_domain, admin, platform, org, db):
    invited = admin.call(
        "POST", path(org.id, "/invitations"), {"email": "boss@acme.com", "role": "admin"}
    ).get_json()
    user_id = platform.call(
        "POST", "/invitations/accept", {"token": invited["token"], "user": {}}
    ).get_json()["user_id"]
    assert register_session(platform, user_id, org.id, "password").status_code == 201
    assert admin.member(user_id)["role"]["name"] == "admin"
