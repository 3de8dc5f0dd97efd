"""SCIM helpers shared by the check modules: URNs, fixtures that clean up after
themselves, and assertions about SCIM messages."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from .client import SCIM_JSON
from .client import Reply
from .registry import Context
from .registry import expect
from .registry import fail

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PRODUCT = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCHOP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


# --------------------------------------------------------------------------- data


def tag() -> str:
    """8 random hex characters that make this check's data unique."""
    return secrets.token_hex(4)


def random_id() -> str:
    return str(uuid.uuid4())


def user_name(t: str, label: str = "") -> str:
    return f"conf-{t}{'-' + label if label else ''}@example.com"


def user_body(t: str, label: str = "", **overrides: Any) -> dict:
    """A complete, ordinary User as an IdP would send it."""
    name = user_name(t, label)
    body = {
        "schemas": [USER],
        "userName": name,
        "externalId": f"conf-ext-{t}{'-' + label if label else ''}",
        "name": {"givenName": "Conf", "familyName": f"Tester {t}{label}"},
        "displayName": f"Conf Tester {t}{label}",
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(overrides)
    return body


def group_name(t: str, label: str = "") -> str:
    return f"conf-group-{t}{'-' + label if label else ''}"


def patch_body(*ops: dict) -> dict:
    return {"schemas": [PATCHOP], "Operations": list(ops)}


def eq_filter(attr: str, value: str) -> str:
    return f'{attr} eq "{value}"'


# --------------------------------------------------------------------------- fixtures


def track(ctx: Context, reply: Reply, endpoint: str) -> None:
    """Schedule deletion of whatever ``reply`` created (even an unexpected 201)."""
    body = reply.body
    if reply.status in (200, 201) and isinstance(body, dict) and isinstance(body.get("id"), str):
        ctx.delete_later(f"{endpoint}/{body['id']}")


def create(ctx: Context, endpoint: str, body: dict) -> dict:
    reply = ctx.client.post(endpoint, body)
    track(ctx, reply, endpoint)
    expect(reply.status == 201, f"creating a fixture in {endpoint} should answer 201", reply)
    res = reply.body
    expect(
        isinstance(res, dict) and isinstance(res.get("id"), str) and res["id"],
        f"POST {endpoint} answered 201 without a resource id",
        reply,
    )
    return res


def create_user(ctx: Context, t: str | None = None, label: str = "", **overrides: Any) -> dict:
    return create(ctx, "/Users", user_body(t or tag(), label, **overrides))


def create_group(
    ctx: Context,
    t: str | None = None,
    label: str = "",
    members: Iterable[str] = (),
    **overrides: Any,
) -> dict:
    body = {
        "schemas": [GROUP],
        "displayName": group_name(t or tag(), label),
        "members": [{"value": m} for m in members],
    }
    body.update(overrides)
    return create(ctx, "/Groups", body)


def get_resource(ctx: Context, path: str, what: str = "", **kw: Any) -> dict:
    reply = ctx.client.get(path, **kw)
    expect(reply.status == 200, f"GET {path}{' ' + what if what else ''} should answer 200", reply)
    expect(isinstance(reply.body, dict), "GET answered 200 without a JSON object", reply)
    return reply.body


def get_user(ctx: Context, uid: str, what: str = "") -> dict:
    return get_resource(ctx, f"/Users/{uid}", what)


def get_group(ctx: Context, gid: str, what: str = "") -> dict:
    return get_resource(ctx, f"/Groups/{gid}", what)


def query(ctx: Context, endpoint: str, filter_: str | None = None, **params: Any) -> dict:
    """GET a ListResponse and validate its envelope."""
    if filter_ is not None:
        params = {"filter": filter_, **params}
    reply = ctx.client.get(endpoint, params=params)
    return expect_list(reply)


def find_users(ctx: Context, filter_: str, **params: Any) -> list[dict]:
    return query(ctx, "/Users", filter_, **params).get("Resources") or []


def patch(ctx: Context, path: str, *ops: dict, **kw: Any) -> Reply:
    return ctx.client.patch(path, patch_body(*ops), **kw)


def patch_ok(ctx: Context, path: str, *ops: dict, what: str = "PATCH") -> Reply:
    """PATCH that must succeed: 200 with the resource, or 204 (RFC 7644 §3.5.2)."""
    reply = patch(ctx, path, *ops)
    expect(reply.status in (200, 204), f"{what} should answer 200 or 204", reply)
    if reply.status == 200:
        expect(
            isinstance(reply.body, dict) and reply.body.get("id"),
            f"{what} answered 200 without the resource",
            reply,
        )
    return reply


# --------------------------------------------------------------------------- assertions


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def expect_status(reply: Reply, *codes: int, what: str = "") -> None:
    wanted = " or ".join(str(c) for c in codes)
    expect(reply.status in codes, f"{what + ': ' if what else ''}expected HTTP {wanted}", reply)


def expect_scim_json(reply: Reply, what: str = "response") -> None:
    expect(
        reply.media_type == SCIM_JSON,
        f"{what} Content-Type should be {SCIM_JSON}, got {reply.content_type!r}",
        reply,
    )


def expect_list(reply: Reply) -> dict:
    """200 ListResponse with integer totalResults/startIndex/itemsPerPage (RFC 7644 §3.4.2)."""
    expect(reply.status == 200, "query should answer 200 with a ListResponse", reply)
    body = reply.body
    expect(isinstance(body, dict), "query answered 200 without a JSON object", reply)
    expect(LIST in (body.get("schemas") or []), f"ListResponse must list schema {LIST}", reply)
    expect(is_int(body.get("totalResults")), "totalResults must be a JSON integer", reply)
    for key in ("startIndex", "itemsPerPage"):
        if key in body:
            expect(is_int(body[key]), f"{key} must be a JSON integer", reply)
    resources = body.get("Resources")
    expect(resources is None or isinstance(resources, list), "Resources must be an array", reply)
    return body


def expect_error(reply: Reply, status: int, scim_type: str | tuple[str, ...] | None = None) -> dict:
    """RFC 7644 §3.12 error: HTTP status, Error schema, ``status`` as a string,
    ``scimType`` when the RFC defines one, and the SCIM media type."""
    expect(reply.status == status, f"expected HTTP {status}", reply)
    body = reply.body
    expect(isinstance(body, dict), f"HTTP {status} should carry a JSON error body", reply)
    expect(ERROR in (body.get("schemas") or []), f"error body must list schema {ERROR}", reply)
    expect(
        body.get("status") == str(status),
        f"error 'status' must be the string \"{status}\", got {body.get('status')!r}",
        reply,
    )
    if scim_type:
        allowed = (scim_type,) if isinstance(scim_type, str) else scim_type
        expect(
            body.get("scimType") in allowed,
            f"error scimType should be {' or '.join(allowed)}, got {body.get('scimType')!r}",
            reply,
        )
    expect_scim_json(reply, "error response")
    return body


def ids(resources: Iterable[dict]) -> list[str]:
    return [r.get("id") for r in resources]


def member_ids(group: dict) -> set[str]:
    return {m.get("value") for m in (group.get("members") or []) if isinstance(m, dict)}


def expect_members(ctx: Context, gid: str, wanted: Iterable[str], what: str) -> None:
    group = get_group(ctx, gid, f"after {what}")
    got, want = member_ids(group), set(wanted)
    if got != want:
        fail(f"after {what}: group members should be {sorted(want)}, got {sorted(got)}")


def email_values(user: dict, type_: str | None = None) -> list[str]:
    return [
        e.get("value")
        for e in (user.get("emails") or [])
        if isinstance(e, dict) and (type_ is None or e.get("type") == type_)
    ]


def ext(resource: dict, urn: str) -> dict:
    value = resource.get(urn)
    return value if isinstance(value, dict) else {}
