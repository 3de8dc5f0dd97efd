"""The round-trip rule (docs/api.md §1, "Round trips"): for every management resource with
a PATCH, what a GET shows can be sent back unchanged and answers 200 with nothing changed,
no event; a read-only field sent changed, or a field the resource lacks, is 400.

Resources here: organisations (with the platform key and with the organisation's own key),
members and SSO connections. SCIM tokens have no PATCH (their only change is revoke) and
the JIT settings are Logto-shaped lists replaced by ids, not representations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.admin.test_sso_connections import create_connection
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import assert_api_error


def round_trip(who: Admin, path: str) -> dict:
    """GET ``path``, PATCH it back unchanged; assert 200, the same body and no new event."""
    shown = who.call("GET", path).get_json()
    events = len(who.events()["events"])
    response = who.call("PATCH", path, shown)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == shown
    assert who.call("GET", path).get_json() == shown
    assert len(who.events()["events"]) == events
    return shown


def refuses(who: Admin, path: str, changes: dict[str, Any], status: int, code: str) -> None:
    before = who.call("GET", path).get_json()
    body = assert_api_error(who.call("PATCH", path, changes), status, code)
    assert next(iter(changes)) in body["error"]["message"]
    assert who.call("GET", path).get_json() == before


# --- organisations ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["platform", "admin"])
def test_an_organisation_round_trips(request, org, key):
    who: Admin = request.getfixturevalue(key)
    request.getfixturevalue("platform").call(
        "PATCH", f"/organizations/{org.id}", {"seat_limit": 10, "sso_required": True}
    )
    shown = round_trip(who, f"/organizations/{org.id}")
    assert shown["seat_limit"] == 10 and shown["sso_required"] is True


def test_an_organisations_read_only_fields_may_not_change(platform, org):
    path = f"/organizations/{org.id}"
    refuses(platform, path, {"id": "another"}, 400, "validation_error")
    refuses(platform, path, {"created_at": "2020-01-01T00:00:00Z"}, 400, "validation_error")
    refuses(platform, path, {"over_seat_limit": True}, 400, "validation_error")
    refuses(platform, path, {"colour": "blue"}, 400, "validation_error")


# --- members ------------------------------------------------------------------------------


@pytest.fixture
def member_path(scim, admin, client, org) -> str:
    """A SCIM-provisioned member with a role, a scope and a site."""
    user_id = scim.create_user("ada@acme.com")[PRODUCT]["userId"]
    site = admin.call("POST", f"/organizations/{org.id}/sites", {"name": "London HQ"}).get_json()
    changes = {"role": "viewer", "scope": {"countries": ["FR"]}, "sites": [site["id"]]}
    assert admin.edit(user_id, changes).status_code == 200
    return admin.member_path(user_id)


def test_a_member_round_trips(admin, member_path):
    shown = round_trip(admin, member_path)
    assert shown["role"]["name"] == "viewer" and shown["sites"]


def test_an_owner_round_trips_with_a_key_that_cannot_appoint_owners(admin, scim, org):
    owner = scim.create_user("owner@acme.com")[PRODUCT]["userId"]
    assert admin.edit(owner, {"role": "owner"}).status_code == 200  # the first Owner
    second = scim.create_user("second@acme.com")[PRODUCT]["userId"]
    assert_api_error(admin.edit(second, {"role": "owner"}), 403, "role_not_assignable")
    round_trip(admin, admin.member_path(owner))


def test_a_members_role_may_be_written_as_the_object_it_shows(admin, member_path):
    response = admin.call("PATCH", member_path, {"role": {"id": "builtin-member"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["role"] == {"id": "builtin-member", "name": "member"}
    refused = admin.call("PATCH", member_path, {"role": {"id": "builtin-member", "x": 1}})
    assert_api_error(refused, 422, "role_invalid")


def test_a_members_read_only_fields_may_not_change(admin, member_path):
    refuses(admin, member_path, {"email": "eve@acme.com"}, 400, "validation_error")
    refuses(admin, member_path, {"effective_access": False}, 400, "validation_error")
    refuses(admin, member_path, {"nickname": "Ada"}, 400, "validation_error")
    assert_api_error(admin.call("PATCH", member_path, {}), 400, "validation_error")


# --- SSO connections ----------------------------------------------------------------------


def connection_path(org_id: str, connection_id: str) -> str:
    return f"/organizations/{org_id}/sso-connections/{connection_id}"


def only(connection_id: str) -> Callable[[dict], dict]:
    """A connection is read from the list (there is no GET of one)."""
    return lambda page: next(c for c in page["sso_connections"] if c["id"] == connection_id)


def test_a_connection_round_trips(admin, org):
    connection = create_connection(admin, org.id, default_role="viewer", jit_mode="create")
    path = connection_path(org.id, connection)
    shown = admin.call("GET", f"/organizations/{org.id}/sso-connections").get_json()
    events = len(admin.events()["events"])
    response = admin.call("PATCH", path, only(connection)(shown))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == only(connection)(shown)
    assert len(admin.events()["events"]) == events


def test_a_connections_default_role_id_is_writable(admin, org):
    connection = create_connection(admin, org.id)
    path = connection_path(org.id, connection)
    response = admin.call("PATCH", path, {"default_role_id": "builtin-viewer"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["default_role_id"] == "builtin-viewer"
    assert_api_error(
        admin.call("PATCH", path, {"default_role_id": "builtin-admin"}), 422, "jit_role_invalid"
    )
    both = {"default_role_id": "builtin-member", "default_role": "viewer"}
    assert_api_error(admin.call("PATCH", path, both), 400, "validation_error")
    # null returns the connection to the organisation's JIT roles (docs/lifecycle.md §3.5)
    cleared = admin.call("PATCH", path, {"default_role_id": None})
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["default_role_id"] is None


def test_a_connections_read_only_fields_may_not_change(admin, org):
    connection = create_connection(admin, org.id)
    path = connection_path(org.id, connection)
    for changes in ({"enabled": False}, {"organization_id": "x"}, {"protocol": "saml"}):
        before = admin.call("GET", f"/organizations/{org.id}/sso-connections").get_json()
        body = assert_api_error(admin.call("PATCH", path, changes), 400, "validation_error")
        assert next(iter(changes)) in body["error"]["message"]
        assert admin.call("GET", f"/organizations/{org.id}/sso-connections").get_json() == before
