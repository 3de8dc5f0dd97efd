"""Group mappings (docs/lifecycle.md §2.7) through the public APIs: Okta- and Entra-shaped
pushes over SCIM, mappings and overrides over the management API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.idp_samples import sample
from tests.idp_samples import sample_operations
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error


def person(scim: Scim, name: str | None = None) -> tuple[str, str]:
    """A SCIM-provisioned member: (SCIM id, user id)."""
    created = scim.create_user(name)
    return created["id"], created[PRODUCT]["userId"]


def site(admin: Admin, name: str) -> str:
    response = admin.call("POST", f"/organizations/{admin.org_id}/sites", {"name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def mappings_path(admin: Admin) -> str:
    return f"/organizations/{admin.org_id}/group-mappings"


def map_group(who: Admin, group: dict[str, str], **grant: Any) -> dict[str, Any]:
    response = who.call("POST", mappings_path(who), {"group": group, **grant})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def grants(admin: Admin, user_id: str) -> tuple[str | None, list[dict[str, str]]]:
    member = admin.member(user_id)
    return (member["role"] or {}).get("name"), member["sites"]


def synced(admin: Admin) -> list[str]:
    """The memberships that got a ``membership.grants_synced`` event, in order."""
    return [
        e["target"]["id"]
        for e in admin.events()["events"]
        if e["type"] == "membership.grants_synced"
    ]


def okta_group(scim: Scim, name: str) -> dict[str, Any]:
    body = sample("okta-create-group")
    body["displayName"] = name
    response = scim.post("/Groups", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_okta_push_applies_role_and_site_mapped_by_name_before_the_push(scim, admin, platform):
    london = site(admin, "London HQ")
    map_group(platform, {"display_name": "admin"}, role="admin")  # only an Owner maps Admin
    map_group(admin, {"display_name": "London HQ"}, site={"site": london, "role": "editor"})
    ann, ann_user = person(scim)
    bob, bob_user = person(scim)
    leaver, leaver_user = person(scim)
    admins, hq = okta_group(scim, "admin"), okta_group(scim, "London HQ")
    scim.patch(
        f"/Groups/{hq['id']}", [{"op": "add", "path": "members", "value": [{"value": leaver}]}]
    )
    ops = sample_operations(
        "okta-patch-group-members",
        removed=leaver,
        first=ann,
        first_display="Ann",
        second=bob,
        second_display="Bob",
    )
    assert scim.patch(f"/Groups/{hq['id']}", ops).status_code in (200, 204)
    assert scim.patch(
        f"/Groups/{admins['id']}", [{"op": "add", "path": "members", "value": [{"value": ann}]}]
    ).status_code in (200, 204)

    assert grants(admin, ann_user) == ("admin", [{"site": london, "role": "editor"}])
    assert grants(admin, bob_user) == ("member", [{"site": london, "role": "editor"}])
    assert grants(admin, leaver_user) == ("member", [])  # removed from the group: withdrawn
    member = admin.member(ann_user)
    assert member["grant_overrides"] == {"role": None, "sites": None}


def test_entra_push_by_group_id_and_removal_withdraws_the_grant(scim, admin):
    group = scim.create_group("Sales EMEA")
    map_group(admin, {"id": group["id"]}, role="viewer")
    user, user_id = person(scim)
    before = len(synced(admin))
    add = sample_operations("entra-patch-add-member-null-ref", member=user)
    assert scim.patch(f"/Groups/{group['id']}", add).status_code in (200, 204)
    assert grants(admin, user_id)[0] == "viewer"
    remove = sample_operations("entra-patch-remove-member-null-ref", member=user)
    assert scim.patch(f"/Groups/{group['id']}", remove).status_code in (200, 204)
    assert grants(admin, user_id)[0] == "member"
    events = synced(admin)[before:]
    assert len(events) == 2  # one event per change of this membership
    feed = [e for e in admin.events()["events"] if e["type"] == "membership.grants_synced"]
    assert feed[-1]["before"]["role"] != feed[-1]["after"]["role"]
    assert feed[-1]["reason"] == "group members changed" and feed[-1]["user_id"] == user_id


def test_highest_ranked_role_wins_and_sites_are_the_union(scim, admin, platform):
    paris, lyon = site(admin, "Paris"), site(admin, "Lyon")
    viewers, admins = scim.create_group("viewers"), scim.create_group("admins")
    managers = scim.create_group("paris-managers")
    map_group(admin, {"id": viewers["id"]}, role="viewer")
    map_group(platform, {"id": admins["id"]}, role="admin")
    map_group(admin, {"id": viewers["id"]}, site=paris)  # a plain id: the default site role
    map_group(admin, {"id": viewers["id"]}, site=lyon)
    map_group(admin, {"id": managers["id"]}, site={"site": paris, "role": "manager"})
    user, user_id = person(scim)
    for group in (viewers, admins, managers):
        scim.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": user}]}]
        )
    role, sites = grants(admin, user_id)
    assert role == "admin"
    assert sorted(sites, key=lambda s: s["site"]) == sorted(
        [{"site": paris, "role": "manager"}, {"site": lyon, "role": "viewer"}],
        key=lambda s: s["site"],
    )
    scim.patch(f"/Groups/{admins['id']}", [{"op": "remove", "path": f'members[value eq "{user}"]'}])
    scim.patch(
        f"/Groups/{managers['id']}", [{"op": "remove", "path": f'members[value eq "{user}"]'}]
    )
    role, sites = grants(admin, user_id)
    assert role == "viewer"
    assert {s["site"]: s["role"] for s in sites} == {paris: "viewer", lyon: "viewer"}


def test_admin_override_survives_group_changes_until_returned(scim, admin):
    group = scim.create_group("support")
    london = site(admin, "London")
    map_group(admin, {"id": group["id"]}, role="viewer")
    map_group(admin, {"id": group["id"]}, site=london)
    user, user_id = person(scim)
    edited = admin.edit(user_id, {"role": "member", "sites": []})
    assert edited.status_code == 200, edited.get_json()
    overrides = edited.get_json()["grant_overrides"]
    assert overrides["role"]["by"] == "key" and overrides["role"]["at"]
    assert overrides["sites"]["by"] == "key"
    scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": user}]}]
    )
    assert grants(admin, user_id) == ("member", [])  # the admin's choice holds

    back = admin.call(
        "POST", admin.member_path(user_id, "/return-to-directory"), {"grants": ["role"]}
    )
    assert back.status_code == 200, back.get_json()
    body = back.get_json()
    assert body["role"]["name"] == "viewer" and body["sites"] == []  # sites still overridden
    assert body["grant_overrides"]["role"] is None and body["grant_overrides"]["sites"]
    back = admin.call("POST", admin.member_path(user_id, "/return-to-directory"), {})
    assert back.get_json()["sites"] == [{"site": london, "role": "viewer"}]
    types = [e["type"] for e in admin.events()["events"] if e["user_id"] == user_id]
    assert types.count("membership.grants_returned") == 2


def test_rename_keeps_an_id_mapping_and_moves_a_name_mapping(scim, admin):
    by_id, by_name = scim.create_group("eng"), scim.create_group("ops")
    map_group(admin, {"id": by_id["id"]}, role="viewer")
    london = site(admin, "London")
    map_group(admin, {"display_name": "ops"}, site=london)
    user, user_id = person(scim)
    for group in (by_id, by_name):
        scim.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": user}]}]
        )
    assert grants(admin, user_id) == ("viewer", [{"site": london, "role": "viewer"}])
    for group, name in ((by_id, "engineering"), (by_name, "operations")):
        ops = sample_operations("okta-patch-group-rename", group=group["id"], display_name=name)
        assert scim.patch(f"/Groups/{group['id']}", ops).status_code in (200, 204)
    assert grants(admin, user_id) == ("viewer", [])  # the name no longer matches "ops"
    ops = sample_operations("okta-patch-group-rename", group=by_name["id"], display_name="OPS")
    scim.patch(f"/Groups/{by_name['id']}", ops)
    assert grants(admin, user_id)[1] == [{"site": london, "role": "viewer"}]  # case-insensitive


def test_delete_withdraws_and_drops_id_mappings_but_keeps_name_mappings(scim, admin):
    by_id, by_name = scim.create_group("a-team"), scim.create_group("b-team")
    id_mapping = map_group(admin, {"id": by_id["id"]}, role="viewer")
    london = site(admin, "London")
    name_mapping = map_group(admin, {"display_name": "b-team"}, site=london)
    user, user_id = person(scim)
    for group in (by_id, by_name):
        scim.patch(
            f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": user}]}]
        )
    assert scim.delete(f"/Groups/{by_id['id']}").status_code == 204
    assert scim.delete(f"/Groups/{by_name['id']}").status_code == 204
    assert grants(admin, user_id) == ("member", [])
    listed = admin.call("GET", mappings_path(admin)).get_json()["group_mappings"]
    assert [m["id"] for m in listed] == [name_mapping["id"]]
    assert listed[0]["matched_group"] is None
    assert id_mapping["id"] not in {m["id"] for m in listed}
    again = scim.create_group("b-team", members=[user])  # a later push picks the name up
    assert grants(admin, user_id)[1] == [{"site": london, "role": "viewer"}]
    assert again["id"] != by_name["id"]


def test_remap_applies_to_existing_members_and_deleting_withdraws(scim, admin):
    users = [person(scim) for _ in range(3)]
    group = scim.create_group("finance", members=[u for u, _ in users])
    overridden = users[2][1]
    admin.edit(overridden, {"role": "member"})
    before = len(synced(admin))
    mapping = map_group(admin, {"id": group["id"]}, role="viewer")
    assert [grants(admin, uid)[0] for _, uid in users] == ["viewer", "viewer", "member"]
    assert len(synced(admin)) == before + 2  # one per changed membership, none for the override
    response = admin.call("DELETE", f"{mappings_path(admin)}/{mapping['id']}")
    assert response.status_code == 204
    assert [grants(admin, uid)[0] for _, uid in users] == ["member"] * 3
    assert_api_error(
        admin.call("DELETE", f"{mappings_path(admin)}/{mapping['id']}"), 404, "not_found"
    )


def test_put_group_replacing_members_recomputes_both_sides(scim, admin):
    group = scim.create_group("tier1")
    map_group(admin, {"id": group["id"]}, role="viewer")
    (a, a_user), (b, b_user) = person(scim), person(scim)
    scim.patch(
        f"/Groups/{group['id']}", [{"op": "add", "path": "members", "value": [{"value": a}]}]
    )
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "tier1",
        "members": [{"value": b}],
    }
    assert scim.put(f"/Groups/{group['id']}", body).status_code == 200
    assert grants(admin, a_user)[0] == "member" and grants(admin, b_user)[0] == "viewer"


def test_removed_and_inactive_members_keep_no_effective_grants(scim, admin):
    group = scim.create_group("staff")
    map_group(admin, {"id": group["id"]}, role="viewer")
    (gone, gone_user), (idle, idle_user) = person(scim), person(scim)
    scim.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": gone}, {"value": idle}]}],
    )
    scim.patch(f"/Users/{idle}", [{"op": "replace", "path": "active", "value": False}])
    assert scim.delete(f"/Users/{gone}").status_code == 204
    removed = admin.member(gone_user)
    assert removed["role"] is None and removed["sites"] == []
    inactive = admin.member(idle_user)
    assert inactive["effective_access"] is False  # kept, but gives nothing (§2.4)
    # a later mapping change does not touch the ended membership
    map_group(admin, {"id": group["id"]}, site=site(admin, "Rome"))
    assert admin.member(gone_user)["sites"] == []


def test_groups_list_member_counts_and_mappings_paged(scim, admin):
    users = [person(scim)[0] for _ in range(3)]
    big = scim.create_group("big", members=users)
    small = scim.create_group("small", members=users[:1])
    mapping = map_group(admin, {"display_name": "BIG"}, role="viewer")
    path = f"/organizations/{admin.org_id}/groups"
    seen: dict[str, Any] = {}
    cursor = None
    while True:
        response = admin.call("GET", path + "?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["groups"]) <= 1
        seen.update({g["id"]: g for g in page["groups"]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[big["id"]]["member_count"] == 3 and seen[small["id"]]["member_count"] == 1
    assert [m["id"] for m in seen[big["id"]]["mappings"]] == [mapping["id"]]
    assert seen[big["id"]]["mappings"][0]["role"]["name"] == "viewer"
    assert seen[small["id"]]["mappings"] == []


def test_site_roles_builtin_and_custom_and_member_sites_accept_both_shapes(scim, admin):
    roles_path = f"/organizations/{admin.org_id}/site-roles"
    created = admin.call("POST", roles_path, {"name": "auditor", "rank": 15})
    assert created.status_code == 201, created.get_json()
    names = [r["name"] for r in admin.call("GET", roles_path).get_json()["site_roles"]]
    assert names == ["viewer", "auditor", "editor", "manager"]
    assert_api_error(admin.call("POST", roles_path, {"name": "editor"}), 422, "site_role_invalid")
    assert_api_error(
        admin.call("POST", roles_path, {"name": "x", "rank": "high"}), 422, "site_role_invalid"
    )
    paris, lyon = site(admin, "Paris"), site(admin, "Lyon")
    _, user_id = person(scim)
    edited = admin.edit(user_id, {"sites": [paris, {"site": lyon, "role": "auditor"}]})
    assert edited.status_code == 200, edited.get_json()
    assert {s["site"]: s["role"] for s in edited.get_json()["sites"]} == {
        paris: "viewer",
        lyon: "auditor",
    }
    # what the member shows can be sent back unchanged
    again = admin.edit(user_id, {"sites": edited.get_json()["sites"]})
    assert again.get_json()["sites"] == edited.get_json()["sites"]
    bad = admin.edit(user_id, {"sites": [{"site": paris, "role": "overlord"}]})
    assert_api_error(bad, 422, "site_role_invalid")
    assert_api_error(
        admin.edit(user_id, {"sites": [{"site": paris, "x": 1}]}), 422, "sites_invalid"
    )


def _fill(value: Any, site_id: str) -> Any:
    """``$site`` in a parametrised body stands for a site created by the test."""
    if isinstance(value, dict):
        return {k: _fill(v, site_id) for k, v in value.items()}
    return site_id if value == "$site" else value


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"group": {"display_name": "g"}, "role": "no-such-role"}, 422, "role_invalid"),
        ({"group": {"display_name": "g"}, "site": "no-such-site"}, 422, "sites_invalid"),
        (
            {"group": {"display_name": "g"}, "site": {"site": "$site", "role": "boss"}},
            422,
            "site_role_invalid",
        ),
        ({"group": {"display_name": "g"}, "role": "admin"}, 403, "role_not_assignable"),
        ({"group": {"id": "no-such-group"}, "role": "viewer"}, 422, "group_invalid"),
        ({"group": {"display_name": "g"}}, 400, "mapping_invalid"),
        (
            {"group": {"display_name": "g"}, "role": "viewer", "site": "$site"},
            400,
            "mapping_invalid",
        ),
        ({"group": {"display_name": ""}, "role": "viewer"}, 400, "mapping_invalid"),
        ({"group": {"id": "x", "display_name": "g"}, "role": "viewer"}, 400, "mapping_invalid"),
        ({"group": "g", "role": "viewer"}, 400, "mapping_invalid"),
        (
            {"group": {"display_name": "g"}, "role": "viewer", "colour": "red"},
            400,
            "validation_error",  # unknown fields: the one rule of every management write
        ),
    ],
)
def test_bad_mappings_are_refused_and_change_nothing(scim, admin, body, status, code):
    filled = _fill(body, site(admin, "London"))
    events = len(admin.events()["events"])
    assert_api_error(admin.call("POST", mappings_path(admin), filled), status, code)
    assert admin.call("GET", mappings_path(admin)).get_json()["group_mappings"] == []
    assert len(admin.events()["events"]) == events


def test_owner_is_never_mapped_and_duplicates_conflict(scim, admin, platform):
    owner = platform.call(
        "POST", mappings_path(platform), {"group": {"display_name": "g"}, "role": "owner"}
    )
    assert_api_error(owner, 403, "role_not_assignable")
    first = map_group(platform, {"display_name": "Admins"}, role="admin")
    duplicate = admin.call(
        "POST", mappings_path(admin), {"group": {"display_name": "admins"}, "role": "viewer"}
    )
    assert_api_error(duplicate, 409, "mapping_duplicate")
    # an Admin cannot remove the Owner's Admin mapping either
    refused = admin.call("DELETE", f"{mappings_path(admin)}/{first['id']}")
    assert_api_error(refused, 403, "role_not_assignable")
    assert platform.call("DELETE", f"{mappings_path(platform)}/{first['id']}").status_code == 204


def test_return_to_directory_refuses_bad_input_and_unknown_members(scim, admin):
    _, user_id = person(scim)
    path = admin.member_path(user_id, "/return-to-directory")
    assert_api_error(admin.call("POST", path, {"grants": ["scope"]}), 400, "validation_error")
    assert_api_error(admin.call("POST", path, {"grants": []}), 400, "validation_error")
    assert_api_error(admin.call("POST", path, {"what": 1}), 400, "validation_error")
    unknown = admin.call("POST", admin.member_path("nobody", "/return-to-directory"), {})
    assert_api_error(unknown, 404, "not_found")


def test_a_site_only_change_records_one_event_per_member_added(scim, admin):
    """Each member whose sites change gets its event, even when others already hold the site."""
    group = scim.create_group("rome-office")
    map_group(admin, {"id": group["id"]}, site=site(admin, "Rome"))
    users = [person(scim) for _ in range(3)]
    before = len(synced(admin))
    for scim_id, _ in users:
        add = sample_operations("entra-patch-add-member-null-ref", member=scim_id)
        assert scim.patch(f"/Groups/{group['id']}", add).status_code in (200, 204)
    memberships = {admin.member(uid)["user_id"] for _, uid in users}
    events = [e for e in admin.events()["events"] if e["type"] == "membership.grants_synced"]
    assert len(synced(admin)) - before == 3
    assert {e["user_id"] for e in events[before:]} == memberships


def test_invitations_carry_sites_with_site_roles(admin, platform):
    paris, lyon = site(admin, "Paris"), site(admin, "Lyon")
    sites = [paris, {"site": lyon, "role": "manager"}]
    created = admin.call(
        "POST",
        f"/organizations/{admin.org_id}/invitations",
        {"email": "carol@acme.com", "role": "viewer", "sites": sites},
    )
    assert created.status_code == 201, created.get_json()
    expected = sorted(
        [{"site": paris, "role": "viewer"}, {"site": lyon, "role": "manager"}],
        key=lambda s: s["site"],
    )
    assert created.get_json()["sites"] == expected
    accepted = platform.call(
        "POST", "/invitations/accept", {"token": created.get_json()["token"], "user": {}}
    )
    assert accepted.status_code == 200, accepted.get_json()
    member = admin.member(accepted.get_json()["user_id"])
    assert member["sites"] == expected
    bad = admin.call(
        "POST",
        f"/organizations/{admin.org_id}/invitations",
        {"email": "dan@acme.com", "sites": [{"site": paris, "role": "boss"}]},
    )
    assert_api_error(bad, 422, "site_role_invalid")
