"""X-Acting-User fails closed (docs/api.md §1, "Acting person").

Every change to an organisation names an effective Owner or Admin of it (user id or
email), or ``key``; a missing header is 400 ``acting_user_required``, a name that is
nobody here 403 ``acting_user_unknown``, and nothing is written either way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import scim_server
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import assert_api_error

DOCUMENT = json.loads((Path(scim_server.__file__).parent / "openapi.json").read_text())
ACTING = {"$ref": "#/components/parameters/ActingUser"}


def acting_operations() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document says takes X-Acting-User."""
    return [
        (method.upper(), path)
        for path, ops in DOCUMENT["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and ACTING in op.get("parameters", [])
    ]


def test_the_document_lists_the_acting_routes():
    assert len(acting_operations()) >= 20


@pytest.mark.parametrize(("method", "path"), acting_operations())
def test_every_acting_route_refuses_a_missing_or_unknown_actor(admin, method, path):
    url = re.sub(r"\{org_id\}", admin.org_id, path.removeprefix("/api/v1"))
    url = re.sub(r"\{[a-z_]+\}", "x", url)
    # a body that passes the checks made before the actor is resolved
    body = {"role": "member"} if method == "PATCH" else {"confirm": True, "domain": "acme.com"}
    assert_api_error(admin.call(method, url, body, acting=None), 400, "acting_user_required")
    assert_api_error(admin.call(method, url, body, acting=" "), 400, "acting_user_required")
    refused = admin.call(method, url, body, acting="alice@acme.com")
    assert_api_error(refused, 403, "acting_user_unknown")


def member(scim, admin: Admin, email: str, role: str | None = None) -> str:
    user_id = scim.create_user(email)[PRODUCT]["userId"]
    if role:
        assert admin.edit(user_id, {"role": role}).status_code == 200
    return user_id


def test_a_named_actor_must_be_an_effective_owner_or_admin_here(
    scim, admin, client, other_org, platform
):
    target = member(scim, admin, "target@acme.com")
    it_admin = member(scim, admin, "it.admin@acme.com", "admin")
    member(scim, admin, "viewer@acme.com", "viewer")
    outsider = Admin(client, other_org.management_key, other_org.id)
    from tests.scim_client import Scim

    foreign = Scim(client, other_org.token).create_user("oz@globex.com")[PRODUCT]["userId"]
    assert outsider.edit(foreign, {"role": "admin"}).status_code == 200

    for nobody in ("nobody@acme.com", "no-such-id", foreign, "oz@globex.com", "not an email@"):
        assert_api_error(admin.disable(target, acting=nobody), 403, "acting_user_unknown")
    assert_api_error(admin.disable(target, acting="viewer@acme.com"), 403, "insufficient_role")
    assert admin.member(target)["effective_access"] is True  # nothing written

    # by email (normalised like stored emails) or by user id
    assert admin.disable(target, acting="IT.Admin@ACME.com").status_code == 200
    assert admin.enable(target, acting=it_admin).status_code == 200

    # a disabled Admin no longer acts; a removed one is nobody here
    assert platform.disable(it_admin).status_code == 200
    assert_api_error(admin.disable(target, acting=it_admin), 403, "insufficient_role")
    scim_id = admin.member(it_admin)["scim_id"]
    scim.patch(f"/Users/{scim_id}", [{"op": "replace", "path": "active", "value": False}])
    assert admin.remove(it_admin).status_code == 200
    assert_api_error(admin.disable(target, acting=it_admin), 403, "acting_user_unknown")


def test_a_key_acts_as_an_admin_and_the_platform_key_as_an_owner(scim, admin, platform):
    first = member(scim, admin, "first@acme.com")
    second = member(scim, admin, "second@acme.com")
    # no Owner yet: the organisation key may appoint the first one
    assert admin.edit(first, {"role": "owner"}).status_code == 200
    # now Owner-only actions need an Owner: the org key is refused, the platform key is not
    assert_api_error(admin.edit(second, {"role": "owner"}), 403, "role_not_assignable")
    invite = {"email": "boss@acme.com", "role": "owner"}
    assert_api_error(
        admin.call("POST", f"/organizations/{admin.org_id}/invitations", invite),
        403,
        "role_not_assignable",
    )
    assert_api_error(admin.disable(first), 403, "insufficient_role")
    assert admin.edit(second, {"role": "owner"}, acting="first@acme.com").status_code == 200
    assert platform.disable(first).status_code == 200
    # the key is audited as the key
    assert admin.disable(second, acting="key").status_code == 403  # an Owner
    assert admin.enable(first).status_code == 200
    [last] = [e for e in admin.events()["events"] if e["user_id"] == first][-1:]
    assert last["actor"]["id"].startswith("key:") and last["actor"]["type"] == "admin"
