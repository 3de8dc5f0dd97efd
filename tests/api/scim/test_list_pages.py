"""Unfiltered list pages: counters for totalResults, bookmarks for sequential walks.

The design is in scim_server/storage/list_state.py. Each test compares with the plain
truth read from the rows (an exact COUNT, an OFFSET page), so a fast wrong answer fails.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from scim_server.storage import list_state
from scim_server.storage.models import Directory
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimLiveCount
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow
from tests.scim_client import Scim
from tests.sql_statements import statements_during


def directory_of(db, org) -> str:
    return db.scalar(select(Directory.id).where(Directory.org_id == org.id))


def live_user_count(db, directory: str) -> int:
    return db.scalar(
        select(func.count())
        .select_from(ScimUser)
        .where(ScimUser.directory_id == directory, ScimUser.deleted_at.is_(None))
    )


def listed_total(scim: Scim, path: str, **params) -> int:
    response = scim.get(path, query_string={"count": 0, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["totalResults"]


def assert_counters_exact(db, scim: Scim, directory: str) -> None:
    groups = db.scalar(
        select(func.count()).select_from(ScimGroup).where(ScimGroup.directory_id == directory)
    )
    assert listed_total(scim, "/Users") == live_user_count(db, directory)
    assert listed_total(scim, "/Groups") == groups
    assert list_state.reconcile_counts(db, fix=False) == []


def test_counters_stay_exact_through_every_change_of_the_live_set(db, scim, org, client, other_org):
    directory = directory_of(db, org)
    users = [scim.create_user() for _ in range(5)]
    Scim(client, other_org.token).create_user()  # another directory's counter
    assert_counters_exact(db, scim, directory)
    scim.delete(f"/Users/{users[0]['id']}")  # tombstone
    scim.delete(f"/Users/{users[1]['id']}")
    assert_counters_exact(db, scim, directory)
    scim.create_user(users[0]["userName"])  # re-add: a new live row beside the tombstone
    scim.patch(f"/Users/{users[2]['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert_counters_exact(db, scim, directory)
    groups = [scim.create_group(members=[users[3]["id"]]) for _ in range(3)]
    scim.delete(f"/Groups/{groups[0]['id']}")
    assert_counters_exact(db, scim, directory)
    # one statement over many rows (a directory disconnect's bulk tombstone), and back
    db.execute(
        update(ScimUser)
        .where(ScimUser.directory_id == directory, ScimUser.deleted_at.is_(None))
        .values(deleted_at=utcnow())
    )
    assert listed_total(scim, "/Users") == 0
    db.execute(
        update(ScimUser)
        .where(ScimUser.id.in_([users[3]["id"], users[4]["id"]]))
        .values(deleted_at=None)
    )
    assert_counters_exact(db, scim, directory)
    assert listed_total(scim, "/Users") == 2


def test_parallel_creates_spread_over_shards(db, scim):
    for _ in range(8):
        scim.create_user()
    shards = db.scalars(select(ScimLiveCount.shard).where(ScimLiveCount.resource == "User"))
    assert len(set(shards)) > 1


def plant_drift(db, directory: str, by: int) -> None:
    db.execute(
        text(
            "UPDATE scim_live_counts SET live = live + :by WHERE directory_id = :d "
            "AND resource = 'User' AND shard = (SELECT min(shard) FROM scim_live_counts "
            "WHERE directory_id = :d AND resource = 'User')"
        ),
        {"by": by, "d": directory},
    )


def test_reconcile_finds_and_fixes_planted_drift(db, scim, org):
    for _ in range(3):
        scim.create_user()
    directory = directory_of(db, org)
    plant_drift(db, directory, 5)
    before = db.execute(select(list_state.totals(directory, "User"))).one()
    assert listed_total(scim, "/Users") == 8  # the unfiltered total is the counter's
    drift = list_state.Drift(directory, "User", 8, 3, 1)
    assert list_state.reconcile_counts(db, fix=False) == [drift]
    assert list_state.reconcile_counts(db, fix=True) == [drift]
    assert list_state.reconcile_counts(db, fix=False) == []
    assert listed_total(scim, "/Users") == 3
    after = db.execute(select(list_state.totals(directory, "User"))).one()
    assert after.generation > before.generation  # old bookmarks are never used again


def move_count(db, directory: str, resource: str) -> None:
    """One row counted in the wrong shard: the directory's total stays right."""
    lowest, highest = db.execute(
        select(func.min(ScimLiveCount.shard), func.max(ScimLiveCount.shard)).where(
            ScimLiveCount.directory_id == directory,
            ScimLiveCount.resource == resource,
            ScimLiveCount.live > 0,
        )
    ).one()
    assert lowest != highest
    for shard, by in ((lowest, -1), (highest, 1)):
        db.execute(
            update(ScimLiveCount)
            .where(
                ScimLiveCount.directory_id == directory,
                ScimLiveCount.resource == resource,
                ScimLiveCount.shard == shard,
            )
            .values(live=ScimLiveCount.live + by)
        )


def assert_jumps_match_offset(db, scim: Scim, directory: str) -> None:
    total = live_user_count(db, directory)
    for start in range(1, total + 1):
        db.execute(text("DELETE FROM scim_page_bookmarks"))  # a jump, not a walk's next page
        expected = offset_page(db, ScimUser, directory, start - 1, 1)
        assert page_ids(scim, "/Users", start, 1)[1] == expected, start


def test_reconcile_finds_a_count_in_the_wrong_shard_with_the_total_right(db, scim, org):
    """Jumps trust each shard's count, so a misplaced one is drift although the directory's
    total is exact; fixing it puts every jump back on the page OFFSET gives."""
    directory = directory_of(db, org)
    for _ in range(12):
        scim.create_user()
    move_count(db, directory, "User")
    assert list_state.reconcile_counts(db, fix=True) == [
        list_state.Drift(directory, "User", 12, 12, 2)
    ]
    assert list_state.reconcile_counts(db, fix=False) == []
    assert_jumps_match_offset(db, scim, directory)


def test_jumps_stay_right_through_creates_after_a_fix(db, scim, org):
    """The fix rewrites every shard from its rows, so the creates that follow land beside
    right counts (a fix that lumped the total into one shard misplaced every later jump)."""
    directory = directory_of(db, org)
    for _ in range(10):
        scim.create_user()
    plant_drift(db, directory, 2)
    assert list_state.reconcile_counts(db, fix=True)
    for _ in range(10):
        scim.create_user()
    assert list_state.reconcile_counts(db, fix=False) == []
    assert_jumps_match_offset(db, scim, directory)


@pytest.mark.parametrize(
    ("resource_id", "shard"),
    [("00ab", 0), ("0f", 15), ("ff-1", 255), ("a", 256), ("AB12", 256), ("g0", 256), ("", 256)],
)
def test_shard_of_agrees_with_the_triggers(db, org, resource_id, shard):
    """The shard the reconcile computes for an id is the one the trigger counts it in."""
    assert list_state.shard_of(resource_id) == shard
    directory = directory_of(db, org)
    db.execute(
        text(
            "INSERT INTO scim_groups (id, directory_id, display_name, attributes, version, "
            "created_at, updated_at) VALUES (:id, :d, :id, '{}', 1, :t, :t)"
        ),
        {"id": resource_id, "d": directory, "t": utcnow()},
    )
    counted = db.scalars(
        select(ScimLiveCount.shard).where(
            ScimLiveCount.directory_id == directory,
            ScimLiveCount.resource == "Group",
            ScimLiveCount.live > 0,
        )
    ).all()
    assert counted == [shard]


def test_a_bookmark_from_before_a_fix_is_not_trusted_again(db, scim, org):
    """Lost counter rows lower the generation; after the fix it climbs back to a
    bookmark's value, which must not make that bookmark usable again."""
    directory = directory_of(db, org)
    for _ in range(10):
        scim.create_user()
    page_ids(scim, "/Users", 1, 3)  # bookmarks position 3 at generation 10
    db.execute(text("DELETE FROM scim_live_counts WHERE directory_id = :d"), {"d": directory})
    db.commit()  # the drift: counters lost
    assert list_state.reconcile_counts(db, fix=True)
    db.commit()
    for _ in range(9):
        scim.create_user()  # generation 1 -> 10 again, nine rows more
    expected = offset_page(db, ScimUser, directory, 3, 3)
    served = page_ids(scim, "/Users", 4, 3)[1]
    assert served == expected


def test_filtered_lists_still_count_exactly(db, scim, org):
    for name in ("ann@example.com", "amy@example.com", "bob@example.com"):
        scim.create_user(name)
    plant_drift(db, directory_of(db, org), 100)
    assert listed_total(scim, "/Users", filter='userName sw "a"') == 2
    assert listed_total(scim, "/Users", filter="userName pr") == 3


@pytest.mark.parametrize(
    ("start", "count"),
    [(1, 10), (1, 5), (1, 2), (2, 2), (4, 2), (5, 2), (6, 2), (9, 3), (1, 0), (3, 0)],
)
def test_a_filtered_page_reports_the_exact_total_wherever_it_starts(db, scim, start, count):
    """Five matches among seven: a short page ends the matches and needs no COUNT; a full,
    empty or zero-sized page counts. Every combination must say five."""
    for i in range(5):
        scim.create_user(f"match{i}@example.com")
    for name in ("other@example.com", "else@example.com"):
        scim.create_user(name)
    response = scim.get(
        "/Users",
        query_string={"filter": 'userName sw "match"', "startIndex": start, "count": count},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totalResults"] == 5
    assert len(body.get("Resources", [])) == max(0, min(count, 5 - (start - 1)))


def offset_page(db, model, directory: str, offset: int, count: int) -> list[str]:
    """The reference: what OFFSET paging over the rows gives now."""
    ids = select(model.id).where(model.directory_id == directory)
    if model is ScimUser:
        ids = ids.where(ScimUser.deleted_at.is_(None))
    return list(db.scalars(ids.order_by(model.id).offset(offset).limit(count)))


def page_ids(scim: Scim, path: str, start: int, count: int) -> tuple[int, list[str]]:
    response = scim.get(path, query_string={"startIndex": start, "count": count})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["totalResults"], [r["id"] for r in body["Resources"]]


def test_a_sequential_walk_matches_offset_paging_through_creates_and_deletes(db, scim, org):
    users = [scim.create_user() for _ in range(14)]
    directory = directory_of(db, org)
    first_page = offset_page(db, ScimUser, directory, 0, 3)
    start, walked = 1, []
    while True:
        expected = offset_page(db, ScimUser, directory, start - 1, 3)
        total, ids = page_ids(scim, "/Users", start, 3)
        assert ids == expected, f"page at startIndex {start}"
        assert total == live_user_count(db, directory)
        walked += ids
        if start == 4:  # mid-walk: a delete before the bookmark, a create anywhere
            scim.delete(f"/Users/{first_page[0]}")
            scim.create_user()
        if start == 7:
            scim.delete(f"/Users/{ids[-1]}")  # the very row the bookmark names
        if not ids:
            break
        start += len(ids)
    assert len(walked) >= len(users) - 2


def test_a_sequential_group_walk_matches_offset_paging(db, scim, org):
    for _ in range(7):
        scim.create_group()
    directory = directory_of(db, org)
    for start in (1, 3, 5, 7, 9):
        assert page_ids(scim, "/Groups", start, 2)[1] == offset_page(
            db, ScimGroup, directory, start - 1, 2
        )
        if start == 3:
            scim.delete(f"/Groups/{offset_page(db, ScimGroup, directory, 0, 1)[0]}")


def offsets_during(connection, action) -> list[object]:
    """The value of every OFFSET the SQL run by ``action`` carried (SQLite's compiler
    writes ``LIMIT ? OFFSET ?`` with 0 for every LIMIT; PostgreSQL's only on request)."""
    seen: list[object] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        for match in re.finditer(r"\bOFFSET\s+(\?|%\((\w+)\)s)", statement, re.I):
            if match.group(2):
                seen.append(parameters[match.group(2)])
            else:
                seen.append(parameters[statement[: match.start(1)].count("?")])

    event.listen(connection, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    return seen


@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_a_sequential_page_seeks_and_never_counts_rows(db, scim, connection, path):
    for _ in range(6):
        scim.create_user() if path == "/Users" else scim.create_group()
    table = "scim_users" if path == "/Users" else "scim_groups"
    jump = statements_during(connection, lambda: page_ids(scim, path, 3, 2))
    assert any(re.search(rf"{table}\.id >= ", s) for s in jump)  # sought from its shard
    assert all(
        offset <= 2 for offset in offsets_during(connection, lambda: page_ids(scim, path, 3, 2))
    )
    assert not any(offsets_during(connection, lambda: page_ids(scim, path, 5, 2)))
    walk = statements_during(connection, lambda: page_ids(scim, path, 7, 2))
    assert not [s for s in walk if re.search(rf"count\(.*\bFROM {table}\b", s, re.I | re.S)]
    assert any("scim_live_counts" in s for s in walk)
    assert any(re.search(rf"{table}\.id > ", s) for s in walk)  # the seek


def test_walk_pages_reuse_one_bookmark_row(db, scim):
    for _ in range(9):
        scim.create_user()
    for start in (1, 3, 5, 7):
        page_ids(scim, "/Users", start, 2)
    positions = db.scalars(text("SELECT position FROM scim_page_bookmarks")).all()
    assert positions == [8]


def test_a_jump_lands_on_the_page_offset_gives_through_creates_and_deletes(db, scim, org):
    """Every startIndex, jumped to directly (no bookmark): the page OFFSET gives, while
    users come and go between the jumps."""
    directory = directory_of(db, org)
    users = [scim.create_user() for _ in range(40)]
    for start in range(1, 44, 3):
        if start % 2:
            scim.delete(f"/Users/{users.pop(start % len(users))['id']}")
        else:
            users.append(scim.create_user())
        db.execute(text("DELETE FROM scim_page_bookmarks"))  # a jump, not a walk's next page
        expected = offset_page(db, ScimUser, directory, start - 1, 4)
        total, ids = page_ids(scim, "/Users", start, 4)
        assert (total, ids) == (live_user_count(db, directory), expected), start


def test_a_jump_skips_only_the_rows_of_its_shard(db, scim, connection):
    """Deep in the list, the OFFSET a jump pays is the position within one shard."""
    for _ in range(60):
        scim.create_user()
    offsets = offsets_during(connection, lambda: page_ids(scim, "/Users", 50, 5))
    assert offsets and max(offsets) < 49


def test_a_stale_bookmark_falls_back_to_the_jump(db, scim, connection):
    """A change during a walk makes the next page's bookmark stale; the page is then
    placed by the shards, not by an OFFSET over every row before it."""
    for _ in range(60):
        scim.create_user()
    for start in (1, 11, 21, 31):
        page_ids(scim, "/Users", start, 10)  # a walk: the bookmark of position 40
    scim.create_user()  # the live set changed: that bookmark may shift the page
    offsets = offsets_during(connection, lambda: page_ids(scim, "/Users", 41, 10))
    assert offsets and max(offsets) < 40


def test_an_id_outside_the_hex_shards_sends_jumps_back_to_offset(db, scim, org, connection):
    """Server-made ids are lowercase hex; one that is not (here written by hand) counts in
    the OTHER shard, where the shards no longer place positions: jumps take the plain OFFSET
    and still give its page."""
    directory = directory_of(db, org)
    for _ in range(8):
        scim.create_group()
    db.execute(
        text(
            "INSERT INTO scim_groups (id, directory_id, display_name, attributes, version, "
            "created_at, updated_at) VALUES ('Zz-not-hex', :d, 'Odd', '{}', 1, :t, :t)"
        ),
        {"d": directory, "t": utcnow()},
    )
    assert list_state.find_jump(db, directory, "Group", 4) is None
    offsets = offsets_during(connection, lambda: page_ids(scim, "/Groups", 5, 3))
    assert 4 in offsets
    assert page_ids(scim, "/Groups", 5, 3)[1] == offset_page(db, ScimGroup, directory, 4, 3)
    assert list_state.reconcile_counts(db, fix=False) == []
