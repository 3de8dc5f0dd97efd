"""The Directory page's SCIM tokens, provisioning log and group mappings through the
browser's HTTP (Flask's test client), checked against the SCIM and management APIs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.console.helpers import admin_link
from tests.api.console.helpers import csrf
from tests.api.console.helpers import make_admin
from tests.api.console.helpers import open_link
from tests.api.console.helpers import portal_link
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.sql_statements import statements_during

DIRECTORY = "/console/directory"
GROUPS = "/console/directory/groups"
LOG = "/console/directory/log"


@pytest.fixture
def portal(client, org) -> None:
    """A customer's IT admin on a set-up link that opens the directory section."""
    open_link(client, portal_link(client, org.id, ["directory"]))


@pytest.fixture
def boss(client, org, scim, admin) -> str:
    user_id = make_admin(scim, admin)
    open_link(client, admin_link(client, org.id, "boss@acme.com"))
    return user_id


def post(client: Any, page_url: str, action: str, data: dict[str, str]) -> Any:
    return client.post(action, data={"csrf_token": csrf(client.get(page_url)), **data})


def scim_tokens(admin: Any) -> list[dict[str, Any]]:
    path = f"/organizations/{admin.org_id}/scim-tokens"
    return list(admin.call("GET", path).get_json()["scim_tokens"])


def new_secret(html: str) -> str:
    found = re.search(r'<code id="new-token-secret">([^<]+)</code>', html)
    assert found, "no new token on the page"
    return found.group(1)


def test_a_token_is_shown_once_works_and_its_creation_names_the_portal_link(client, portal, admin):
    created = post(client, DIRECTORY, f"{DIRECTORY}/scim-tokens", {})
    assert created.status_code == 200  # rendered in the POST's answer: no URL carries it
    assert created.headers["Cache-Control"] == "no-store"
    secret = new_secret(created.get_data(as_text=True))
    assert Scim(client, secret).get("/Users").status_code == 200
    again = client.get(DIRECTORY).get_data(as_text=True)
    assert secret not in again and secret[:9] in again  # the prefix only, from now on
    [event] = [e for e in admin.events()["events"] if e["type"] == "token.created"][-1:]
    assert event["actor"]["id"].startswith("portal:")
    assert secret[:9] in [t["prefix"] for t in scim_tokens(admin)]


def test_revoking_after_a_confirmation_stops_the_idp_at_once(client, portal, admin):
    secret = new_secret(post(client, DIRECTORY, f"{DIRECTORY}/scim-tokens", {}).get_data(True))
    [token] = [t for t in scim_tokens(admin) if t["prefix"] == secret[:9]]
    confirm = f"{DIRECTORY}/scim-tokens/{token['id']}/revoke"
    assert "stops provisioning at once" in client.get(confirm).get_data(as_text=True)
    assert [t["revoked"] for t in scim_tokens(admin) if t["id"] == token["id"]] == [False]
    done = post(client, confirm, confirm, {})
    assert done.status_code == 303 and "token" not in done.headers["Location"].split("?")[0][-6:]
    idp = Scim(client, secret)
    assert idp.post("/Users", {"schemas": [], "userName": "x"}).status_code == 401
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Token revoked" in html and "revoked 20" in html
    revoked = [e for e in admin.events()["events"] if e["type"] == "token.revoked"]
    assert revoked and revoked[-1]["actor"]["id"].startswith("portal:")


def test_a_host_admins_token_names_them(client, boss, admin):
    secret = new_secret(post(client, DIRECTORY, f"{DIRECTORY}/scim-tokens", {}).get_data(True))
    assert [t["created_by"] for t in scim_tokens(admin) if t["prefix"] == secret[:9]] == [boss]
    assert "<td>boss@acme.com</td>" in client.get(DIRECTORY).get_data(as_text=True)


def test_another_organisations_token_cannot_be_revoked(client, portal, other_org):
    theirs = Admin(client, other_org.management_key, other_org.id)
    [token] = scim_tokens(theirs)
    path = f"{DIRECTORY}/scim-tokens/{token['id']}/revoke"
    assert client.get(path).status_code == 404
    assert post(client, DIRECTORY, path, {}).status_code == 404
    assert Scim(client, other_org.token).get("/Users").status_code == 200


def test_token_forms_refuse_a_missing_csrf_token(client, portal, admin):
    before = len(scim_tokens(admin))
    refused = client.post(f"{DIRECTORY}/scim-tokens", data={})
    assert refused.status_code == 403
    assert len(scim_tokens(admin)) == before


def test_the_log_highlights_a_failed_push_filters_and_shows_detail(client, portal, scim):
    scim.create_user("ann@acme.com")
    twice = scim.post("/Users", {"schemas": [USER], "userName": "ann@acme.com"})
    assert twice.status_code == 409
    html = client.get(LOG).get_data(as_text=True)
    assert f'<span class="no">failed {twice.status_code}</span>' in html
    assert 'class="failed"' in html and '<span class="ok">ok 201</span>' in html
    failures = client.get(LOG, query_string={"status": "4xx"}).get_data(as_text=True)
    assert "ok 201" not in failures and "failed" in failures
    by_name = client.get(LOG, query_string={"user_name": "ANN@acme.com"}).get_data(as_text=True)
    assert by_name.count("ann@acme.com</td>") == 2
    entry = re.search(r'href="(/console/directory/log/\d+)">POST /scim/v2/Users', html)
    assert entry
    ok_detail = client.get(re.findall(r'href="(/console/directory/log/\d+)"', html)[-1])
    assert "user.created" in ok_detail.get_data(as_text=True)
    failed = client.get(entry.group(1)).get_data(as_text=True)
    assert "the request failed, so nothing was changed" in failed
    assert "<code>uniqueness</code>" in failed


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ({"status": "abc"}, 400),
        ({"idp": "nobody"}, 400),
        ({"error": "x" * 41}, 400),
        ({"after": "not-a-cursor"}, 400),
    ],
)
def test_bad_log_filters_are_refused_with_a_reason(client, portal, args, status):
    refused = client.get(LOG, query_string=args)
    assert refused.status_code == status
    assert "Nothing was changed" in refused.get_data(as_text=True)


def test_unknown_log_entries_are_not_found(client, portal):
    assert client.get(f"{LOG}/999999").status_code == 404
    assert client.get(f"{LOG}/abc").status_code == 404


def test_a_set_up_link_sees_no_mappings(client, portal, org):
    assert "Groups and mappings" not in client.get(DIRECTORY).get_data(as_text=True)
    assert client.get(GROUPS).status_code == 403
    refused = post(client, DIRECTORY, "/console/directory/group-mappings", {"group": "eng"})
    assert refused.status_code == 403


def test_a_mapping_from_the_console_gives_pushed_members_the_role(client, boss, scim, admin):
    ann = scim.create_user("ann@acme.com")
    scim.create_group("Engineering", members=[ann["id"]])
    html = client.get(GROUPS).get_data(as_text=True)
    assert "<td>Engineering</td>" in html and '<td class="count">1</td>' in html
    done = post(client, GROUPS, "/console/directory/group-mappings", _by_name("engineering"))
    assert done.status_code == 303, done.get_data(as_text=True)
    assert admin.member(ann[PRODUCT]["userId"])["role"]["name"] == "viewer"
    bob = scim.create_user("bob@acme.com")
    groups = client.get(GROUPS).get_data(as_text=True)
    assert "role viewer" in groups and "Mapping created" not in groups
    [mapping] = admin.call("GET", f"/organizations/{admin.org_id}/group-mappings").get_json()[
        "group_mappings"
    ]
    assert mapping["created_by"] == boss  # audited as the acting member
    assert "by boss@acme.com</td>" in groups
    assert admin.member(bob[PRODUCT]["userId"])["role"]["name"] != "viewer"
    delete = f"/console/directory/group-mappings/{mapping['id']}/delete"
    assert post(client, GROUPS, delete, {}).status_code == 303
    assert admin.member(ann[PRODUCT]["userId"])["role"]["name"] != "viewer"


def _by_name(name: str, role: str = "viewer") -> dict[str, str]:
    return {"group_by": "display_name", "group": name, "grant": "role", "role": role}


@pytest.mark.parametrize(
    ("form", "status", "reason"),
    [
        (_by_name("eng", "admin"), 403, "Only an Owner can map a group to the Admin role"),
        (_by_name("eng", "owner"), 403, "never grants the Owner role"),
        ({"group_by": "id", "group": "nope", "role": "viewer"}, 422, "No group"),
        (_by_name(""), 400, "non-empty"),
        ({"group": "eng", "grant": "site", "site": "nowhere"}, 422, "No site"),
    ],
)
def test_mappings_are_guarded_exactly_as_the_api(client, boss, admin, form, status, reason):
    refused = post(client, GROUPS, "/console/directory/group-mappings", form)
    assert (refused.status_code, reason in refused.get_data(as_text=True)) == (status, True)
    path = f"/organizations/{admin.org_id}/group-mappings"
    assert admin.call("GET", path).get_json()["group_mappings"] == []


def test_an_owner_maps_the_admin_role(client, org, scim, admin):
    make_admin(scim, admin, "owner@acme.com", role="owner")
    open_link(client, admin_link(client, org.id, "owner@acme.com"))
    done = post(client, GROUPS, "/console/directory/group-mappings", _by_name("eng", "admin"))
    assert done.status_code == 303, done.get_data(as_text=True)


def test_the_form_offers_admin_only_to_an_owner(client, boss, org, scim, admin):
    assert '<option value="admin">' not in client.get(GROUPS).get_data(as_text=True)
    make_admin(scim, admin, "owner@acme.com", role="owner")
    open_link(client, admin_link(client, org.id, "owner@acme.com"))
    offered = client.get(GROUPS).get_data(as_text=True)
    assert '<option value="admin">' in offered and '<option value="owner">' not in offered


def test_a_site_mapping_names_the_site(client, boss, scim, admin):
    site = admin.call("POST", f"/organizations/{admin.org_id}/sites", {"name": "Berlin"})
    form = {"group_by": "display_name", "group": "berlin staff", "grant": "site"}
    form |= {"site": site.get_json()["id"], "site_role": "editor"}
    done = post(client, GROUPS, "/console/directory/group-mappings", form)
    assert done.status_code == 303, done.get_data(as_text=True)
    assert "site Berlin as editor" in client.get(GROUPS).get_data(as_text=True)
    ann = scim.create_user("ann@acme.com")
    scim.create_group("Berlin Staff", members=[ann["id"]])
    assert admin.member(ann[PRODUCT]["userId"])["sites"] == [
        {"site": site.get_json()["id"], "role": "editor"}
    ]


def test_a_bad_groups_cursor_is_refused(client, boss):
    refused = client.get(GROUPS, query_string={"groups_after": "AAAA"})
    assert refused.status_code == 400


def _groups_page_statements(client: Any, connection: Any) -> int:
    return len(statements_during(connection, lambda: client.get(GROUPS)))


def test_the_groups_page_costs_the_same_for_3_or_30_mapped_groups(client, boss, scim, connection):
    """Set-based: member counts and mappings come in one statement each per page."""
    members = [scim.create_user(f"p{i}@acme.com")["id"] for i in range(3)]

    def add_groups(first: int, last: int) -> None:
        for i in range(first, last):
            scim.create_group(f"team {i}", members=members)
            form = _by_name(f"team {i}")
            assert (
                post(client, GROUPS, "/console/directory/group-mappings", form).status_code == 303
            )

    add_groups(0, 3)
    few = _groups_page_statements(client, connection)
    add_groups(3, 30)
    assert _groups_page_statements(client, connection) == few
    html = client.get(GROUPS).get_data(as_text=True)
    assert html.count('<td class="count">3</td>') == 30


def test_a_link_without_the_directory_section_opens_none_of_it(client, org, admin):
    open_link(client, portal_link(client, org.id, ["sso"]))
    assert client.get(LOG).status_code == 403
    assert client.get(DIRECTORY).status_code == 403
    before = len(scim_tokens(admin))
    refused = post(client, "/console/sign-in", f"{DIRECTORY}/scim-tokens", {})
    assert refused.status_code == 403 and len(scim_tokens(admin)) == before
