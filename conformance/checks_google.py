"""Google Workspace automated provisioning (group ``google``), from docs/idp-dialects.md §3.3."""

from __future__ import annotations

from .common import create_user
from .common import ids
from .common import query
from .registry import Context
from .registry import check
from .registry import expect

G = "google"
SRC = "docs/idp-dialects.md §3.3 Google automated user provisioning"


@check("google.save_probe_count_1", G, f"{SRC} (probe when the app is saved)")
def save_probe(ctx: Context) -> None:
    create_user(ctx)
    create_user(ctx)
    page = query(ctx, "/Users", count=1)
    expect(len(page.get("Resources") or []) == 1, f"count=1 should return one user, got {page}")
    expect(page["totalResults"] >= 2, f"totalResults should count every user, got {page}")


@check("google.delete_on_deprovisioning", G, f"{SRC} (deprovisioning trigger: delete)")
def delete_on_deprovisioning(ctx: Context) -> None:
    user = create_user(ctx)
    reply = ctx.client.delete(f"/Users/{user['id']}")
    expect(reply.status == 204, "DELETE of a provisioned user should answer 204", reply)
    found = query(ctx, "/Users", f'userName eq "{user["userName"]}"')
    expect(user["id"] not in ids(found.get("Resources") or []), "a deleted user must not be listed")
