"""Admin rows of docs/lifecycle.md §2.5 (rows A1–A6) and their interplay with SCIM, through the
public interfaces: SCIM requests and management API calls."""

from __future__ import annotations

import pytest

from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error
from tests.scim_client import assert_scim_error


def person(scim, **extra) -> str:
    """A SCIM-provisioned member; returns the person's user id."""
    return scim.create_user(**extra)[PRODUCT]["userId"]


def open_session(platform, org_id, user_id) -> str:
    response = platform.call(
        "POST", "/sessions", {"user_id": user_id, "organization_id": org_id, "method": "sso"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def session_state(platform, session_id) -> dict:
    return platform.call("GET", f"/sessions/{session_id}").get_json()


def event_types(admin, user_id) -> list[str]:
    return [e["type"] for e in admin.events()["events"] if e["user_id"] == user_id]


def test_a1_disable_revokes_frees_the_seat_and_scim_still_says_active(scim, admin, platform, org):
    user_id = person(scim)
    it_admin = scim.create_user("it-admin@example.com")[PRODUCT]["userId"]
    assert admin.edit(it_admin, {"role": "admin"}).status_code == 200
    session = open_session(platform, org.id, user_id)
    before = admin.call("GET", f"/organizations/{org.id}/seats").get_json()["used"]
    response = admin.disable(user_id, reason="left the team", acting="it-admin@example.com")
    body = response.get_json()
    assert response.status_code == 200
    assert body["admin_override"]["state"] == "disabled"
    assert body["admin_override"]["reason"] == "left the team"
    assert body["effective_access"] is False
    assert body["denial_reasons"] == ["membership_disabled"]
    assert body["counts_as_seat"] is False
    assert session_state(platform, session) == {"valid": False, "reason": "admin_disabled"}
    assert admin.call("GET", f"/organizations/{org.id}/seats").get_json()["used"] == before - 1
    user = scim.get(f"/Users/{body['scim_id']}").get_json()
    assert user["active"] is True and user[PRODUCT]["adminDisabled"] is True
    last = [e for e in admin.events()["events"] if e["user_id"] == user_id][-1]
    assert last["type"] == "membership.override_set"
    assert last["actor"] == {"type": "admin", "id": it_admin}  # the resolved person


def test_a2_disabling_twice_is_a_no_op_without_event(scim, admin):
    user_id = person(scim)
    admin.disable(user_id)
    count = len(event_types(admin, user_id))
    assert admin.disable(user_id).status_code == 200
    assert len(event_types(admin, user_id)) == count


def test_u5_the_directory_never_lifts_an_admin_disable(scim, admin):
    created = scim.create_user()
    user_id = created[PRODUCT]["userId"]
    admin.disable(user_id)
    for _ in range(3):  # Entra's periodic reconciliation
        body = scim.patch(
            f"/Users/{created['id']}", [{"op": "Replace", "path": "active", "value": "True"}]
        ).get_json()
        assert body[PRODUCT]["adminDisabled"] is True and body[PRODUCT]["effectiveAccess"] is False
    assert admin.member(user_id)["admin_override"]["state"] == "disabled"


def test_case_16_override_survives_scim_delete_and_re_add(scim, admin):
    created = scim.create_user("sticky@example.com")
    user_id = created[PRODUCT]["userId"]
    admin.disable(user_id)
    scim.delete(f"/Users/{created['id']}")
    again = scim.create_user("sticky@example.com")
    assert again[PRODUCT]["userId"] == user_id
    assert again[PRODUCT]["adminDisabled"] is True and again["active"] is True
    assert admin.member(user_id)["directory_state"] == "active"


def test_a3_enable_of_a_directory_inactive_member_succeeds_without_access(scim, admin):
    created = scim.create_user()
    user_id = created[PRODUCT]["userId"]
    admin.disable(user_id)
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    body = admin.enable(user_id).get_json()
    assert body["admin_override"]["state"] == "none"
    assert body["effective_access"] is False
    assert body["denial_reasons"] == ["membership_inactive"]


def test_a3_enable_needs_a_free_seat_and_has_no_force(scim, admin, platform, org):
    first, second = person(scim), person(scim)
    admin.disable(second)
    platform.call("PATCH", f"/organizations/{org.id}", {"seat_limit": 1})
    assert_api_error(admin.enable(second), 409, "seat_limit_reached")
    assert admin.member(second)["admin_override"]["state"] == "disabled"
    forced = admin.call("POST", admin.member_path(second, "/enable"), {"force": True})
    assert_api_error(forced, 400, "force_not_supported")
    assert admin.member(first)["effective_access"] is True


def test_case_21_scim_reactivation_never_fails_for_seats_but_flags_the_org(
    scim, admin, platform, org
):
    person(scim)
    leaver = scim.create_user(active=False)
    platform.call("PATCH", f"/organizations/{org.id}", {"seat_limit": 1})
    response = scim.patch(
        f"/Users/{leaver['id']}", [{"op": "replace", "path": "active", "value": True}]
    )
    assert response.status_code == 200
    seats = admin.call("GET", f"/organizations/{org.id}/seats").get_json()
    assert seats == {
        "used": 2,
        "limit": 1,
        "members": 2,
        "pending_invitations": 0,
        "free": 0,
        "over_limit": True,
    }


def test_a4_grants_are_not_editable_while_the_directory_says_inactive(scim, admin, org):
    created = scim.create_user()
    user_id = created[PRODUCT]["userId"]
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert_api_error(admin.edit(user_id, {"role": "admin"}), 409, "membership_inactive")
    # ...but an admin-disabled (directory-active) member's grants are the admin's to edit
    other = person(scim)
    admin.disable(other)
    assert admin.edit(other, {"role": "viewer"}).get_json()["role"]["name"] == "viewer"


def test_case_4_inactive_keeps_grants_inert_and_reactivation_restores_them(scim, admin, org):
    created = scim.create_user()
    user_id = created[PRODUCT]["userId"]
    sites = [
        admin.call("POST", f"/organizations/{org.id}/sites", {"name": n}).get_json()["id"]
        for n in ("Paris", "Lyon")
    ]
    admin.edit(user_id, {"role": "admin", "sites": sites, "scope": {"countries": ["FR"]}})
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}])
    body = admin.member(user_id)
    assert body["role"]["name"] == "admin" and body["sites"] == [
        {"site": s, "role": "viewer"} for s in sorted(sites)
    ]
    assert body["scope"] == {"countries": ["FR"]} and body["effective_access"] is True


def test_a5_a6_admin_remove(scim, admin, org):
    managed = person(scim)
    assert_api_error(admin.remove(managed), 409, "managed_by_directory")
    created = scim.create_user()
    inactive = created[PRODUCT]["userId"]
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    body = admin.remove(inactive).get_json()
    assert body["end_reason"] == "admin_removed" and body["scim_id"] is None
    assert body["role"] is None and body["sites"] == []
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)


def test_p6_scim_re_add_after_admin_remove(scim, admin):
    created = scim.create_user("back.again@example.com", active=False)
    user_id = created[PRODUCT]["userId"]
    admin.remove(user_id)
    again = scim.create_user("back.again@example.com")
    assert again[PRODUCT]["userId"] == user_id and again[PRODUCT]["effectiveAccess"] is True
    assert admin.member(user_id)["role"]["name"] == "member"


def test_case_20_owner_guards(scim, admin, platform, org):
    owner = person(
        scim, userName="owner@example.com", emails=[{"value": "owner@example.com", "primary": True}]
    )
    helper = person(
        scim,
        userName="helper@example.com",
        emails=[{"value": "helper@example.com", "primary": True}],
    )
    assert admin.edit(owner, {"role": "owner"}).status_code == 200
    admin.edit(helper, {"role": "admin"})
    assert_api_error(admin.disable(owner, acting="owner@example.com"), 403, "cannot_disable_self")
    assert_api_error(admin.disable(owner, acting="helper@example.com"), 403, "insufficient_role")
    # an organisation key acts as an Admin: it may not act on an Owner (docs/api.md §1)
    assert_api_error(admin.disable(owner), 403, "insufficient_role")
    assert_api_error(platform.disable(owner), 409, "last_owner")
    assert_api_error(
        admin.edit(helper, {"role": "owner"}, acting="helper@example.com"),
        403,
        "role_not_assignable",
    )
    # the directory is not bound by the last-owner guard
    scim_id = admin.member(owner)["scim_id"]
    response = scim.patch(
        f"/Users/{scim_id}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert response.status_code == 200
    assert admin.member(owner)["effective_access"] is False
    alerts = [e for e in admin.events()["events"] if e["type"] == "organization.owner_missing"]
    assert [a["user_id"] for a in alerts] == [owner]


def test_members_list_filters_and_pages(scim, admin, org):
    ids = [person(scim) for _ in range(5)]
    admin.disable(ids[0])
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = admin.call("GET", f"/organizations/{org.id}/members{query}").get_json()
        seen += [m["user_id"] for m in page["members"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    disabled = admin.call("GET", f"/organizations/{org.id}/members?state=disabled").get_json()
    assert [m["user_id"] for m in disabled["members"]] == [ids[0]]
    email = admin.member(ids[1])["email"]
    by_email = admin.call("GET", f"/organizations/{org.id}/members?email={email.upper()}")
    assert [m["user_id"] for m in by_email.get_json()["members"]] == [ids[1]]


def test_event_feed_is_oldest_first_with_a_cursor(scim, admin):
    user_id = person(scim)
    admin.disable(user_id)
    admin.enable(user_id)
    everything = admin.events()["events"]
    ids = [int(e["id"]) for e in everything]
    assert ids == sorted(ids)
    first = admin.events(limit=2)
    rest = admin.events(after=first["next_cursor"])
    assert [e["id"] for e in first["events"] + rest["events"]] == [e["id"] for e in everything]
    assert event_types(admin, user_id)[-2:] == [
        "membership.override_set",
        "membership.override_cleared",
    ]
    assert admin.events(after=rest["next_cursor"])["events"] == []


def test_organizations_are_isolated_and_the_platform_sees_all(client, org, other_org, scim):
    user_id = person(scim)
    theirs = Admin(client, other_org.management_key, org.id)
    assert_api_error(theirs.call("GET", f"/organizations/{org.id}"), 404, "not_found")
    assert_api_error(theirs.disable(user_id), 404, "not_found")
    assert_api_error(theirs.call("GET", "/organizations"), 403, "platform_key_required")
    platform = Admin(client, PLATFORM_KEY)
    listed = platform.call("GET", "/organizations").get_json()["organizations"]
    assert {org.id, other_org.id} <= {o["id"] for o in listed}
    assert client.get("/api/v1/organizations").status_code == 401


def test_platform_creates_an_organization_with_working_tokens(client):
    platform = Admin(client, PLATFORM_KEY)
    response = platform.call("POST", "/organizations", {"name": "Initech", "seat_limit": 5})
    body = response.get_json()
    assert response.status_code == 201 and body["seat_limit"] == 5
    assert Scim(client, body["scim_token"]).get("/Users").status_code == 200
    own = Admin(client, body["management_key"], body["id"])
    assert own.call("GET", f"/organizations/{body['id']}").get_json()["name"] == "Initech"


@pytest.mark.parametrize("limit", [-1, 2**31, 6499148970780910875551072465715200, "5", True])
def test_a_seat_limit_outside_the_column_is_a_400_and_creates_nothing(client, limit):
    """Found by schemathesis: a 34-digit seat limit reached the database and was a 500."""
    platform = Admin(client, PLATFORM_KEY)
    before = platform.call("GET", "/organizations").get_json()
    response = platform.call("POST", "/organizations", {"name": "Huge", "seat_limit": limit})
    assert_api_error(response, 400, "validation_error")
    assert platform.call("GET", "/organizations").get_json() == before


def test_custom_roles_are_org_scoped(client, scim, admin, org, other_org):
    role = admin.call("POST", f"/organizations/{org.id}/roles", {"name": "Analyst"}).get_json()
    assert role["builtin"] is False and role["privileged"] is False
    user_id = person(scim)
    assert admin.edit(user_id, {"role": role["id"]}).get_json()["role"]["name"] == "Analyst"
    assert_api_error(
        admin.call("POST", f"/organizations/{org.id}/roles", {"name": "owner"}), 422, "role_invalid"
    )
    theirs = Admin(client, other_org.management_key, other_org.id)
    outsider = person(Scim(client, other_org.token))
    assert_api_error(theirs.edit(outsider, {"role": role["id"]}), 422, "role_invalid")


def test_sessions_follow_effective_access_and_never_revive(scim, admin, platform, org):
    created = scim.create_user()
    user_id = created[PRODUCT]["userId"]
    session = open_session(platform, org.id, user_id)
    assert session_state(platform, session) == {"valid": True, "reason": None}
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": False}])
    refused = platform.call(
        "POST", "/sessions", {"user_id": user_id, "organization_id": org.id, "method": "password"}
    )
    assert_api_error(refused, 403, "membership_inactive")
    scim.patch(f"/Users/{created['id']}", [{"op": "replace", "path": "active", "value": True}])
    assert session_state(platform, session)["valid"] is False  # a new login is needed
    fresh = open_session(platform, org.id, user_id)
    assert platform.call("DELETE", f"/sessions/{fresh}").status_code == 204
    assert session_state(platform, fresh) == {"valid": False, "reason": "signed_out"}
    assert_api_error(admin.call("POST", "/sessions", {}), 403, "platform_key_required")


def test_k1_directory_disconnect_is_not_a_mass_delete(client, scim, admin, platform, org):
    keeper = scim.create_user()
    leaver = scim.create_user(active=False)
    session = open_session(platform, org.id, keeper[PRODUCT]["userId"])
    assert_api_error(
        admin.call("POST", f"/organizations/{org.id}/directory/disconnect", {}),
        400,
        "confirmation_required",
    )
    response = admin.call(
        "POST", f"/organizations/{org.id}/directory/disconnect", {"confirm": True}
    )
    assert response.get_json() == {
        "disconnected": True,
        "members_changed": 2,
        "groups": "kept",
        "groups_kept": 0,
    }
    kept = admin.member(keeper[PRODUCT]["userId"])
    assert kept["directory_state"] == "unmanaged" and kept["effective_access"] is True
    assert admin.member(leaver[PRODUCT]["userId"])["end_reason"] == "directory_disconnected"
    assert session_state(platform, session)["valid"] is True  # nobody lost access
    assert scim.get("/Users").status_code == 401  # the SCIM token went with the directory


def test_scim_people_on_a_verified_domain_can_link_their_first_sso_login(
    scim, admin, platform, org
):
    """The org's IdP vouches for addresses on a domain the org verified (docs/lifecycle.md
    row P1 and §3.1 step 8)."""
    base = f"/organizations/{org.id}"
    admin.call("POST", f"{base}/domains", {"domain": "acme.com"})
    platform.call("POST", f"{base}/domains/acme.com/verify", {"method": "manual", "reason": "test"})
    created = scim.create_user("dana@acme.com")
    conn = admin.call(
        "POST", f"{base}/sso-connections", {"name": "Okta", "jit_enabled": True}
    ).get_json()
    response = platform.call(
        "POST",
        "/sso/login",
        {
            "connection_id": conn["id"],
            "claims": {
                "iss": "https://acme.okta.com",
                "sub": "00u-dana",
                "email": "dana@acme.com",
                "email_verified": True,
            },
        },
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["user_id"] == created[PRODUCT]["userId"] and body["provisioned"] is False
    assert body["linked_identity"] is True


def test_custom_roles_never_carry_admin_rights(admin, org):
    response = admin.call(
        "POST", f"/organizations/{org.id}/roles", {"name": "Superuser", "privileged": True}
    )
    assert_api_error(response, 422, "role_invalid")


def test_sso_connection_fields_are_checked_on_create(admin, org):
    response = admin.call(
        "POST",
        f"/organizations/{org.id}/sso-connections",
        {"name": "Okta", "trust_unverified_email": True},
    )
    assert_api_error(response, 400, "validation_error")
