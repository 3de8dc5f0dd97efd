"""Sign-in routing and policy (docs/api.md §3.1 and §3.7): ``GET /sso/discover`` and the
organisation setting ``sso_required`` with its Owner break-glass.

Reading of the spec where it leaves a choice:
* Discover lists an organisation whose verified domain matches even when it has no enabled
  connection (the host then knows SSO is not available and which organisation it is); a
  deactivated organisation routes nowhere, like an unclaimed domain.
* Under ``sso_required`` a session must name the enabled SSO connection it came through:
  method ``sso`` alone is an assertion anyone could make.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from scim_server.storage.models import User
from tests.api.admin.test_sso_connections import create_connection
from tests.api.admin.test_sso_connections import disable
from tests.api.admin.test_sso_connections import register_session
from tests.api.admin.test_sso_connections import verify_domain
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import assert_api_error


@pytest.fixture
def app_overrides() -> dict:
    """conftest's app; manual verification needs no DNS."""
    return {}


def discover(platform: Admin, email: str):
    return platform.call("GET", f"/sso/discover?email={email}")


def org_path(org_id: str) -> str:
    return f"/organizations/{org_id}"


# --- discover -----------------------------------------------------------------------------


def test_a_verified_domain_routes_to_its_enabled_connections(platform, admin, org):
    verify_domain(platform, org.id, "acme.com")
    okta = create_connection(admin, org.id, name="Okta")
    entra = create_connection(admin, org.id, name="Entra")
    disable(admin, org.id, entra)
    response = discover(platform, "Ada.Lovelace@ACME.com")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "domain": "acme.com",
        "organizations": [
            {
                "id": org.id,
                "name": "Acme",
                "sso_required": False,
                "sso_connections": [{"id": okta, "name": "Okta"}],
            }
        ],
    }


def test_unclaimed_unverified_and_inactive_answer_alike(client, platform, admin, org, other_org):
    other = Admin(client, PLATFORM_KEY, other_org.id)
    other.call("POST", f"/organizations/{other_org.id}/domains", {"domain": "globex.com"})
    create_connection(Admin(client, other_org.management_key, other_org.id), other_org.id)
    verify_domain(platform, org.id, "acme.com")
    create_connection(admin, org.id)
    assert platform.call("PATCH", org_path(org.id), {"active": False}).status_code == 200
    answers = {
        email: discover(platform, email).get_json()
        for email in ("a@nobody-claimed.com", "a@globex.com", "a@acme.com")
    }
    for email, answer in answers.items():
        assert answer == {"domain": email.split("@")[1], "organizations": []}, answer


@pytest.mark.parametrize("email", ["", "ada", "ada@", "@acme.com", "a@b@acme.com", "ada@acme"])
def test_a_malformed_email_is_a_400(platform, email):
    assert_api_error(discover(platform, email), 400, "validation_error")


def test_discover_needs_the_platform_key(admin, platform):
    assert_api_error(platform.call("GET", "/sso/discover"), 400, "validation_error")
    assert_api_error(discover(admin, "a@acme.com"), 403, "platform_key_required")


# --- sso_required -------------------------------------------------------------------------


@pytest.fixture
def people(platform, admin, scim, org, db) -> dict:
    """An Owner, an Admin and a member, SCIM-provisioned with verified emails, and an
    enabled SSO connection."""
    verify_domain(platform, org.id, "acme.com")
    ids = {}
    for role in ("owner", "admin", "member"):
        user_id = scim.create_user(f"{role}@acme.com")[PRODUCT]["userId"]
        if role != "member":
            assert admin.edit(user_id, {"role": role}).status_code == 200
        ids[role] = user_id
    db.execute(update(User).where(User.id.in_(ids.values())).values(email_verified=True))
    db.commit()
    ids["connection"] = create_connection(admin, org.id)
    return ids


def require_sso(who: Admin, org_id: str, **policy) -> dict:
    response = who.call("PATCH", org_path(org_id), {"sso_required": True, **policy})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_without_the_setting_any_method_signs_in(people, platform, org):
    assert register_session(platform, people["member"], org.id, "password").status_code == 201


def test_sso_required_refuses_other_methods_with_a_clear_code(people, platform, admin, org):
    shown = require_sso(admin, org.id)
    assert shown["sso_required"] is True and shown["sso_owner_break_glass"] is True
    for method in ("password", "email_code", "social"):
        refused = register_session(platform, people["member"], org.id, method)
        body = assert_api_error(refused, 403, "sso_required")
        assert "single sign-on" in body["error"]["message"]
    # method sso must name the connection it came through
    bare = register_session(platform, people["member"], org.id, "sso")
    assert_api_error(bare, 403, "sso_required")
    through = register_session(
        platform, people["member"], org.id, "sso", sso_connection_id=people["connection"]
    )
    assert through.status_code == 201, through.get_json()
    assert_api_error(
        register_session(platform, people["admin"], org.id, "password"), 403, "sso_required"
    )


def test_owners_break_glass_until_the_organisation_turns_it_off(people, platform, admin, org):
    require_sso(admin, org.id)
    owner = register_session(platform, people["owner"], org.id, "password")
    assert owner.status_code == 201, owner.get_json()
    shown = require_sso(admin, org.id, sso_owner_break_glass=False)
    assert shown["sso_owner_break_glass"] is False
    again = register_session(platform, people["owner"], org.id, "password")
    assert_api_error(again, 403, "sso_required")


def test_the_policy_change_is_an_event_naming_who(people, admin, org):
    require_sso(admin, org.id)
    [event] = [e for e in admin.events()["events"] if e["type"] == "organization.updated"]
    assert event["before"]["sso_required"] is False and event["after"]["sso_required"] is True
    assert event["actor"]["id"].startswith("key:")


@pytest.mark.parametrize("value", ["true", 1, None, [], {}])
def test_a_non_boolean_is_a_400_and_changes_nothing(admin, platform, org, value):
    for who, field in ((admin, "sso_required"), (platform, "sso_owner_break_glass")):
        response = who.call("PATCH", org_path(org.id), {field: value})
        body = assert_api_error(response, 400, "validation_error")
        assert field in body["error"]["message"]
    shown = admin.call("GET", org_path(org.id)).get_json()
    assert shown["sso_required"] is False and shown["sso_owner_break_glass"] is True


def test_unknown_organisation_fields_are_400_not_dropped(admin, platform, org):
    for who in (admin, platform):
        response = who.call("PATCH", org_path(org.id), {"sso_requird": True})
        body = assert_api_error(response, 400, "validation_error")
        assert "sso_requird" in body["error"]["message"]
    created = platform.call("POST", "/organizations", {"name": "Initech", "sso_requried": True})
    assert_api_error(created, 400, "validation_error")
    names = [o["name"] for o in platform.call("GET", "/organizations").get_json()["organizations"]]
    assert "Initech" not in names


def test_an_organisation_key_changes_only_its_sign_in_policy(admin, platform, org):
    refused = admin.call("PATCH", org_path(org.id), {"sso_required": True, "seat_limit": 3})
    assert_api_error(refused, 403, "platform_key_required")
    shown = admin.call("GET", org_path(org.id)).get_json()
    assert shown["seat_limit"] is None and shown["sso_required"] is False
    assert_api_error(
        admin.call("PATCH", org_path(org.id), {"sso_required": True}, acting=None),
        400,
        "acting_user_required",
    )


def test_an_organisation_can_be_created_requiring_sso(platform):
    created = platform.call("POST", "/organizations", {"name": "Initech", "sso_required": True})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["sso_required"] is True
