"""OneLogin request shapes (group ``onelogin``), from docs/idp-dialects.md §3.1: the SCIM JSON
templates OneLogin documents name the SCIM 1.1 schemas against a 2.0 base URL."""

from __future__ import annotations

from .common import ENTERPRISE
from .common import create
from .common import create_user
from .common import ext
from .common import get_user
from .common import patch_ok
from .common import tag
from .common import user_name
from .registry import Context
from .registry import check
from .registry import expect

G = "onelogin"
SRC = "docs/idp-dialects.md §3.1 OneLogin SCIM JSON templates"
CORE_1_0 = "urn:scim:schemas:core:1.0"
ENTERPRISE_1_0 = "urn:scim:schemas:extension:enterprise:1.0"


@check("onelogin.core_template_scim_1_1_urn", G, f"{SRC} (Core User Schema)")
def core_template(ctx: Context) -> None:
    t = tag()
    body = {
        "schemas": [CORE_1_0],
        "userName": user_name(t),
        "name": {"givenName": "One", "familyName": f"Login {t}", "formatted": f"One Login {t}"},
    }
    user = create(ctx, "/Users", body)
    expect(user.get("userName") == user_name(t), f"userName should be kept, got {user}")


@check("onelogin.enterprise_template_single_email_manager_id", G, f"{SRC} (Enterprise User Schema)")
def enterprise_template(ctx: Context) -> None:
    manager = create_user(ctx)
    t = tag()
    body = {
        "schemas": [CORE_1_0, ENTERPRISE_1_0],
        "userName": user_name(t),
        "name": {"givenName": "One", "familyName": f"Login {t}"},
        "emails": {"value": user_name(t), "type": "work", "primary": True},
        "title": "Engineer",
        ENTERPRISE_1_0: {"department": "R&D", "manager": {"managerId": manager["id"]}},
    }
    user = get_user(ctx, create(ctx, "/Users", body)["id"], "after the enterprise template")
    emails = [e.get("value") for e in user.get("emails") or []]
    expect(emails == [user_name(t)], f"one emails object should be one email, got {emails}")
    enterprise = ext(user, ENTERPRISE)
    expect(enterprise.get("department") == "R&D", f"1.0 department should land in {ENTERPRISE}")
    expect(
        (enterprise.get("manager") or {}).get("value") == manager["id"],
        f"manager.managerId should be the manager's value, got {enterprise.get('manager')}",
    )


@check("onelogin.suspend_by_active_false", G, "docs/idp-dialects.md §3.1 (deprovisioning)")
def suspend(ctx: Context) -> None:
    user = create_user(ctx)
    patch_ok(ctx, f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    expect(get_user(ctx, user["id"])["active"] is False, "suspended user should be inactive")
