"""PingFederate/PingOne SCIM Provisioner sequences (group ``ping``), docs/idp-dialects.md §3.5:
no PATCH for users (updates and disables are full PUTs); groups found by listing them all."""

from __future__ import annotations

from .common import create_group
from .common import create_user
from .common import get_user
from .common import query
from .registry import Context
from .registry import check
from .registry import expect

G = "ping"
SRC = "docs/idp-dialects.md §3.5 Ping SCIM Provisioner"


@check("ping.disable_and_re_enable_by_put", G, f"{SRC} (no PATCH for users)")
def disable_by_put(ctx: Context) -> None:
    user = create_user(ctx)
    path = f"/Users/{user['id']}"
    body = {k: v for k, v in user.items() if k not in ("id", "meta")}
    for active in (False, True):
        reply = ctx.client.put(path, {**body, "active": active})
        expect(reply.status == 200, f"PUT with active={active} should answer 200", reply)
        expect(get_user(ctx, user["id"])["active"] is active, f"active should be {active}")


@check("ping.group_found_by_listing_all_groups", G, f"{SRC} (group filtering by listing)")
def group_by_listing(ctx: Context) -> None:
    wanted = create_group(ctx)
    create_group(ctx)
    total = query(ctx, "/Groups", count=0)["totalResults"]
    seen: list[str] = []
    for start in range(1, total + 1, 2):
        page = query(ctx, "/Groups", startIndex=start, count=2)
        seen += [g.get("id") for g in page.get("Resources") or []]
    expect(len(seen) == len(set(seen)) == total, f"paging listed {len(seen)} of {total} groups")
    expect(wanted["id"] in seen, "the group should be found by listing every page")
