"""PATCH on Users (RFC 7644 §3.5.2).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

from .common import ENTERPRISE
from .common import create_user
from .common import email_values
from .common import expect_error
from .common import ext
from .common import get_user
from .common import patch
from .common import patch_ok
from .common import tag
from .common import user_name
from .registry import Context
from .registry import check
from .registry import expect
from .registry import skip

G = "rfc"


# =========================================================================== PATCH


def _patched_user(ctx: Context, uid: str, *ops: dict) -> dict:
    reply = patch_ok(ctx, f"/Users/{uid}", *ops)
    got = get_user(ctx, uid, "after PATCH")
    if reply.status == 200:
        expect(
            reply.body.get("userName") == got.get("userName"),
            "a 200 PATCH response must carry the entire resource",
            reply,
        )
    return got


@check(
    "rfc.patch.add_with_path",
    G,
    "RFC 7644 §3.5.2.1 (single-valued; multi-valued appends)",
    requires="patch",
)
def patch_add_path(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    got = _patched_user(ctx, user["id"], {"op": "add", "path": "nickName", "value": "Addy"})
    expect(got.get("nickName") == "Addy", f"nickName should be 'Addy', got {got.get('nickName')!r}")
    home = f"home-{t}@example.org"
    got = _patched_user(
        ctx, user["id"], {"op": "add", "path": "emails", "value": [{"value": home, "type": "home"}]}
    )
    expect(
        set(email_values(got)) == {user_name(t), home},
        f"add to multi-valued emails should append (work and home), got {email_values(got)}",
    )


@check("rfc.patch.add_without_path", G, "RFC 7644 §3.5.2.1", requires="patch")
def patch_add_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "add", "value": {"nickName": "Nick", "title": "Tester"}}
    )
    expect(
        got.get("nickName") == "Nick" and got.get("title") == "Tester",
        f"nickName/title should be set, got {got.get('nickName')!r}/{got.get('title')!r}",
    )


@check("rfc.patch.replace_with_path", G, "RFC 7644 §3.5.2.3", requires="patch")
def patch_replace_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "path": "name.givenName", "value": "Rita"}
    )
    name = got.get("name") or {}
    expect(name.get("givenName") == "Rita", f"name.givenName should be 'Rita', got {name}")
    expect(
        name.get("familyName") == user["name"]["familyName"],
        f"name.familyName must be unchanged, got {name}",
    )


@check("rfc.patch.replace_without_path", G, "RFC 7644 §3.5.2.3", requires="patch")
def patch_replace_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "value": {"displayName": "Whole New", "nickName": "wn"}}
    )
    expect(
        got.get("displayName") == "Whole New" and got.get("nickName") == "wn",
        f"displayName/nickName should be replaced, got {got.get('displayName')!r}/{got.get('nickName')!r}",
    )
    expect(got.get("userName") == user["userName"], "attributes not named must be unchanged")


@check(
    "rfc.patch.replace_complex_keeps_other_sub_attributes",
    G,
    "RFC 7644 §3.5.2.3 (sub-attributes not specified are left unchanged)",
    requires="patch",
)
def patch_replace_complex(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "path": "name", "value": {"givenName": "Only"}}
    )
    name = got.get("name") or {}
    expect(
        name.get("givenName") == "Only" and name.get("familyName") == user["name"]["familyName"],
        f"replace on 'name' with only givenName must keep familyName, got {name}",
    )


@check(
    "rfc.patch.remove_with_path",
    G,
    "RFC 7644 §3.5.2.2 (attribute path; valuePath filter)",
    requires="patch",
)
def patch_remove_path(ctx: Context) -> None:
    t = tag()
    emails = [
        {"value": user_name(t), "type": "work", "primary": True},
        {"value": f"h-{t}@example.org", "type": "home"},
    ]
    user = create_user(ctx, t, nickName="Gone", title="Stays", emails=emails)
    got = _patched_user(ctx, user["id"], {"op": "remove", "path": "nickName"})
    expect(
        got.get("nickName") in (None, ""),
        f"nickName should be removed, got {got.get('nickName')!r}",
    )
    expect(got.get("title") == "Stays", "other attributes must be unchanged")
    got = _patched_user(ctx, user["id"], {"op": "remove", "path": 'emails[type eq "home"]'})
    expect(
        email_values(got) == [user_name(t)],
        f"only the home email should be removed, got {got.get('emails')}",
    )


@check(
    "rfc.patch.remove_without_path_400_noTarget",
    G,
    "RFC 7644 §3.5.2.2, §3.12 (noTarget)",
    requires="patch",
)
def patch_remove_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    expect_error(patch(ctx, f"/Users/{user['id']}", {"op": "remove"}), 400, "noTarget")


@check("rfc.patch.atomic", G, "RFC 7644 §3.5.2 (PATCH is atomic)", requires="patch")
def patch_atomic(ctx: Context) -> None:
    user = create_user(ctx, nickName="Before")
    reply = patch(
        ctx,
        f"/Users/{user['id']}",
        {"op": "replace", "path": "nickName", "value": "After"},
        {"op": "remove"},
    )
    expect(
        reply.status == 400, "a PATCH whose second operation is invalid should answer 400", reply
    )
    got = get_user(ctx, user["id"], "after the failed PATCH")
    expect(
        got.get("nickName") == "Before",
        f"a failed PATCH must change nothing: nickName is now {got.get('nickName')!r}",
    )


# =========================================================================== extension URN paths


def _enterprise_user(ctx: Context) -> dict:
    rtype = ctx.client.get("/ResourceTypes/User")
    extensions = rtype.body.get("schemaExtensions") if isinstance(rtype.body, dict) else None
    if not any(isinstance(e, dict) and e.get("schema") == ENTERPRISE for e in extensions or []):
        skip(f"the User resource type does not list {ENTERPRISE}")
    return create_user(ctx)


@check(
    "rfc.patch.extension_urn_path",
    G,
    "RFC 7644 §3.5.2, §3.10 (a whole extension by its schema URN)",
    requires="patch",
)
def patch_extension_urn(ctx: Context) -> None:
    """``"path": "urn:…:enterprise:2.0:User"`` with an object: add, replace, then remove."""
    user = _enterprise_user(ctx)
    uid = user["id"]
    value = {"employeeNumber": "701", "department": "Conformance"}
    got = _patched_user(ctx, uid, {"op": "add", "path": ENTERPRISE, "value": value})
    expect(
        ext(got, ENTERPRISE) == value, f"add by URN should set {value}, got {ext(got, ENTERPRISE)}"
    )
    got = _patched_user(
        ctx, uid, {"op": "replace", "path": ENTERPRISE, "value": {"department": "Audit"}}
    )
    expect(
        ext(got, ENTERPRISE) == {"employeeNumber": "701", "department": "Audit"},
        f"replace by URN sets the named attributes, got {ext(got, ENTERPRISE)}",
    )
    got = _patched_user(ctx, uid, {"op": "remove", "path": ENTERPRISE})
    expect(not ext(got, ENTERPRISE), f"remove by URN should clear it, got {ext(got, ENTERPRISE)}")


@check(
    "rfc.patch.extension_attribute_urn_path",
    G,
    "RFC 7644 §3.10 (urn:…:User:manager.value)",
    requires="patch",
)
def patch_extension_attribute_urn(ctx: Context) -> None:
    user = _enterprise_user(ctx)
    boss = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "add", "path": f"{ENTERPRISE}:manager.value", "value": boss["id"]}
    )
    manager = ext(got, ENTERPRISE).get("manager") or {}
    expect(manager.get("value") == boss["id"], f"manager.value should be set, got {manager}")
    got = _patched_user(ctx, user["id"], {"op": "remove", "path": f"{ENTERPRISE}:manager"})
    expect("manager" not in ext(got, ENTERPRISE), "remove by URN path should clear manager")
