"""Product-extension checks (group ``lifecycle``, only with ``--product-extension``).

They follow the SCIM rows (P*, U*, X1) of the transition table in docs/lifecycle.md §2.5 and
the SCIM contract in docs/api.md §4, read through the read-only extension
``urn:ietf:params:scim:schemas:extension:scim_server:2.0:User``.
"""

from __future__ import annotations

from .common import GROUP
from .common import PRODUCT
from .common import USER
from .common import create_group
from .common import create_user
from .common import eq_filter
from .common import expect_error
from .common import ext
from .common import get_user
from .common import ids
from .common import patch
from .common import query
from .common import tag
from .common import track
from .common import user_body
from .registry import Context
from .registry import check
from .registry import expect
from .registry import fail

G = "lifecycle"
T = "docs/lifecycle.md §2.5 row"
READ_ONLY = ("userId", "adminDisabled", "effectiveAccess", "linkPending")


def product(user: dict, what: str) -> dict:
    data = ext(user, PRODUCT)
    expect(data, f"{what}: the user should carry the {PRODUCT} extension, got keys {sorted(user)}")
    return data


def expect_access(user: dict, effective: bool, what: str) -> dict:
    data = product(user, what)
    expect(
        data.get("effectiveAccess") is effective,
        f"{what}: effectiveAccess should be {effective}, got {data.get('effectiveAccess')!r}",
    )
    return data


def user_patch_200(ctx: Context, uid: str, *ops: dict, what: str) -> dict:
    """docs/api.md §4: PATCH on a User answers 200 with the whole resource."""
    reply = patch(ctx, f"/Users/{uid}", *ops)
    expect(
        reply.status == 200
        and isinstance(reply.body, dict)
        and reply.body.get("id") == uid
        and reply.body.get("userName"),
        f"{what}: PATCH on a User should answer 200 with the whole resource",
        reply,
    )
    return reply.body


def deactivate(ctx: Context, uid: str) -> dict:
    return user_patch_200(
        ctx, uid, {"op": "replace", "value": {"active": False}}, what="deactivate"
    )


@check(
    "lifecycle.extension_schema_read_only",
    G,
    "docs/api.md §4; docs/lifecycle.md §2.3; RFC 7643 §7 (mutability)",
)
def extension_schema(ctx: Context) -> None:
    schema = ctx.client.get(f"/Schemas/{PRODUCT}")
    expect(
        schema.status == 200 and isinstance(schema.body, dict),
        f"GET /Schemas/{PRODUCT} should be 200",
        schema,
    )
    attrs = {a.get("name"): a for a in schema.body.get("attributes") or [] if isinstance(a, dict)}
    for name in READ_ONLY:
        expect(
            name in attrs and attrs[name].get("mutability") == "readOnly",
            f"extension attribute {name} should be advertised with mutability readOnly",
            schema,
        )
    rt = ctx.client.get("/ResourceTypes/User")
    extensions = [
        e.get("schema")
        for e in (rt.body or {}).get("schemaExtensions") or []
        if isinstance(e, dict)
    ]
    expect(PRODUCT in extensions, f"/ResourceTypes/User schemaExtensions should list {PRODUCT}", rt)


@check("lifecycle.create_shows_effective_access", G, f"{T} P1; docs/api.md §4")
def create_p1(ctx: Context) -> None:
    user = get_user(ctx, create_user(ctx)["id"])
    data = expect_access(user, True, "new active user")
    expect(
        isinstance(data.get("userId"), str) and data["userId"],
        f"userId should be a non-empty string: {data}",
    )
    expect(
        data.get("adminDisabled") is False and data.get("linkPending") is False,
        f"a brand-new user should have adminDisabled false and linkPending false: {data}",
    )
    expect(PRODUCT in (user.get("schemas") or []), f"schemas should list {PRODUCT}")


@check("lifecycle.deprovision_keeps_user_readable", G, f"{T}s U1, U2")
def deprovision_u1(ctx: Context) -> None:
    user = create_user(ctx)
    body = deactivate(ctx, user["id"])
    expect(body.get("active") is False, "the PATCH response should show active false")
    got = get_user(ctx, user["id"], "after deprovisioning")
    expect(
        got.get("active") is False,
        f"GET should show active false (D=inactive), got {got.get('active')!r}",
    )
    expect_access(got, False, "deprovisioned user")
    found = query(ctx, "/Users", eq_filter("userName", user["userName"])).get("Resources") or []
    expect(ids(found) == [user["id"]], "a deprovisioned user must still be listed by filter")
    again = deactivate(ctx, user["id"])  # row U2: idempotent
    expect(
        again.get("active") is False, "a repeated deactivation should answer 200 with active false"
    )
    expect_access(get_user(ctx, user["id"]), False, "after a repeated deactivation")


@check("lifecycle.deprovision_entra_and_add_shapes", G, f"{T} U7")
def deprovision_u7(ctx: Context) -> None:
    for op in (
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "add", "path": "active", "value": False},
    ):
        user = create_user(ctx)
        body = user_patch_200(ctx, user["id"], op, what=f"deactivate with {op}")
        expect(
            body.get("active") is False, f"{op} should set active false, got {body.get('active')!r}"
        )
        expect_access(get_user(ctx, user["id"]), False, f"after {op}")


@check("lifecycle.reactivate_restores_access", G, f"{T} U3")
def reactivate_u3(ctx: Context) -> None:
    user = create_user(ctx)
    deactivate(ctx, user["id"])
    body = user_patch_200(
        ctx, user["id"], {"op": "replace", "value": {"active": True}}, what="reactivate"
    )
    expect(body.get("active") is True, "the reactivation response should show active true")
    data = expect_access(get_user(ctx, user["id"]), True, "reactivated user")
    expect(data.get("adminDisabled") is False, f"adminDisabled should stay false: {data}")


@check("lifecycle.put_without_active_keeps_state", G, f"{T} U6")
def put_u6(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    deactivate(ctx, user["id"])
    body = user_body(t, displayName=f"Put without active {t}")
    del body["active"]
    reply = ctx.client.put(f"/Users/{user['id']}", body)
    expect(reply.status == 200, "PUT without active should answer 200", reply)
    got = get_user(ctx, user["id"], "after PUT without active")
    expect(
        got.get("displayName") == f"Put without active {t}",
        "the other attributes should be replaced",
    )
    expect(
        got.get("active") is False,
        f"a PUT without active must not flip access: active is {got.get('active')!r}",
    )
    expect_access(got, False, "after PUT without active")


@check(
    "lifecycle.invalid_active_400_invalidValue",
    G,
    f"{T} U7 (anything else for active is 400 invalidValue, atomic)",
)
def invalid_active(ctx: Context) -> None:
    user = create_user(ctx, nickName="Before")
    reply = patch(
        ctx,
        f"/Users/{user['id']}",
        {"op": "replace", "path": "nickName", "value": "After"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    expect_error(reply, 400, "invalidValue")
    got = get_user(ctx, user["id"], "after the rejected PATCH")
    expect(
        got.get("active") is True and got.get("nickName") == "Before",
        f"the rejected PATCH must change nothing: active={got.get('active')!r} nickName={got.get('nickName')!r}",
    )


@check("lifecycle.duplicate_live_409_names_existing_id", G, f"{T} P4")
def duplicate_p4(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    reply = ctx.client.post("/Users", user_body(t, externalId=f"conf-other-{t}"))
    track(ctx, reply, "/Users")
    body = expect_error(reply, 409, "uniqueness")
    expect(
        user["id"] in str(body.get("detail")),
        "the 409 detail should name the existing SCIM id",
        reply,
    )


@check("lifecycle.delete_then_readd_keeps_person", G, f"{T}s X1, P5")
def delete_readd(ctx: Context) -> None:
    t = tag()
    first = get_user(ctx, create_user(ctx, t)["id"])
    person = product(first, "before delete").get("userId")
    old = f"/Users/{first['id']}"
    expect(ctx.client.delete(old).status == 204, "DELETE should answer 204")
    expect_error(ctx.client.get(old), 404)
    gone = query(ctx, "/Users", eq_filter("userName", first["userName"]))
    expect(gone["totalResults"] == 0, "a deleted user must be omitted from filter results")
    reply = ctx.client.post("/Users", user_body(t))
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201, "re-POST of the deleted userName/externalId should answer 201", reply
    )
    again = get_user(ctx, reply.body["id"])
    expect(
        again["id"] != first["id"],
        "the re-added user must get a NEW SCIM id (tombstoned ids are never reused)",
    )
    data = expect_access(again, True, "re-added user")
    expect(
        data.get("userId") == person,
        f"the re-added user should be the same person: userId {data.get('userId')!r} != {person!r}",
    )
    expect_error(ctx.client.get(old), 404)


@check("lifecycle.create_inactive", G, f"{T} P7")
def create_p7(ctx: Context) -> None:
    t = tag()
    reply = ctx.client.post("/Users", user_body(t, active=False))
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201 and reply.body.get("active") is False,
        "POST with active false should answer 201 with active false",
        reply,
    )
    got = get_user(ctx, reply.body["id"])
    expect(got.get("active") is False, "GET should show active false")
    expect_access(got, False, "user created inactive")


def _forged() -> dict:
    return {
        "userId": f"forged-{tag()}",
        "adminDisabled": True,
        "effectiveAccess": False,
        "linkPending": True,
    }


def _expect_unchanged(ctx: Context, uid: str, before: dict, what: str) -> None:
    after = product(get_user(ctx, uid), what)
    changed = {k: (before.get(k), after.get(k)) for k in READ_ONLY if before.get(k) != after.get(k)}
    if changed:
        fail(f"{what}: read-only extension attributes changed (before, after): {changed}")


@check(
    "lifecycle.read_only_extension_never_changes",
    G,
    "docs/api.md §4; RFC 7644 §3.3, §3.5.1, §3.5.2 (readOnly ignored or rejected)",
)
def forged_values(ctx: Context) -> None:
    _forged_create(ctx)
    user = create_user(ctx)
    before = product(get_user(ctx, user["id"]), "before updates")
    forged = _forged()
    for op in (
        {"op": "replace", "path": f"{PRODUCT}:effectiveAccess", "value": False},
        {"op": "replace", "path": f"{PRODUCT}:userId", "value": forged["userId"]},
        {"op": "replace", "value": {PRODUCT: forged}},
    ):
        reply = patch(ctx, f"/Users/{user['id']}", op)
        expect(
            reply.status in (200, 204, 400),
            f"PATCH of a read-only attribute should be ignored or 400: {op}",
            reply,
        )
        _expect_unchanged(ctx, user["id"], before, f"after PATCH {op}")
    current = get_user(ctx, user["id"])
    current[PRODUCT] = forged
    reply = ctx.client.put(f"/Users/{user['id']}", current)
    expect(
        reply.status in (200, 400),
        "PUT with forged read-only extension values should be 200 (ignored) or 400",
        reply,
    )
    _expect_unchanged(ctx, user["id"], before, "after PUT")


def _forged_create(ctx: Context) -> None:
    forged = _forged()
    reply = ctx.client.post(
        "/Users", user_body(tag(), schemas=[USER, PRODUCT], **{PRODUCT: forged})
    )
    track(ctx, reply, "/Users")
    if reply.status == 400:
        return  # rejected is acceptable
    expect(
        reply.status == 201,
        "POST with read-only extension values should be 201 (ignored) or 400",
        reply,
    )
    data = product(get_user(ctx, reply.body["id"]), "after create")
    expect(
        data.get("userId") != forged["userId"]
        and data.get("adminDisabled") is False
        and data.get("effectiveAccess") is True
        and data.get("linkPending") is False,
        f"client-supplied read-only extension values must be ignored on create, got {data}",
    )


@check(
    "lifecycle.group_patch_204_unless_projected",
    G,
    "docs/api.md §4 (group PATCH: 204, or 200 when projected)",
)
def group_patch(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    path = f"/Groups/{group['id']}"
    plain = patch(ctx, path, {"op": "add", "path": "members", "value": [{"value": u2["id"]}]})
    expect(
        plain.status == 204 and not plain.text.strip(),
        "group PATCH without projection should answer 204, no body",
        plain,
    )
    projected = patch(
        ctx,
        f"{path}?excludedAttributes=members",
        {"op": "replace", "path": "displayName", "value": f"{group['displayName']}-p"},
    )
    expect(
        projected.status == 200 and isinstance(projected.body, dict),
        "group PATCH with excludedAttributes should be 200",
        projected,
    )
    expect(
        projected.body.get("id") == group["id"] and "members" not in projected.body,
        "the projected response should carry the group without members",
        projected,
    )
    expect(
        GROUP in (projected.body.get("schemas") or []) or projected.body.get("displayName"),
        "the projected response should be the group resource",
        projected,
    )


@check(
    "lifecycle.product_extension_urn_is_read_only",
    G,
    "docs/api.md §4; RFC 7644 §3.5.2 (readOnly → mutability)",
)
def product_extension_urn_read_only(ctx: Context) -> None:
    """The whole product extension by its URN: add, replace and remove are 400 mutability."""
    user = create_user(ctx)
    before = product(user, "after create")
    for op in ("add", "replace", "remove"):
        operation = {"op": op, "path": PRODUCT}
        if op != "remove":
            operation["value"] = {"adminDisabled": True}
        expect_error(patch(ctx, f"/Users/{user['id']}", operation), 400, "mutability")
    after = product(get_user(ctx, user["id"]), "after the refused PATCHes")
    expect(after == before, f"the refused PATCHes changed {before} into {after}")
