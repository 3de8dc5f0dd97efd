"""Filtering, pagination and sorting on Users (RFC 7644 §3.4.2.2–§3.4.2.4).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

import datetime as dt
import time

from .common import create
from .common import create_user
from .common import eq_filter
from .common import expect_error
from .common import get_user
from .common import ids
from .common import query
from .common import tag
from .common import user_body
from .registry import Context
from .registry import check
from .registry import expect
from .registry import fail

G = "rfc"


# =========================================================================== filters


def _users(ctx: Context, t: str, labels: str, **per_label: dict) -> dict[str, dict]:
    return {label: create_user(ctx, t, label, **per_label.get(label, {})) for label in labels}


def _matched(ctx: Context, filter_: str) -> set[str]:
    body = query(ctx, "/Users", filter_, count=100)
    resources = body.get("Resources") or []
    expect(
        body["totalResults"] == len(resources),
        f"filter {filter_!r}: totalResults {body['totalResults']} != {len(resources)} resources returned",
    )
    return set(ids(resources))


def _expect_match(ctx: Context, filter_: str, users: dict[str, dict], labels: str) -> None:
    want = {users[label]["id"] for label in labels}
    got = _matched(ctx, filter_)
    names = {u["id"]: label for label, u in users.items()}
    if got != want:
        fail(
            f"filter {filter_!r} should match {sorted(labels) or 'nothing'}, "
            f"got {sorted(names.get(i, i) for i in got) or 'nothing'}"
        )


def _scope(t: str) -> str:
    return f'userName sw "conf-{t}-"'


@check("rfc.filter.eq", G, "RFC 7644 §3.4.2.2 (eq)", requires="filter")
def filter_eq(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, eq_filter("userName", users["a"]["userName"]), users, "a")
    _expect_match(ctx, eq_filter("externalId", users["b"]["externalId"]), users, "b")


@check(
    "rfc.filter.eq_userName_case_insensitive",
    G,
    "RFC 7644 §3.4.2.2 (names/operators case-insensitive; caseExact); RFC 7643 §4.1.1",
    requires="filter",
)
def filter_case(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, eq_filter("userName", users["a"]["userName"].upper()), users, "a")
    _expect_match(ctx, f'USERNAME EQ "{users["a"]["userName"]}"', users, "a")


@check(
    "rfc.filter.externalId_case_exact",
    G,
    "RFC 7643 §3.1 (externalId caseExact=true); RFC 7644 §3.4.2.2",
    requires="filter",
)
def filter_external_case(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "a")
    _expect_match(ctx, eq_filter("externalId", users["a"]["externalId"].upper()), users, "")


@check("rfc.filter.ne_co_sw_ew", G, "RFC 7644 §3.4.2.2 (ne, co, sw, ew)", requires="filter")
def filter_string_ops(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, f'{_scope(t)} and userName ne "{users["a"]["userName"]}"', users, "b")
    _expect_match(ctx, f'userName co "{t}-b@"', users, "b")
    _expect_match(ctx, _scope(t), users, "ab")
    _expect_match(ctx, f'externalId sw "conf-ext-{t}-b"', users, "b")
    _expect_match(ctx, f'userName ew "{t}-b@example.com"', users, "b")


@check("rfc.filter.pr", G, "RFC 7644 §3.4.2.2 (pr)", requires="filter")
def filter_pr(ctx: Context) -> None:
    t = tag()
    users = {"a": create_user(ctx, t, "a")}
    body = user_body(t, "b")
    del body["externalId"]
    users["b"] = create(ctx, "/Users", body)
    _expect_match(ctx, f"{_scope(t)} and externalId pr", users, "a")


@check(
    "rfc.filter.gt_ge_lt_le_string",
    G,
    "RFC 7644 §3.4.2.2 (gt ge lt le, lexicographic)",
    requires="filter",
)
def filter_ordering_strings(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "abc")
    b = users["b"]["userName"]
    for op, labels in (("gt", "c"), ("ge", "bc"), ("lt", "a"), ("le", "ab")):
        _expect_match(ctx, f'{_scope(t)} and userName {op} "{b}"', users, labels)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _two_timed_users(ctx: Context, t: str) -> dict[str, dict]:
    a = create_user(ctx, t, "a")
    time.sleep(1.2)
    b = create_user(ctx, t, "b")
    users = {"a": get_user(ctx, a["id"]), "b": get_user(ctx, b["id"])}
    ta, tb = (_parse_time(users[x]["meta"]["lastModified"]) for x in "ab")
    expect(ta < tb, f"meta.lastModified should increase between creates 1.2 s apart: {ta} vs {tb}")
    return users


@check(
    "rfc.filter.gt_ge_lt_le_meta_lastModified",
    G,
    "RFC 7644 §3.4.2.2 (gt ge lt le on dateTime; ge/le include equality)",
    requires="filter",
)
def filter_last_modified(ctx: Context) -> None:
    t = tag()
    users = _two_timed_users(ctx, t)
    stamp = {x: users[x]["meta"]["lastModified"] for x in "ab"}
    ta, tb = (_parse_time(stamp[x]) for x in "ab")
    mid = (ta + (tb - ta) / 2).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified gt "{mid}"', users, "b")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified lt "{mid}"', users, "a")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified ge "{stamp["b"]}"', users, "b")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified le "{stamp["a"]}"', users, "a")


@check(
    "rfc.filter.logical_operators",
    G,
    "RFC 7644 §3.4.2.2 (and, or, not, grouping, order of operations)",
    requires="filter",
)
def filter_logical(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "abc")
    a, b = users["a"]["userName"], users["b"]["userName"]
    ext_b = users["b"]["externalId"]
    _expect_match(ctx, f'userName eq "{a}" or userName eq "{b}"', users, "ab")
    _expect_match(ctx, f'{_scope(t)} and externalId eq "{users["c"]["externalId"]}"', users, "c")
    _expect_match(ctx, f'{_scope(t)} and not (userName eq "{a}")', users, "bc")
    _expect_match(
        ctx, f'(userName eq "{a}" or userName eq "{b}") and externalId eq "{ext_b}"', users, "b"
    )
    # "and" binds tighter than "or": a or (b and nomatch) -> a
    _expect_match(
        ctx,
        f'userName eq "{a}" or userName eq "{b}" and externalId eq "conf-nomatch-{t}"',
        users,
        "a",
    )


@check(
    "rfc.filter.value_path_and_sub_attribute",
    G,
    "RFC 7644 §3.4.2.2 (valuePath, emails.value)",
    requires="filter",
)
def filter_value_path(ctx: Context) -> None:
    t = tag()
    users = _users(
        ctx, t, "ab", b={"emails": [{"value": f"b-{t}@home.example.org", "type": "home"}]}
    )
    _expect_match(ctx, f'emails[type eq "work" and value co "{t}"]', users, "a")
    _expect_match(ctx, f'emails[type eq "home" and value co "{t}"]', users, "b")
    _expect_match(ctx, f'emails.value eq "b-{t}@home.example.org"', users, "b")


@check(
    "rfc.filter.invalid_400_invalidFilter",
    G,
    "RFC 7644 §3.4.2.2, §3.12 (invalidFilter)",
    requires="filter",
)
def filter_invalid(ctx: Context) -> None:
    for bad in (
        "userName eq",
        'userName regex "conf"',
        '(userName eq "conf"',
        'userName eq "conf" and',
    ):
        expect_error(ctx.client.get("/Users", params={"filter": bad}), 400, "invalidFilter")


@check(
    "rfc.filter.unknown_attribute_400_invalidFilter",
    G,
    "RFC 7644 §3.12 (invalidFilter: attribute/comparison not supported)",
    requires="filter",
)
def filter_unknown_attribute(ctx: Context) -> None:
    reply = ctx.client.get("/Users", params={"filter": f'conformanceNoSuchAttribute{tag()} eq "x"'})
    expect_error(reply, 400, "invalidFilter")


# =========================================================================== pagination & sorting


def _five_users(ctx: Context) -> tuple[str, set[str]]:
    t = tag()
    users = _users(ctx, t, "abcde")
    return _scope(t), {u["id"] for u in users.values()}


def _page(ctx: Context, filter_: str, start: int, count: int) -> dict:
    return query(ctx, "/Users", filter_, startIndex=start, count=count)


def _walk(ctx: Context, filter_: str, count: int, total: int) -> list[str]:
    seen: list[str] = []
    for start in range(1, total + 1, count):
        body = _page(ctx, filter_, start, count)
        page = ids(body.get("Resources") or [])
        expect(
            body["totalResults"] == total,
            f"totalResults should be {total} on every page, got {body['totalResults']}",
        )
        expect(
            body.get("startIndex") == start,
            f"startIndex should echo {start}, got {body.get('startIndex')}",
        )
        expect(
            body.get("itemsPerPage") == len(page),
            f"itemsPerPage {body.get('itemsPerPage')} != {len(page)} returned",
        )
        expect(
            len(page) == min(count, total - start + 1),
            f"page at startIndex={start} count={count} should hold {min(count, total - start + 1)}, got {len(page)}",
        )
        seen += page
    return seen


@check(
    "rfc.page.stable_order_across_pages",
    G,
    "RFC 7644 §3.4.2.4; docs/idp-dialects.md §1.2 (Okta: stable ordering)",
    requires="filter",
)
def page_stable(ctx: Context) -> None:
    scope, mine = _five_users(ctx)
    by_two = _walk(ctx, scope, 2, 5)
    expect(
        sorted(by_two) == sorted(mine),
        f"paging with count=2 should return each user exactly once, got {by_two}",
    )
    by_three = _walk(ctx, scope, 3, 5)
    expect(
        by_three == by_two, "ordering must be the same whatever the page size (count=2 vs count=3)"
    )


@check("rfc.page.start_index_and_count", G, "RFC 7644 §3.4.2.4", requires="filter")
def page_arithmetic(ctx: Context) -> None:
    scope, _ = _five_users(ctx)
    full = ids(_page(ctx, scope, 1, 10).get("Resources") or [])
    expect(len(full) == 5, f"count=10 should return all 5 users, got {len(full)}")
    middle = _page(ctx, scope, 2, 2)
    expect(
        ids(middle.get("Resources") or []) == full[1:3],
        "startIndex=2&count=2 should return items 2-3 of the set",
    )
    last = _page(ctx, scope, 5, 2)
    expect(
        ids(last.get("Resources") or []) == full[4:],
        "startIndex=5&count=2 should return only the 5th item",
    )
    beyond = _page(ctx, scope, 9, 2)
    expect(
        beyond["totalResults"] == 5 and not beyond.get("Resources"),
        f"startIndex past the end should return no resources and totalResults 5: {beyond}",
    )


@check(
    "rfc.page.out_of_range_values",
    G,
    "RFC 7644 §3.4.2.4 (startIndex < 1 is 1; count=0 returns only totalResults; negative count is 0)",
    requires="filter",
)
def page_edge_values(ctx: Context) -> None:
    scope, _ = _five_users(ctx)
    first = ids(_page(ctx, scope, 1, 2).get("Resources") or [])
    for start in (0, -3):
        body = _page(ctx, scope, start, 2)
        expect(
            body.get("startIndex") == 1,
            f"startIndex={start} should be answered as 1, got {body.get('startIndex')}",
        )
        expect(
            ids(body.get("Resources") or []) == first,
            f"startIndex={start} should return the first page",
        )
    for count in (0, -1):
        body = _page(ctx, scope, 1, count)
        expect(
            body["totalResults"] == 5,
            f"count={count}: totalResults should be 5, got {body['totalResults']}",
        )
        expect(
            not body.get("Resources"),
            f"count={count} should return no resources, got {len(body.get('Resources') or [])}",
        )
        expect(body.get("itemsPerPage", 0) == 0, f"count={count}: itemsPerPage should be 0")


def _sorted_labels(ctx: Context, scope: str, users: dict, **params: str) -> list[str]:
    label = {u["id"]: k for k, u in users.items()}
    body = query(ctx, "/Users", scope, count=10, **params)
    return [label.get(i, "?") for i in ids(body.get("Resources") or [])]


@check("rfc.sort.sortBy_sortOrder", G, "RFC 7644 §3.4.2.3", requires=("sort", "filter"))
def sort_users(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "cab")
    got = _sorted_labels(ctx, _scope(t), users, sortBy="userName")
    expect(
        got == ["a", "b", "c"],
        f"sortBy=userName should order a,b,c (ascending by default), got {got}",
    )
    got = _sorted_labels(ctx, _scope(t), users, sortBy="userName", sortOrder="descending")
    expect(
        got == ["c", "b", "a"],
        f"sortBy=userName&sortOrder=descending should order c,b,a, got {got}",
    )
