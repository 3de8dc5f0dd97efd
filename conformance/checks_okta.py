"""Okta request sequences (group ``okta``), from docs/idp-dialects.md §1 and the Okta SCIM 2.0
reference / SPEC test it summarises. Queries are encoded with %20, as Okta sends them."""

from __future__ import annotations

from .common import GROUP
from .common import USER
from .common import create_group
from .common import create_user
from .common import eq_filter
from .common import expect_error
from .common import expect_list
from .common import expect_members
from .common import get_group
from .common import get_user
from .common import group_name
from .common import ids
from .common import patch_ok
from .common import query
from .common import tag
from .common import track
from .common import user_name
from .registry import Context
from .registry import check
from .registry import expect

G = "okta"
REF = "Okta SCIM 2.0 reference"


def okta_body(t: str) -> dict:
    """The create body from the Okta reference (§1.3): password and groups: [] included."""
    name = user_name(t)
    return {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Test", "familyName": f"User {t}"},
        "emails": [{"primary": True, "value": name, "type": "work"}],
        "displayName": f"Test User {t}",
        "locale": "en-US",
        "externalId": f"00u{t}conf",
        "groups": [],
        "password": f"1mz{t}",
        "active": True,
    }


def lookup(ctx: Context, endpoint: str, attr: str, value: str) -> dict:
    return query(ctx, endpoint, eq_filter(attr, value), startIndex=1, count=100)


@check("okta.connection_test", G, f"docs/idp-dialects.md §1.2 Okta connection test / {REF}")
def connection_test(ctx: Context) -> None:
    create_user(ctx)  # so there is at least one user to list
    users = expect_list(ctx.client.get("/Users", params={"startIndex": 1, "count": 2}))
    resources = users.get("Resources") or []
    expect(
        1 <= len(resources) <= 2,
        f"GET /Users?startIndex=1&count=2 should return 1-2 users, got {len(resources)}",
    )
    expect(
        users.get("startIndex") == 1 and users.get("itemsPerPage") == len(resources),
        f"startIndex/itemsPerPage should be integers 1/{len(resources)}: {users.get('startIndex')!r}/"
        f"{users.get('itemsPerPage')!r}",
    )
    expect_list(ctx.client.get("/Groups", params={"startIndex": 1, "count": 100}))


@check(
    "okta.lookup_unknown_user_200_empty",
    G,
    f"docs/idp-dialects.md §1.3 step 1 / {REF}; Okta SPEC test",
)
def lookup_missing(ctx: Context) -> None:
    body = lookup(ctx, "/Users", "userName", user_name(tag()))
    expect(
        body["totalResults"] == 0 and not body.get("Resources"),
        f"existence check for an unknown userName should be an empty ListResponse, got {body}",
    )
    expect(
        body.get("startIndex") == 1,
        f"startIndex should be the integer 1, got {body.get('startIndex')!r}",
    )


@check(
    "okta.create_user_with_password_and_groups",
    G,
    f"docs/idp-dialects.md §1.3 step 2, §1.7 SPEC test / {REF}",
)
def create_okta_user(ctx: Context) -> None:
    t = tag()
    sent = okta_body(t)
    reply = ctx.client.post("/Users", sent)
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201 and isinstance(reply.body, dict) and reply.body.get("id"),
        "Okta's create (with password and groups: []) should answer 201 with the full user",
        reply,
    )
    res = reply.body
    expect("password" not in res, "the password must never be returned", reply)
    expect(
        (res.get("meta") or {}).get("resourceType") == "User",
        "meta.resourceType should be 'User'",
        reply,
    )
    expect(
        res.get("userName") == sent["userName"]
        and res.get("active") is True
        and (res.get("name") or {}).get("givenName") == "Test",
        "the response should echo the stored user",
        reply,
    )
    found = lookup(ctx, "/Users", "userName", sent["userName"]).get("Resources") or []
    expect(
        ids(found) == [res["id"]],
        f"the existence check should now find the created id, got {ids(found)}",
    )
    listed = found[0]
    for attr, value in (
        ("userName", listed.get("userName")),
        ("active", listed.get("active")),
        ("name.givenName", (listed.get("name") or {}).get("givenName")),
        ("name.familyName", (listed.get("name") or {}).get("familyName")),
        ("emails[].value", [e.get("value") for e in listed.get("emails") or []]),
    ):
        expect(
            value not in (None, "", []),
            f"the listed user should carry {attr} (SPEC test), got {listed}",
        )


@check(
    "okta.duplicate_create_409", G, f"docs/idp-dialects.md §1.3 (duplicate) / {REF}; Okta SPEC test"
)
def duplicate(ctx: Context) -> None:
    t = tag()
    first = ctx.client.post("/Users", okta_body(t))
    track(ctx, first, "/Users")
    expect(first.status == 201, "first create should answer 201", first)
    again = ctx.client.post("/Users", okta_body(t))
    track(ctx, again, "/Users")
    body = expect_error(again, 409)
    expect(body.get("detail"), "Okta shows the error detail: it should be non-empty", again)


@check(
    "okta.update_get_then_full_put",
    G,
    f"docs/idp-dialects.md §1.4 (OIN apps: GET then PUT) / {REF}",
)
def update_put(ctx: Context) -> None:
    user = create_user(ctx)
    current = get_user(ctx, user["id"])
    current["name"] = {**(current.get("name") or {}), "givenName": "Updated"}
    current.setdefault("groups", [])
    reply = ctx.client.put(f"/Users/{user['id']}", current)
    expect(
        reply.status == 200 and isinstance(reply.body, dict),
        "PUT of the GET body (with id, meta, groups) should answer 200 with the user",
        reply,
    )
    expect(
        (reply.body.get("name") or {}).get("givenName") == "Updated"
        and reply.body.get("id") == user["id"],
        "the PUT response should carry the updated user",
        reply,
    )
    expect(
        (get_user(ctx, user["id"]).get("name") or {}).get("givenName") == "Updated",
        "GET should show the update",
    )


def _set_active_okta(ctx: Context, uid: str, active: bool) -> None:
    reply = patch_ok(
        ctx,
        f"/Users/{uid}",
        {"op": "replace", "value": {"active": active}},
        what=f"Okta {'re' if active else 'de'}activation PATCH",
    )
    if reply.status == 200:
        expect(
            reply.body.get("active") is active,
            f"the PATCH response should show active={active}",
            reply,
        )


@check("okta.deactivate_user", G, f"docs/idp-dialects.md §1.5 / {REF} (Okta never DELETEs users)")
def deactivate(ctx: Context) -> None:
    user = create_user(ctx)
    _set_active_okta(ctx, user["id"], False)
    got = get_user(ctx, user["id"], "of a deactivated user")
    expect(got.get("active") is False, f"GET should show active false, got {got.get('active')!r}")
    found = lookup(ctx, "/Users", "userName", user["userName"]).get("Resources") or []
    expect(
        ids(found) == [user["id"]] and found[0].get("active") is False,
        f"a deactivated user must still be found by filter, with active false: {found}",
    )


@check("okta.reactivate_user", G, f"docs/idp-dialects.md §1.5 / {REF}")
def reactivate(ctx: Context) -> None:
    user = create_user(ctx)
    _set_active_okta(ctx, user["id"], False)
    _set_active_okta(ctx, user["id"], True)
    got = get_user(ctx, user["id"], "after reactivation")
    expect(
        got.get("active") is True,
        f"GET should show active true after reactivation, got {got.get('active')!r}",
    )


@check(
    "okta.deactivate_via_put",
    G,
    f"docs/idp-dialects.md §1.4 (AIW apps use PUT for everything) / {REF}",
)
def deactivate_put(ctx: Context) -> None:
    user = create_user(ctx)
    body = get_user(ctx, user["id"])
    body["active"] = False
    reply = ctx.client.put(f"/Users/{user['id']}", body)
    expect(
        reply.status == 200 and reply.body.get("active") is False,
        "PUT with active false should answer 200",
        reply,
    )
    expect(
        get_user(ctx, user["id"]).get("active") is False,
        "GET should show active false after the PUT",
    )


@check(
    "okta.error_bodies_404_401",
    G,
    "docs/idp-dialects.md §1.7 Okta SPEC test (Invalid user by id; current suite: Check status 401/404)",
)
def error_bodies(ctx: Context) -> None:
    for bogus in ("010101001010101011001010101011", "00919288221112222"):
        reply = ctx.client.get(f"/Users/{bogus}")
        body = expect_error(reply, 404)
        expect(body.get("detail"), f"404 for /Users/{bogus} should carry a non-empty detail", reply)
    reply = ctx.client.get(
        "/Users",
        params={"startIndex": 1, "count": 2},
        headers={"Authorization": f"Bearer okta-conformance-{tag()}"},
    )
    body = expect_error(reply, 401)
    expect(body.get("detail"), "the 401 error should carry a detail", reply)


@check(
    "okta.bare_filter_value_400",
    G,
    "docs/idp-dialects.md §1.7 Okta SPEC test 2016 (Username Case Sensitivity Check)",
)
def bare_filter(ctx: Context) -> None:
    reply = ctx.client.get("/Users", params={"filter": f"CONF{tag().upper()}"})
    expect(
        reply.status == 400,
        "a filter that is a bare value without operator should be rejected with 400",
        reply,
    )


# --------------------------------------------------------------------------- group push


@check(
    "okta.group_lookup_then_create",
    G,
    f"docs/idp-dialects.md §1.6 (group push: lookup, create members: []) / {REF}",
)
def group_create(ctx: Context) -> None:
    name = f"Test SCIMv2 {tag()}"
    body = lookup(ctx, "/Groups", "displayName", name)
    expect(
        body["totalResults"] == 0 and not body.get("Resources"),
        f"displayName lookup for an unknown group should be an empty ListResponse, got {body}",
    )
    reply = ctx.client.post("/Groups", {"schemas": [GROUP], "displayName": name, "members": []})
    track(ctx, reply, "/Groups")
    expect(
        reply.status == 201 and reply.body.get("id") and reply.body.get("displayName") == name,
        "group create with members: [] should answer 201 with the group",
        reply,
    )
    found = lookup(ctx, "/Groups", "displayName", name)
    expect(
        ids(found.get("Resources") or []) == [reply.body["id"]],
        "the displayName lookup should find the new group",
    )


@check(
    "okta.group_rename_with_id_in_value",
    G,
    f"docs/idp-dialects.md §1.6 (rename carries read-only id) / {REF}",
)
def group_rename(ctx: Context) -> None:
    t = tag()
    group = create_group(ctx, t)
    new_name = group_name(t, "renamed")
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": new_name}},
        what="Okta rename PATCH",
    )
    got = get_group(ctx, group["id"], "after rename")
    expect(
        got.get("displayName") == new_name and got.get("id") == group["id"],
        f"group should be renamed to {new_name!r} with the same id, got {got.get('displayName')!r}",
    )


@check(
    "okta.group_membership_remove_and_add",
    G,
    f"docs/idp-dialects.md §1.6 (membership PATCH) / {REF}",
)
def group_membership(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "remove", "path": f'members[value eq "{u1["id"]}"]'},
        {"op": "add", "path": "members", "value": [{"value": u2["id"], "display": u2["userName"]}]},
        what="Okta membership PATCH",
    )
    expect_members(ctx, group["id"], [u2["id"]], "remove u1 + add u2 in one PATCH")


@check(
    "okta.group_replace_all_members",
    G,
    f"docs/idp-dialects.md §1.6 (full push: replace members) / {REF}",
)
def group_replace_members(ctx: Context) -> None:
    t = tag()
    u1, u2, u3 = (create_user(ctx, t, x) for x in "abc")
    group = create_group(ctx, t, members=[u1["id"]])
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "replace", "path": "members", "value": [{"value": u2["id"]}, {"value": u3["id"]}]},
        what="Okta full member replace",
    )
    expect_members(ctx, group["id"], [u2["id"], u3["id"]], "replace of all members")


@check(
    "okta.group_put_members", G, f"docs/idp-dialects.md §1.6 (AIW apps: PUT /Groups/{{id}}) / {REF}"
)
def group_put(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    reply = ctx.client.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "id": group["id"],
            "displayName": group["displayName"],
            "members": [{"value": u2["id"]}],
        },
    )
    expect(reply.status == 200, "PUT /Groups/{id} with members should answer 200", reply)
    expect_members(ctx, group["id"], [u2["id"]], "PUT with members")


@check("okta.group_delete_204", G, f"docs/idp-dialects.md §1.6 (unlink: delete the group) / {REF}")
def group_delete(ctx: Context) -> None:
    group = create_group(ctx)
    reply = ctx.client.delete(f"/Groups/{group['id']}")
    expect(reply.status == 204, "DELETE /Groups/{id} should answer 204", reply)
    expect_error(ctx.client.get(f"/Groups/{group['id']}"), 404)
