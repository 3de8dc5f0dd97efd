"""Cursor paging (RFC 9865) on GET /Users, GET /Groups and their POST /.search.

Every walk is compared with the plain truth: the same list by startIndex in one page. A
cursor that is malformed, altered, another organisation's or another query's is
``invalidCursor``; an old one is ``expiredCursor``; every refusal changes nothing.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event
from sqlalchemy import select

from scim_server.scim import cursor
from scim_server.storage.models import Directory
from tests.conftest import PEPPER
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def walk(scim: Scim, path: str, count: int, **params) -> tuple[list[str], list[dict]]:
    """Every page from an empty cursor to the one without ``nextCursor``: ids and bodies."""
    ids: list[str] = []
    bodies: list[dict] = []
    token = ""
    while True:
        response = scim.get(path, query_string={"cursor": token, "count": count, **params})
        body = response.get_json()
        assert response.status_code == 200, body
        assert "startIndex" not in body
        assert body["itemsPerPage"] == len(body["Resources"])
        bodies.append(body)
        ids += [r["id"] for r in body["Resources"]]
        if "nextCursor" not in body:
            return ids, bodies
        token = body["nextCursor"]
        assert len(bodies) < 100, "the walk does not end"


def by_index(scim: Scim, path: str, **params) -> list[str]:
    response = scim.get(path, query_string={"count": 1000, **params})
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["Resources"]]


@pytest.fixture
def people(scim: Scim) -> list[dict]:
    """Eleven users; three share a title and two have none, so sorts meet ties and NULLs."""
    titles = ["b", "a", None, "c", "a", "d", None, "a", "e", "f", "g"]
    return [
        scim.create_user(f"user{i:02d}@example.com", **({"title": t} if t else {}))
        for i, t in enumerate(titles)
    ]


def test_a_cursor_walk_lists_every_user_once_in_the_index_order(scim, people):
    ids, bodies = walk(scim, "/Users", 3)
    assert ids == by_index(scim, "/Users")
    assert len(ids) == 11 and len(bodies) == 4
    assert all(b["totalResults"] == 11 for b in bodies)
    assert "previousCursor" not in bodies[0]
    assert all("previousCursor" in b for b in bodies[1:])


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("sort_by", ["title", "userName", "meta.created", "emails.value"])
def test_sorted_walks_match_the_sorted_list_with_ties_and_nulls(scim, people, sort_by, order):
    params = {"sortBy": sort_by, "sortOrder": order}
    ids, _ = walk(scim, "/Users", 2, **params)
    assert ids == by_index(scim, "/Users", **params)


def test_a_filtered_walk_counts_exactly_and_pages_the_matches(scim, people):
    params = {"filter": 'title eq "a" or title pr', "sortBy": "title"}
    ids, bodies = walk(scim, "/Users", 2, **params)
    assert ids == by_index(scim, "/Users", **params)
    assert {b["totalResults"] for b in bodies} == {9}


def test_previous_cursor_returns_the_page_before(scim, people):
    params = {"sortBy": "title", "sortOrder": "descending"}
    _, bodies = walk(scim, "/Users", 3, **params)
    for earlier, later in zip(bodies, bodies[1:], strict=False):
        response = scim.get(
            "/Users", query_string={"cursor": later["previousCursor"], "count": 3, **params}
        )
        back = response.get_json()
        assert [r["id"] for r in back["Resources"]] == [r["id"] for r in earlier["Resources"]]
        assert ("previousCursor" in back) == ("previousCursor" in earlier)
        assert back["nextCursor"]


def test_the_last_page_has_no_next_cursor_even_when_it_is_full(scim, people):
    _, bodies = walk(scim, "/Users", 11)
    assert len(bodies) == 1 and len(bodies[0]["Resources"]) == 11
    assert "nextCursor" not in bodies[0]


def test_a_walk_neither_repeats_nor_skips_when_users_come_and_go(scim, people):
    """A seek continues after the last row served, whatever changed before it."""
    first = scim.get("/Users", query_string={"cursor": "", "count": 4}).get_json()
    served = [r["id"] for r in first["Resources"]]
    scim.delete(f"/Users/{served[0]}")
    scim.create_user("late@example.com")
    rest, _ = walk_from(scim, first["nextCursor"], 4)
    expected = [i for i in by_index(scim, "/Users") if i > served[-1]]
    assert rest == expected


def walk_from(scim: Scim, token: str, count: int) -> tuple[list[str], int]:
    ids, pages = [], 0
    while token:
        body = scim.get("/Users", query_string={"cursor": token, "count": count}).get_json()
        ids += [r["id"] for r in body["Resources"]]
        token, pages = body.get("nextCursor", ""), pages + 1
    return ids, pages


def test_groups_and_search_bodies_page_by_cursor_too(scim, people):
    for i in range(5):
        scim.create_group(f"Team {i}")
    ids, _ = walk(scim, "/Groups", 2, sortBy="displayName")
    assert ids == by_index(scim, "/Groups", sortBy="displayName")
    body = {"schemas": [SEARCH], "cursor": "", "count": 4, "filter": 'userName sw "user0"'}
    found: list[str] = []
    while True:
        response = scim.post("/Users/.search", body)
        page = response.get_json()
        assert response.status_code == 200, page
        found += [r["id"] for r in page["Resources"]]
        if "nextCursor" not in page:
            break
        body["cursor"] = page["nextCursor"]
    assert found == by_index(scim, "/Users", filter='userName sw "user0"')


def test_a_cursor_page_at_depth_is_a_seek_not_an_offset(scim, people, connection):
    """The page query seeks past the cursor's id; SQLite spells a bare LIMIT as
    ``LIMIT ? OFFSET ?`` with 0, so the offset is checked by value."""
    token = scim.get("/Users", query_string={"cursor": "", "count": 5}).get_json()["nextCursor"]
    seen: list[tuple[str, object]] = []

    def listener(conn, cur, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", listener)
    try:
        scim.get("/Users", query_string={"cursor": token, "count": 5})
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    pages = [(s, p) for s, p in seen if "scim_users.id >" in s and "LIMIT" in s.upper()]
    assert len(pages) == 1, seen
    statement, params = pages[0]
    if "OFFSET" in statement.upper():  # SQLite: the last parameter is the offset
        values = list(params.values()) if isinstance(params, dict) else list(params)
        assert values[-1] == 0, (statement, params)


def test_index_paging_still_works_beside_cursors(scim, people):
    body = scim.get("/Users", query_string={"startIndex": 4, "count": 3}).get_json()
    assert body["startIndex"] == 4 and body["itemsPerPage"] == 3
    assert "nextCursor" not in body
    assert [r["id"] for r in body["Resources"]] == by_index(scim, "/Users")[3:6]


@pytest.mark.parametrize(
    "token", ["abc", "", "a.b", "x" * 5000, "eyJ2IjoxfQ.AAAA", "é.é", "....", "%%%"]
)
def test_malformed_cursors_are_invalid_cursor(scim, people, token):
    if token == "":
        return  # empty is the first page
    response = scim.get("/Users", query_string={"cursor": token})
    body = assert_scim_error(response, 400, "invalidCursor")
    assert "first page" in body["detail"]


def test_an_altered_cursor_is_refused(scim, people):
    token = scim.get("/Users", query_string={"cursor": "", "count": 2}).get_json()["nextCursor"]
    body, mac = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    assert_scim_error(
        scim.get("/Users", query_string={"cursor": f"{flipped}.{mac}"}), 400, "invalidCursor"
    )


def test_another_organisations_cursor_is_refused(scim, people, client, other_org):
    token = scim.get("/Users", query_string={"cursor": "", "count": 2}).get_json()["nextCursor"]
    other = Scim(client, other_org.token)
    other.create_user("someone@globex.example")
    body = assert_scim_error(
        other.get("/Users", query_string={"cursor": token}), 400, "invalidCursor"
    )
    assert "directory" in body["detail"]


@pytest.mark.parametrize(
    "changed",
    [
        {"filter": 'title eq "a"'},
        {"sortBy": "userName"},
        {"sortOrder": "descending"},
    ],
)
def test_a_cursor_of_another_query_is_refused(scim, people, changed):
    token = scim.get("/Users", query_string={"cursor": "", "count": 2}).get_json()["nextCursor"]
    response = scim.get("/Users", query_string={"cursor": token, **changed})
    body = assert_scim_error(response, 400, "invalidCursor")
    assert "another query" in body["detail"]


def test_a_users_cursor_is_not_a_groups_cursor(scim, people):
    token = scim.get("/Users", query_string={"cursor": "", "count": 2}).get_json()["nextCursor"]
    assert_scim_error(scim.get("/Groups", query_string={"cursor": token}), 400, "invalidCursor")


def test_an_old_cursor_has_expired(scim, people, app, db, org):
    fresh = scim.get("/Users", query_string={"cursor": "", "count": 2}).get_json()["nextCursor"]
    scope = db.scalar(select(Directory.id).where(Directory.org_id == org.id))
    payload = cursor.decode(
        cursor.derive_key(PEPPER), fresh, scope=scope, query=_query(fresh), timeout=60
    )
    assert scope not in _payload(fresh).values()  # the directory id is not shown
    timeout = app.config["CURSOR_TIMEOUT_SECONDS"]
    old = cursor.encode(
        cursor.derive_key(PEPPER), scope, _query(fresh), payload, now=time.time() - timeout - 5
    )
    body = assert_scim_error(scim.get("/Users", query_string={"cursor": old}), 400, "expiredCursor")
    assert str(timeout) in body["detail"]
    almost = cursor.encode(
        cursor.derive_key(PEPPER), scope, _query(fresh), payload, now=time.time() - 60
    )
    assert scim.get("/Users", query_string={"cursor": almost}).status_code == 200


def _query(token: str) -> str:
    return _payload(token)["q"]


def _payload(token: str) -> dict:
    import base64
    import json

    body = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_cursor_with_start_index_or_a_bad_count_is_refused(scim, people):
    both = scim.get("/Users", query_string={"cursor": "", "startIndex": 3})
    assert "startIndex" in assert_scim_error(both, 400, "invalidValue")["detail"]
    empty = scim.get("/Users", query_string={"cursor": "", "startIndex": ""})
    assert empty.status_code == 200, empty.get_json()
    for count in (0, -1):
        zero = scim.get("/Users", query_string={"cursor": "", "count": count})
        assert_scim_error(zero, 400, "invalidCount")
    huge = scim.get("/Users", query_string={"cursor": "", "count": 10**6}).get_json()
    assert huge["itemsPerPage"] == 11


def test_a_cursor_in_a_search_body_must_be_a_string(scim, people):
    response = scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": 5})
    assert_scim_error(response, 400, "invalidCursor")


def test_service_provider_config_advertises_both_pagination_methods(client, app):
    doc = client.get("/scim/v2/ServiceProviderConfig").get_json()
    assert doc["pagination"] == {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": app.config["DEFAULT_PAGE_SIZE"],
        "maxPageSize": app.config["MAX_PAGE_SIZE"],
        "cursorTimeout": app.config["CURSOR_TIMEOUT_SECONDS"],
    }
