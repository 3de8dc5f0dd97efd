"""Authentication, error responses, content types and ETags (RFC 7644 §2, §3.8, §3.12, §3.14).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

from .common import USER
from .common import create_user
from .common import expect_error
from .common import get_user
from .common import patch
from .common import random_id
from .common import tag
from .common import track
from .common import user_body
from .registry import Context
from .registry import check
from .registry import expect

G = "rfc"


# =========================================================================== auth & errors


@check("rfc.auth.missing_or_invalid_token_401", G, "RFC 7644 §2, §3.12 (401)")
def invalid_token(ctx: Context) -> None:
    expect_error(
        ctx.client.get("/Users", params={"count": 1}, headers={"Authorization": None}), 401
    )
    bad = {"Authorization": f"Bearer conformance-invalid-{tag()}{tag()}"}
    for path in ("/Users", f"/Users/{random_id()}", "/Groups"):
        expect_error(ctx.client.get(path, headers=bad), 401)


@check(
    "rfc.error.unknown_id_404", G, "RFC 7644 §3.4.1, §3.5.1 (PUT MUST NOT create), §3.5.2, §3.12"
)
def unknown_id(ctx: Context) -> None:
    expect_error(ctx.client.get(f"/Users/{random_id()}"), 404)
    expect_error(ctx.client.get(f"/Groups/{random_id()}"), 404)
    missing = random_id()
    reply = ctx.client.put(f"/Users/{missing}", user_body(tag()))
    track(ctx, reply, "/Users")
    expect_error(reply, 404)
    expect_error(
        patch(ctx, f"/Users/{missing}", {"op": "replace", "path": "nickName", "value": "x"}), 404
    )


@check(
    "rfc.error.invalid_body_400",
    G,
    "RFC 7644 §3.12 (invalidSyntax, invalidValue); RFC 7643 §4.1.1 (userName REQUIRED)",
)
def invalid_body(ctx: Context) -> None:
    reply = ctx.client.request("POST", "/Users", data='{"schemas": ["' + USER + '"], "userName": ')
    track(ctx, reply, "/Users")
    expect_error(reply, 400, "invalidSyntax")
    body = user_body(tag())
    del body["userName"]
    reply = ctx.client.post("/Users", body)
    track(ctx, reply, "/Users")
    expect_error(reply, 400, ("invalidValue", "invalidSyntax"))


@check("rfc.content_type.application_json_accepted", G, "RFC 7644 §3.8; docs/api.md §4")
def application_json(ctx: Context) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    reply = ctx.client.post("/Users", user_body(tag()), headers=headers)
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201,
        "POST with Content-Type/Accept application/json should be accepted (201)",
        reply,
    )
    got = ctx.client.get(f"/Users/{reply.body['id']}", headers={"Accept": "application/json"})
    expect(got.status == 200, "GET with Accept: application/json should answer 200", got)


# =========================================================================== ETags


def _etag_user(ctx: Context) -> tuple[dict, str]:
    user = create_user(ctx)
    reply = ctx.client.get(f"/Users/{user['id']}")
    etag = reply.headers.get("ETag")
    expect(
        reply.status == 200 and etag,
        "GET of a resource must carry an ETag header when etag is supported",
        reply,
    )
    return reply.body, etag


@check(
    "rfc.etag.header_and_if_none_match",
    G,
    "RFC 7644 §3.14 (ETag header, If-None-Match: 304); RFC 7643 §3.1 (meta.version)",
    requires="etag",
)
def etag_header(ctx: Context) -> None:
    body, etag = _etag_user(ctx)
    version = (body.get("meta") or {}).get("version")
    expect(version == etag, f"ETag header {etag!r} should equal meta.version {version!r}")
    reply = ctx.client.get(f"/Users/{body['id']}", headers={"If-None-Match": etag})
    expect(reply.status == 304, "GET with a matching If-None-Match should answer 304", reply)


@check(
    "rfc.etag.if_match",
    G,
    "RFC 7644 §3.14 (If-Match; 412 Precondition Failed)",
    requires=("etag", "patch"),
)
def etag_if_match(ctx: Context) -> None:
    body, etag = _etag_user(ctx)
    path = f"/Users/{body['id']}"
    op = {"op": "replace", "path": "nickName", "value": "etagged"}
    stale = patch(ctx, path, op, headers={"If-Match": 'W/"conformance-stale"'})
    expect_error(stale, 412)
    expect(
        get_user(ctx, body["id"]).get("nickName") != "etagged", "a 412 update must not be applied"
    )
    fresh = patch(ctx, path, op, headers={"If-Match": etag})
    expect(
        fresh.status in (200, 204), "PATCH with the current ETag in If-Match should succeed", fresh
    )
    after = ctx.client.get(path)
    expect(
        after.headers.get("ETag") and after.headers.get("ETag") != etag,
        "the ETag must change when the resource changes",
        after,
    )
