"""Rippling request sequences (group ``rippling``), from docs/idp-dialects.md §3.4."""

from __future__ import annotations

from .common import ENTERPRISE
from .common import USER
from .common import create
from .common import create_group
from .common import create_user
from .common import expect_members
from .common import ext
from .common import get_resource
from .common import patch_ok
from .common import tag
from .common import user_body
from .registry import Context
from .registry import check
from .registry import expect

G = "rippling"
SRC = "docs/idp-dialects.md §3.4 Rippling custom app"


@check("rippling.test_connection_service_provider_config", G, f"{SRC} (Test connection)")
def test_connection(ctx: Context) -> None:
    config = get_resource(ctx, "/ServiceProviderConfig")
    expect((config.get("patch") or {}).get("supported") is True, "PATCH groups needs patch")


@check("rippling.sparse_hire_with_employee_number", G, f"{SRC} (supported attributes)")
def sparse_hire(ctx: Context) -> None:
    t = tag()
    body = user_body(t, schemas=[USER, ENTERPRISE])
    for key in ("displayName", "active"):
        body.pop(key)
    body[ENTERPRISE] = {"employeeNumber": f"E-{t}"}
    user = create(ctx, "/Users", body)
    expect(ext(user, ENTERPRISE).get("employeeNumber") == f"E-{t}", f"employeeNumber lost: {user}")
    expect(user.get("active") is True, f"a hire without 'active' should be active: {user}")


@check("rippling.patch_groups", G, f"{SRC} (Use PATCH to edit Groups)")
def patch_groups(ctx: Context) -> None:
    alice, bob = create_user(ctx)["id"], create_user(ctx)["id"]
    group = create_group(ctx)
    path = f"/Groups/{group['id']}"
    patch_ok(ctx, path, {"op": "add", "path": "members", "value": [{"value": bob}]})
    patch_ok(
        ctx,
        path,
        {"op": "add", "path": "members", "value": [{"value": alice}]},
        {"op": "remove", "path": f'members[value eq "{bob}"]'},
    )
    expect_members(ctx, group["id"], [alice], "add and remove in one PATCH")
