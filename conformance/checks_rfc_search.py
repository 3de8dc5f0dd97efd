"""Root-level search (RFC 7644 §3.4.3), cursor paging (RFC 9865) and explicit refusals
(RFC 7644 §3.11 /Me, 405 on a search endpoint).

Group ``rfc``; registered through ``registry.check``.
"""

from __future__ import annotations

from .common import GROUP
from .common import USER
from .common import create_group
from .common import create_user
from .common import expect_error
from .common import expect_list
from .common import ids
from .common import is_int
from .common import query
from .common import tag
from .registry import Context
from .registry import check
from .registry import expect
from .registry import fail
from .registry import skip

G = "rfc"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _root(ctx: Context, **body: object) -> dict:
    reply = ctx.client.post("/.search", {"schemas": [SEARCH], **body})
    if reply.status == 501:
        skip("the server answers 501: root-level search is not implemented")
    return expect_list(reply)


@check("rfc.search.root_both_types", G, "RFC 7644 §3.4.3 (root .search)", requires="filter")
def root_both_types(ctx: Context) -> None:
    t = tag()
    users = [create_user(ctx, t, label) for label in "ab"]
    group = create_group(ctx, t)
    body = _root(ctx, filter=f'displayName co "{t}"', sortBy="displayName", count=10)
    resources = body.get("Resources") or []
    expect(
        set(ids(resources)) == {users[0]["id"], users[1]["id"], group["id"]},
        "POST /.search should find both users and the group whose displayName holds the tag",
    )
    expect(body["totalResults"] == 3, f"totalResults should be 3, got {body['totalResults']}")
    for resource in resources:
        kind = (resource.get("meta") or {}).get("resourceType")
        core = {"User": USER, "Group": GROUP}.get(kind or "")
        expect(core in (resource.get("schemas") or []), f"a {kind} result must list {core}")
    names = [str(r.get("displayName", "")).lower() for r in resources]
    expect(names == sorted(names), f"sortBy=displayName should sort across types: {names}")


@check("rfc.search.root_type_specific_filter", G, "RFC 7644 §3.4.3", requires="filter")
def root_type_specific(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    create_group(ctx, t)
    body = _root(ctx, filter=f'userName eq "{user["userName"]}"')
    expect(
        ids(body.get("Resources") or []) == [user["id"]],
        "a filter on userName should find the user only (Groups have no userName)",
    )


@check("rfc.search.get_is_405", G, "RFC 7644 §3.4.3 (POST only); RFC 7231 §6.5.5")
def search_get_is_405(ctx: Context) -> None:
    for path in ("/Users/.search", "/.search"):
        reply = ctx.client.get(path)
        expect_error(reply, 405)
        allow = reply.headers.get("Allow", "")
        expect("POST" in allow, f"GET {path}: 405 should carry Allow naming POST, got {allow!r}")


@check("rfc.me.unsupported_is_501", G, "RFC 7644 §3.11 (/Me)")
def me_is_501(ctx: Context) -> None:
    reply = ctx.client.get("/Me")
    if reply.status == 200:
        skip("the server implements /Me")
    expect_error(reply, 501)


def _cursor_paging(ctx: Context) -> dict:
    pagination = ctx.features.spc().get("pagination")
    if not isinstance(pagination, dict) or pagination.get("cursor") is not True:
        skip("/ServiceProviderConfig does not advertise pagination.cursor=true")
    return pagination


@check("rfc.cursor.advertised", G, "RFC 9865 (ServiceProviderConfig pagination)")
def cursor_advertised(ctx: Context) -> None:
    pagination = _cursor_paging(ctx)
    for key in ("defaultPageSize", "maxPageSize", "cursorTimeout"):
        expect(is_int(pagination.get(key)), f"pagination.{key} must be an integer")
    expect(
        pagination.get("defaultPaginationMethod") in ("cursor", "index"),
        "pagination.defaultPaginationMethod must be cursor or index",
    )


@check("rfc.cursor.walk", G, "RFC 9865 (cursor, nextCursor, previousCursor)", requires="filter")
def cursor_walk(ctx: Context) -> None:
    _cursor_paging(ctx)
    t = tag()
    made = {create_user(ctx, t, label)["id"] for label in "abcde"}
    scope = f'userName sw "conf-{t}-"'
    truth = ids(query(ctx, "/Users", scope, count=10).get("Resources") or [])
    pages, token = [], ""
    while len(pages) < 10:
        page = query(ctx, "/Users", scope, cursor=token, count=2)
        pages.append(page)
        expect(page["totalResults"] == 5, f"totalResults should be 5, got {page['totalResults']}")
        if "nextCursor" not in page:
            break
        token = page["nextCursor"]
    walked = [i for p in pages for i in ids(p.get("Resources") or [])]
    expect(set(walked) == made, "a cursor walk should list each user exactly once")
    expect(walked == truth, "a cursor walk should list users in the order index paging does")
    expect(len(pages) == 3, f"5 users by 2 should be 3 pages, got {len(pages)}")
    back = pages[1].get("previousCursor")
    if not back:
        fail("page 2 of a cursor walk should carry previousCursor")
    again = query(ctx, "/Users", scope, cursor=back, count=2)
    expect(
        ids(again.get("Resources") or []) == ids(pages[0].get("Resources") or []),
        "previousCursor of page 2 should give page 1 again",
    )


@check("rfc.cursor.invalid", G, "RFC 9865 (invalidCursor)", requires="filter")
def cursor_invalid(ctx: Context) -> None:
    _cursor_paging(ctx)
    expect_error(ctx.client.get("/Users", params={"cursor": "abc"}), 400, "invalidCursor")
    t = tag()
    for label in "abc":
        create_user(ctx, t, label)
    page = query(ctx, "/Users", f'userName sw "conf-{t}-"', cursor="", count=1)
    token = page.get("nextCursor")
    if not token:
        fail("a first page of 1 out of 3 should carry nextCursor")
    other = ctx.client.get("/Users", params={"filter": 'userName sw "zz"', "cursor": token})
    expect_error(other, 400, "invalidCursor")
