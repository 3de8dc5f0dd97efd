"""Microsoft Entra ID request shapes (group ``entra``), from docs/idp-dialects.md §2 and the
Microsoft Learn SCIM pages / SCIM Validator runs it summarises."""

from __future__ import annotations

from .common import ENTERPRISE
from .common import GROUP
from .common import USER
from .common import create_group
from .common import create_user
from .common import email_values
from .common import eq_filter
from .common import expect_error
from .common import expect_members
from .common import ext
from .common import get_group
from .common import get_user
from .common import group_name
from .common import ids
from .common import patch
from .common import patch_ok
from .common import query
from .common import random_id
from .common import tag
from .common import track
from .common import user_name
from .registry import Context
from .registry import check
from .registry import expect
from .registry import fail

G = "entra"
LEARN = "Microsoft Learn: Develop and plan provisioning for a SCIM endpoint"
COMPAT = "Microsoft Learn: Known issues with SCIM 2.0 compliance"
VALIDATOR = "Microsoft SCIM Validator runs (pranems/SCIMServer)"
MANAGER = f"{ENTERPRISE}:manager"


def entra_body(t: str) -> dict:
    """The create body of the Entra tutorial (§2.4): meta, roles: [] and the enterprise extension."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": random_id(),
        "userName": user_name(t),
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name(t)}],
        "meta": {"resourceType": "User"},
        "roles": [],
        "name": {
            "formatted": "givenName familyName",
            "familyName": f"Family{t}",
            "givenName": "Given",
        },
        ENTERPRISE: {"employeeNumber": f"E{t}", "department": "Conformance"},
    }


def _user_after(ctx: Context, uid: str, *ops: dict, what: str) -> dict:
    patch_ok(ctx, f"/Users/{uid}", *ops, what=what)
    return get_user(ctx, uid, f"after {what}")


def _manager_value(user: dict):
    manager = ext(user, ENTERPRISE).get("manager")
    return manager.get("value") if isinstance(manager, dict) else manager


# --------------------------------------------------------------------------- queries


@check(
    "entra.test_connection_random_guid", G, f"docs/idp-dialects.md §2.3 / {LEARN} (Test Connection)"
)
def test_connection(ctx: Context) -> None:
    body = query(ctx, "/Users", eq_filter("userName", random_id()))
    expect(
        body["totalResults"] == 0 and not body.get("Resources"),
        f"a filter on a random GUID userName should be 200 with an empty ListResponse, got {body}",
    )


@check(
    "entra.filter_form_encoded_plus",
    G,
    "docs/idp-dialects.md §2.3 (azure-docs#11784, validator captures)",
)
def form_encoded(ctx: Context) -> None:
    user = create_user(ctx)
    for attr in ("externalId", "userName"):
        value = user[attr].replace("@", "%40")
        reply = ctx.client.get(f"/Users?filter={attr}+eq+%22{value}%22")
        body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
        expect(
            ids(body.get("Resources") or []) == [user["id"]],
            f"filter={attr}+eq+%22…%22 ('+' as space) should find exactly the user",
            reply,
        )


@check(
    "entra.filter_existing_different_case",
    G,
    f"docs/idp-dialects.md §0 quirk 14 / {VALIDATOR} (users and groups)",
)
def different_case(ctx: Context) -> None:
    user = create_user(ctx)
    body = query(ctx, "/Users", eq_filter("userName", user["userName"].upper()))
    expect(
        ids(body.get("Resources") or []) == [user["id"]],
        "userName eq with different case should find the user",
    )
    group = create_group(ctx)
    body = query(
        ctx,
        "/Groups",
        eq_filter("displayName", group["displayName"].upper()),
        excludedAttributes="members",
    )
    expect(
        ids(body.get("Resources") or []) == [group["id"]],
        "displayName eq with different case should find the group",
    )


@check(
    "entra.filter_unquoted_value",
    G,
    "docs/idp-dialects.md §2.4, §5 (tutorial sample externalId eq jyoung: lenient or 400 invalidFilter)",
)
def unquoted(ctx: Context) -> None:
    user = create_user(ctx)
    reply = ctx.client.get("/Users", params={"filter": f"externalId eq {user['externalId']}"})
    if reply.status == 400:
        expect_error(reply, 400, "invalidFilter")
        return
    expect(
        reply.status == 200 and isinstance(reply.body, dict),
        "unquoted value: expected 200 or 400 invalidFilter",
        reply,
    )
    expect(
        ids(reply.body.get("Resources") or []) == [user["id"]],
        "a lenient server must match the unquoted value exactly (never widen the result)",
        reply,
    )


# --------------------------------------------------------------------------- create


@check("entra.create_user_with_meta_roles_enterprise", G, f"docs/idp-dialects.md §2.4 / {LEARN}")
def create_entra_user(ctx: Context) -> None:
    t = tag()
    reply = ctx.client.post("/Users", entra_body(t))
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201 and isinstance(reply.body, dict) and reply.body.get("id"),
        "Entra's create body (meta, roles: [], enterprise extension) should answer 201",
        reply,
    )
    got = get_user(ctx, reply.body["id"])
    enterprise = ext(got, ENTERPRISE)
    expect(
        enterprise.get("employeeNumber") == f"E{t}"
        and enterprise.get("department") == "Conformance",
        f"enterprise extension attributes should be stored, got {enterprise}",
    )
    expect(ENTERPRISE in (got.get("schemas") or []), f"schemas should list {ENTERPRISE}")
    expect(
        (got.get("meta") or {}).get("resourceType") == "User", "meta.resourceType should be 'User'"
    )


@check(
    "entra.string_boolean_primary_in_create",
    G,
    "docs/idp-dialects.md §5 (booleans as strings) / validator",
)
def string_primary(ctx: Context) -> None:
    t = tag()
    body = entra_body(t)
    body["emails"][0]["primary"] = "True"
    reply = ctx.client.post("/Users", body)
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201, 'a create with emails[].primary "True" should be accepted (201)', reply
    )
    primary = [e.get("primary") for e in get_user(ctx, reply.body["id"]).get("emails") or []]
    expect(primary == [True], f'primary "True" should be stored as the boolean true, got {primary}')


# --------------------------------------------------------------------------- user PATCH shapes


@check(
    "entra.patch_capitalised_ops", G, f"docs/idp-dialects.md §2.5 / {LEARN} (Add, Replace, Remove)"
)
def capitalised_ops(ctx: Context) -> None:
    user = create_user(ctx, title="Old title")
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "Replace", "path": "displayName", "value": "Replaced Name"},
        {"op": "Remove", "path": "title"},
        what="PATCH with Add/Replace/Remove",
    )
    expect(got.get("nickName") == "Babs", f"'Add' nickName not applied: {got.get('nickName')!r}")
    expect(
        got.get("displayName") == "Replaced Name",
        f"'Replace' displayName not applied: {got.get('displayName')!r}",
    )
    expect(got.get("title") in (None, ""), f"'Remove' title not applied: {got.get('title')!r}")


def _active_sequence(ctx: Context, false_value: str, true_value: str) -> None:
    user = create_user(ctx)
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Replace", "path": "active", "value": false_value},
        what=f'Replace active "{false_value}"',
    )
    expect(
        got.get("active") is False,
        f'active "{false_value}" should be stored as boolean false, got {got.get("active")!r}',
    )
    found = query(ctx, "/Users", eq_filter("userName", user["userName"])).get("Resources") or []
    expect(ids(found) == [user["id"]], "a disabled user must still be returned by filter")
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Replace", "path": "active", "value": true_value},
        what=f'Replace active "{true_value}"',
    )
    expect(
        got.get("active") is True,
        f'active "{true_value}" should be stored as boolean true, got {got.get("active")!r}',
    )


@check(
    "entra.active_string_booleans",
    G,
    f"docs/idp-dialects.md §0 quirk 5, §2.5 / {COMPAT}; SCIMReferenceCode#21; lowercase: scimmy#86, keycloak#119",
)
def string_booleans(ctx: Context) -> None:
    _active_sequence(ctx, "False", "True")
    _active_sequence(ctx, "false", "true")


@check(
    "entra.pathless_replace_dotted_and_urn_keys",
    G,
    f"docs/idp-dialects.md §0 quirk 6, §2.5 / {COMPAT} (aadOptscim062020)",
)
def dotted_keys(ctx: Context) -> None:
    user = create_user(ctx)
    value = {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "name.familyName": "Unua",
        f"{ENTERPRISE}:employeeNumber": "Aklq",
    }
    got = _user_after(
        ctx, user["id"], {"op": "replace", "value": value}, what="path-less replace with path keys"
    )
    name = got.get("name") or {}
    expect(
        got.get("displayName") == "Bjfe", f"displayName not replaced: {got.get('displayName')!r}"
    )
    expect(
        name.get("givenName") == "Kkom" and name.get("familyName") == "Unua",
        f"name.* keys not applied: {name}",
    )
    expect(
        ext(got, ENTERPRISE).get("employeeNumber") == "Aklq",
        f"URN-qualified employeeNumber key not applied: {ext(got, ENTERPRISE)}",
    )
    stray = [k for k in got if "." in k and not k.startswith("urn:")]
    expect(not stray, f"dotted keys must be applied as paths, not stored as attributes: {stray}")


@check("entra.replace_work_email_value", G, f"docs/idp-dialects.md §0 quirk 7, §2.5 / {LEARN}")
def work_email(ctx: Context) -> None:
    t = tag()
    home = f"home-{t}@example.org"
    user = create_user(
        ctx,
        t,
        emails=[
            {"value": user_name(t), "type": "work", "primary": True},
            {"value": home, "type": "home"},
        ],
    )
    new = f"new-{t}@example.com"
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new},
        what='Replace emails[type eq "work"].value',
    )
    expect(
        email_values(got, "work") == [new],
        f"work email should be replaced in place, got {got.get('emails')}",
    )
    expect(
        email_values(got, "home") == [home],
        f"home email must be unchanged, got {got.get('emails')}",
    )


@check(
    "entra.default_client_multi_replace",
    G,
    f"docs/idp-dialects.md §2.5 (one Replace per attribute) / {COMPAT}",
)
def multi_replace(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    ops = [
        ("displayName", "Multi Name"),
        ('emails[type eq "work"].value', f"multi-{t}@example.com"),
        ("name.givenName", "Multi"),
        ("name.familyName", "Replace"),
        ("externalId", f"multi-ext-{t}"),
        (f"{ENTERPRISE}:employeeNumber", f"M{t}"),
    ]
    got = _user_after(
        ctx,
        user["id"],
        *({"op": "Replace", "path": p, "value": v} for p, v in ops),
        what="six Replace operations",
    )
    seen = [
        got.get("displayName"),
        email_values(got, "work"),
        (got.get("name") or {}).get("givenName"),
        (got.get("name") or {}).get("familyName"),
        got.get("externalId"),
        ext(got, ENTERPRISE).get("employeeNumber"),
    ]
    want = ["Multi Name", [f"multi-{t}@example.com"], "Multi", "Replace", f"multi-ext-{t}", f"M{t}"]
    expect(seen == want, f"every Replace should be applied: expected {want}, got {seen}")


@check(
    "entra.multiple_ops_same_attribute",
    G,
    f"docs/idp-dialects.md §2.8 / {VALIDATOR} (preview test)",
)
def same_attribute(ctx: Context) -> None:
    user = create_user(ctx)
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Add", "path": "nickName", "value": "First"},
        {"op": "Replace", "path": "nickName", "value": "Second"},
        {"op": "Replace", "path": "nickName", "value": "Third"},
        what="three ops on nickName",
    )
    expect(
        got.get("nickName") == "Third",
        f"operations must apply in order; nickName should be 'Third', got {got.get('nickName')!r}",
    )


@check(
    "entra.update_userName", G, f"docs/idp-dialects.md §2.8 / {VALIDATOR} (Update User userName)"
)
def update_user_name(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    new = user_name(t, "renamed")
    got = _user_after(
        ctx, user["id"], {"op": "replace", "value": {"userName": new}}, what="replace userName"
    )
    expect(got.get("userName") == new, f"userName should be {new!r}, got {got.get('userName')!r}")
    found = query(ctx, "/Users", eq_filter("userName", new)).get("Resources") or []
    expect(ids(found) == [user["id"]], "the renamed user should be found by its new userName")


# --------------------------------------------------------------------------- manager


@check(
    "entra.manager_bare_string",
    G,
    "docs/idp-dialects.md §2.6, §5 (SCIM-SDK#686: value is a bare id)",
)
def manager_string(ctx: Context) -> None:
    t = tag()
    boss, user = create_user(ctx, t, "boss"), create_user(ctx, t, "emp")
    got = _user_after(
        ctx,
        user["id"],
        {"op": "Add", "path": MANAGER, "value": boss["id"]},
        what="Add manager (string)",
    )
    expect(
        _manager_value(got) == boss["id"],
        f"manager.value should be the boss id, got {ext(got, ENTERPRISE).get('manager')!r}",
    )
    expect(
        isinstance(ext(got, ENTERPRISE).get("manager"), dict),
        "manager should be stored as a complex {value: id}",
    )


@check(
    "entra.manager_value_object",
    G,
    f"docs/idp-dialects.md §2.6 / {VALIDATOR} (value {{value: id}})",
)
def manager_object(ctx: Context) -> None:
    t = tag()
    boss1, boss2, user = (create_user(ctx, t, x) for x in ("b1", "b2", "emp"))
    _user_after(
        ctx,
        user["id"],
        {"op": "add", "path": MANAGER, "value": {"value": boss1["id"]}},
        what="add manager",
    )
    got = _user_after(
        ctx,
        user["id"],
        {"op": "replace", "path": MANAGER, "value": {"value": boss2["id"]}},
        what="replace manager",
    )
    expect(
        _manager_value(got) == boss2["id"],
        f"manager.value should be the second boss, got {_manager_value(got)!r}",
    )


@check(
    "entra.manager_removal",
    G,
    f"docs/idp-dialects.md §2.6 / {VALIDATOR} (remove op; replace with value '')",
)
def manager_removal(ctx: Context) -> None:
    t = tag()
    boss, user = create_user(ctx, t, "boss"), create_user(ctx, t, "emp")
    for removal in (
        {"op": "remove", "path": MANAGER},
        {"op": "replace", "path": MANAGER, "value": {"value": ""}},
    ):
        _user_after(
            ctx,
            user["id"],
            {"op": "add", "path": MANAGER, "value": {"value": boss["id"]}},
            what="add manager",
        )
        got = _user_after(ctx, user["id"], removal, what=f"manager removal {removal}")
        expect(
            _manager_value(got) in (None, "", {}),
            f"after {removal} the manager should be gone, got {_manager_value(got)!r}",
        )


# --------------------------------------------------------------------------- groups


@check(
    "entra.group_excludedAttributes_members", G, f"docs/idp-dialects.md §0 quirk 11, §2.4 / {LEARN}"
)
def group_excluded(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    group = create_group(ctx, t, members=[user["id"]])
    single = get_group(ctx, f"{group['id']}?excludedAttributes=members")
    expect(
        "members" not in single,
        f"GET with excludedAttributes=members returned members: {single.get('members')}",
    )
    body = query(
        ctx, "/Groups", eq_filter("displayName", group["displayName"]), excludedAttributes="members"
    )
    resources = body.get("Resources") or []
    expect(ids(resources) == [group["id"]], "the displayName filter should find the group")
    expect("members" not in resources[0], "filter with excludedAttributes=members returned members")


@check(
    "entra.group_add_member_null_ref", G, f"docs/idp-dialects.md §2.5 / {LEARN} (Add member sample)"
)
def group_add_null_ref(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u2["id"]}]},
        what="Add member with $ref null",
    )
    expect_members(ctx, group["id"], [u1["id"], u2["id"]], 'Add member with "$ref": null')


@check(
    "entra.group_remove_member_value_list",
    G,
    f"docs/idp-dialects.md §0 quirk 8, §5 / {COMPAT} (removes ONLY the listed member)",
)
def group_remove_legacy(ctx: Context) -> None:
    t = tag()
    users = [create_user(ctx, t, x) for x in "abc"]
    group = create_group(ctx, t, members=[u["id"] for u in users])
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": users[0]["id"]}]},
        what="Entra legacy member removal",
    )
    expect_members(
        ctx, group["id"], [users[1]["id"], users[2]["id"]], "Remove path=members value=[one member]"
    )


@check(
    "entra.group_patch_204",
    G,
    f"docs/idp-dialects.md §2.2, §2.5 / {LEARN} (group PATCH should yield 204)",
)
def group_patch_204(ctx: Context) -> None:
    t = tag()
    group = create_group(ctx, t)
    reply = patch(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "Replace", "path": "displayName", "value": group_name(t, "new")},
    )
    expect(reply.status in (204, 200), "group PATCH should answer 204 (or 200)", reply)
    if reply.status == 200:
        expect(
            isinstance(reply.body, dict) and reply.body.get("id") == group["id"],
            "a 200 group PATCH response should carry the group",
            reply,
        )
    got = get_group(ctx, group["id"], "after rename")
    expect(
        got.get("displayName") == group_name(t, "new"),
        f"displayName should be renamed, got {got.get('displayName')!r}",
    )


@check(
    "entra.group_add_then_remove_same_member",
    G,
    f"docs/idp-dialects.md §2.8 / {VALIDATOR} (preview test)",
)
def group_add_remove(ctx: Context) -> None:
    t = tag()
    keep, churn = create_user(ctx, t, "keep"), create_user(ctx, t, "churn")
    group = create_group(ctx, t, members=[keep["id"]])
    patch_ok(
        ctx,
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"value": churn["id"]}]},
        {"op": "Remove", "path": f'members[value eq "{churn["id"]}"]'},
        what="add then remove one member",
    )
    expect_members(
        ctx, group["id"], [keep["id"]], "Add then Remove of the same member in one PATCH"
    )


@check(
    "entra.group_duplicate_409", G, f"docs/idp-dialects.md §2.2, §5 / {LEARN} (unique displayName)"
)
def group_duplicate(ctx: Context) -> None:
    group = create_group(ctx)
    reply = ctx.client.post("/Groups", {"schemas": [GROUP], "displayName": group["displayName"]})
    track(ctx, reply, "/Groups")
    expect_error(reply, 409, "uniqueness")


# --------------------------------------------------------------------------- deletes


@check("entra.soft_delete_then_hard_delete", G, f"docs/idp-dialects.md §0 quirk 4, §2.7 / {LEARN}")
def soft_then_hard(ctx: Context) -> None:
    user = create_user(ctx)
    path = f"/Users/{user['id']}"
    got = _user_after(
        ctx, user["id"], {"op": "Replace", "path": "active", "value": "False"}, what="soft delete"
    )
    expect(got.get("active") is False, "a soft-deleted user should be readable with active false")
    reply = ctx.client.delete(path)
    expect(reply.status == 204, "hard DELETE should answer 204", reply)
    expect_error(ctx.client.get(path), 404)


@check("entra.delete_nonexistent_404", G, f"docs/idp-dialects.md §2.8 / {VALIDATOR} (preview test)")
def delete_missing(ctx: Context) -> None:
    for endpoint in ("/Users", "/Groups"):
        reply = ctx.client.delete(f"{endpoint}/{random_id()}")
        if reply.status >= 500:
            fail("DELETE of a non-existent resource must not be a server error", reply)
        expect_error(reply, 404)
