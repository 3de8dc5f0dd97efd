"""Groups: create, filter, members, PUT, DELETE (RFC 7644 §3; RFC 7643 §4.2).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

from .common import GROUP
from .common import create_group
from .common import create_user
from .common import eq_filter
from .common import expect_error
from .common import expect_members
from .common import expect_status
from .common import get_group
from .common import group_name
from .common import ids
from .common import patch_ok
from .common import query
from .common import tag
from .common import track
from .registry import Context
from .registry import check
from .registry import expect

G = "rfc"


# =========================================================================== groups


@check("rfc.groups.create_get_filter", G, "RFC 7644 §3.3, §3.4.1, §3.4.2.2; RFC 7643 §4.2")
def group_create(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    reply = ctx.client.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": group_name(t), "members": [{"value": user["id"]}]},
    )
    track(ctx, reply, "/Groups")
    expect(reply.status == 201, "POST /Groups should answer 201", reply)
    meta = reply.body.get("meta") or {}
    expect(meta.get("resourceType") == "Group", "meta.resourceType should be 'Group'", reply)
    expect(
        reply.headers.get("Location") == meta.get("location"),
        "Location header must equal meta.location",
        reply,
    )
    group = get_group(ctx, reply.body["id"])
    expect(group.get("displayName") == group_name(t), "displayName should read back as sent")
    expect_members(ctx, group["id"], [user["id"]], "create with members")
    if ctx.features.supported("filter"):
        body = query(ctx, "/Groups", eq_filter("displayName", group_name(t)))
        expect(
            ids(body.get("Resources") or []) == [group["id"]] and body["totalResults"] == 1,
            f"displayName eq should find exactly the group, got {ids(body.get('Resources') or [])}",
        )


@check(
    "rfc.groups.duplicate_displayName_other_case_409",
    G,
    "docs/idp-dialects.md §5 (Entra requires unique displayName; RFC 7643 §4.2 leaves uniqueness to the server); "
    "RFC 7644 §3.3",
)
def group_duplicate_case(ctx: Context) -> None:
    group = create_group(ctx)
    reply = ctx.client.post(
        "/Groups", {"schemas": [GROUP], "displayName": group["displayName"].upper()}
    )
    track(ctx, reply, "/Groups")
    expect_error(reply, 409, "uniqueness")


@check("rfc.groups.patch_members_add_remove", G, "RFC 7644 §3.5.2.1, §3.5.2.2", requires="patch")
def group_members(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t)
    path = f"/Groups/{group['id']}"
    patch_ok(
        ctx,
        path,
        {"op": "add", "path": "members", "value": [{"value": u1["id"]}, {"value": u2["id"]}]},
    )
    expect_members(ctx, group["id"], [u1["id"], u2["id"]], "adding two members")
    patch_ok(ctx, path, {"op": "remove", "path": f'members[value eq "{u1["id"]}"]'})
    expect_members(ctx, group["id"], [u2["id"]], "removing one member by filter")


@check("rfc.groups.put_replaces", G, "RFC 7644 §3.5.1")
def group_put(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    reply = ctx.client.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "displayName": group_name(t, "renamed"),
            "members": [{"value": u2["id"]}],
        },
    )
    expect(reply.status == 200, "PUT /Groups/{id} should answer 200", reply)
    got = get_group(ctx, group["id"])
    expect(
        got.get("displayName") == group_name(t, "renamed"),
        f"displayName should be replaced, got {got.get('displayName')!r}",
    )
    expect_members(ctx, group["id"], [u2["id"]], "PUT with a new member list")


@check("rfc.groups.delete_204_then_404", G, "RFC 7644 §3.6")
def group_delete(ctx: Context) -> None:
    group = create_group(ctx)
    path = f"/Groups/{group['id']}"
    expect_status(ctx.client.delete(path), 204, what="DELETE group")
    expect_error(ctx.client.get(path), 404)
    expect_error(ctx.client.delete(path), 404)
    body = query(ctx, "/Groups", eq_filter("displayName", group["displayName"]))
    expect(body["totalResults"] == 0, "a deleted group must be omitted from queries")
