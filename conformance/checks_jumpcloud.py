"""JumpCloud request sequences (group ``jumpcloud``), from docs/idp-dialects.md §3.2."""

from __future__ import annotations

from .common import GROUP
from .common import create
from .common import create_group
from .common import create_user
from .common import expect_members
from .common import group_name
from .common import patch_ok
from .common import tag
from .registry import Context
from .registry import check
from .registry import expect

G = "jumpcloud"
SRC = "docs/idp-dialects.md §3.2 JumpCloud custom SCIM integration"


@check("jumpcloud.test_connection_user_and_group_create_delete", G, f"{SRC} (Test Connection)")
def test_connection(ctx: Context) -> None:
    user = create_user(ctx)
    body = {
        "schemas": [GROUP],
        "displayName": group_name(tag()),
        "members": [{"value": user["id"]}],
    }
    group = create(ctx, "/Groups", body)
    for path in (f"/Groups/{group['id']}", f"/Users/{user['id']}"):
        reply = ctx.client.delete(path)
        expect(reply.status == 204, f"DELETE {path} should answer 204", reply)
        expect(ctx.client.get(path).status == 404, f"GET {path} after DELETE should be 404")


@check("jumpcloud.member_removal_by_value_list", G, f"{SRC} (member removal without a filter)")
def member_removal(ctx: Context) -> None:
    keep, drop = create_user(ctx)["id"], create_user(ctx)["id"]
    group = create_group(ctx, members=[keep, drop])
    op = {"op": "remove", "path": "members", "value": [{"value": drop}]}
    patch_ok(ctx, f"/Groups/{group['id']}", op, what="remove with a value list")
    expect_members(ctx, group["id"], [keep], "remove with a value list")
