"""Live counters and page bookmarks: unfiltered list pages that cost the same at any size.

Two things made a page of ``GET /Users`` grow with the directory: the exact
``totalResults`` (a COUNT over every live row, on every page) and ``startIndex`` (an
OFFSET that reads and throws away every row before the page). Filtered lists keep both —
their count is exact and their sets are small; the unfiltered list, the one identity
providers walk in full, gets these instead:

**Counters.** ``scim_live_counts`` holds, per directory and resource (``User`` or
``Group``), up to ``SHARDS`` rows whose ``live`` values add up to the number of live SCIM
users (not tombstoned) or groups. Database triggers (migrations 0006 and 0016) move them
in the transaction of every INSERT, DELETE and tombstone or restore (an UPDATE that
changes whether ``deleted_at`` is NULL) — so no service, CLI command or bulk SQL load
can forget one. A row's shard is the first two hex digits of its id (0–255; ``OTHER``
for an id that does not start with two lowercase hex digits): ids are random, so two
parallel creates almost always update different counter rows and do not queue on one row
lock, and the shards are in id order. Reading the total sums the shards' rows of the
primary key.

**Generation.** Each counter row also has ``changes``, which every such change
increments and nothing decrements. Its sum over a directory's shards is the directory's
*generation*: it grows with every committed change of the live set, so two reads that
see the same generation saw the same set of live rows.

**Bookmarks.** The unfiltered list is in id order (``ix_scim_users_live_listing``).
When a page is served, a ``scim_page_bookmarks`` row records (directory, resource, query
key, position of the next row, last id served, generation). When the next request asks
for that position at the same generation, the page is ``id > last id ORDER BY id LIMIT
n`` — an index seek — instead of ``OFFSET position``. Okta and Entra import by stepping
``startIndex`` 1, 101, 201, … in order, so each of their pages finds the bookmark its
predecessor wrote, in whichever worker served it: bookmarks are rows, not process state.
A bookmark whose generation is not the current one is ignored (a create or delete before
the bookmark's id would shift the page); an arbitrary jump finds none.

**Jumps.** Without a usable bookmark, the shards place the position: adding their counts
in shard order finds the shard that holds it and how many rows come before that shard, so
the page is ``id >= <the shard's two digits> ORDER BY id OFFSET <position within the
shard>`` — a seek and at most one shard's rows skipped (4,000 at 1,000,000 users), where
a plain OFFSET skipped every row before the position. The shards are read in a statement
of their own, so the page's statement checks the generation it was planned at, as for a
bookmark; a changed generation, or a directory holding an ``OTHER`` id, gets the plain
OFFSET, which is always right. Either way the page leaves a fresh bookmark for the next.

The search reads the total, the generation and the page ids in one statement
(``services/directory/search.py``), so on PostgreSQL all three come from one snapshot:
a page served by a seek is exactly the page OFFSET would give at that generation.

**Upkeep.** A page served from a bookmark deletes it as it writes the next one, so a walk
keeps one row. A fresh bookmark (after a jump) instead removes the directory's bookmarks
of older generations and those unused for ``BOOKMARK_TTL``. Counters cannot drift while
every change goes through SQL that fires the triggers; ``reconcile_counts`` (the command
``scim-server db reconcile-counts``) recounts them all the same, shard by shard (a count
in the wrong shard misplaces jumps though the total is right), reports any drift and,
with ``fix``, rewrites every shard of the directory from its rows and bumps the
generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Subquery
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session

from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimLiveCount
from scim_server.storage.models import ScimPageBookmark
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow

SHARDS = 257  # as the triggers of migration 0016 make them: 256 id prefixes, then OTHER
OTHER = 256
_HEX = "0123456789abcdef"
BOOKMARK_TTL = timedelta(hours=1)
UNFILTERED = "all"  # the query key of the unfiltered list in id order


def totals(directory_id: str, resource: str) -> Subquery:
    """One row: ``total`` live resources and the ``generation`` of the directory."""
    return (
        select(
            func.coalesce(func.sum(ScimLiveCount.live), 0).label("total"),
            func.coalesce(func.sum(ScimLiveCount.changes), 0).label("generation"),
        )
        .where(ScimLiveCount.directory_id == directory_id, ScimLiveCount.resource == resource)
        .subquery("totals")
    )


@dataclass(frozen=True)
class Bookmark:
    position: int
    after_id: str
    generation: int


def find_bookmark(db: Session, directory_id: str, resource: str, position: int) -> Bookmark | None:
    row = db.execute(
        select(ScimPageBookmark.after_id, ScimPageBookmark.generation).where(
            ScimPageBookmark.directory_id == directory_id,
            ScimPageBookmark.resource == resource,
            ScimPageBookmark.query_key == UNFILTERED,
            ScimPageBookmark.position == position,
        )
    ).first()
    return None if row is None else Bookmark(position, row[0], int(row[1]))


def save_bookmark(
    db: Session, directory_id: str, resource: str, used: Bookmark | None, new: Bookmark
) -> None:
    """Bookmark the next page; drop the one this page used (a walk keeps one row), or, on
    a fresh start, the directory's stale ones. An upsert, so racing workers both succeed."""
    key = (
        ScimPageBookmark.directory_id == directory_id,
        ScimPageBookmark.resource == resource,
        ScimPageBookmark.query_key == UNFILTERED,
    )
    stale = (
        ScimPageBookmark.position == used.position
        if used is not None
        else (ScimPageBookmark.generation != new.generation)
        | (ScimPageBookmark.used_at < utcnow() - BOOKMARK_TTL)
    )
    db.execute(
        delete(ScimPageBookmark).where(*key, stale).execution_options(synchronize_session=False)
    )
    values = {"after_id": new.after_id, "generation": new.generation, "used_at": utcnow()}
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(ScimPageBookmark).values(
        directory_id=directory_id,
        resource=resource,
        query_key=UNFILTERED,
        position=new.position,
        **values,
    )
    db.execute(
        upsert.on_conflict_do_update(
            index_elements=["directory_id", "resource", "query_key", "position"], set_=values
        )
    )


@dataclass(frozen=True)
class Jump:
    """Where a position falls: ids from ``lower`` on, after skipping ``skip`` of them."""

    lower: str
    skip: int
    generation: int


def find_jump(db: Session, directory_id: str, resource: str, position: int) -> Jump | None:
    """The shard holding ``position`` (0-based) of the list in id order, from the counters;
    None when the counters cannot place it (past the end, or an ``OTHER`` id exists)."""
    rows = db.execute(
        select(ScimLiveCount.shard, ScimLiveCount.live, ScimLiveCount.changes)
        .where(ScimLiveCount.directory_id == directory_id, ScimLiveCount.resource == resource)
        .order_by(ScimLiveCount.shard)
    ).all()
    if any(row.shard == OTHER and row.live for row in rows):
        return None
    generation = sum(int(row.changes) for row in rows)
    before = 0
    for row in rows:
        live = int(row.live)
        if row.shard < OTHER and before + live > position:
            lower = _HEX[row.shard // 16] + _HEX[row.shard % 16]
            return Jump(lower, position - before, generation)
        before += live
    return None


@dataclass(frozen=True)
class Drift:
    directory_id: str
    resource: str
    counted: int  # what the counters say
    actual: int  # what the rows say
    shards_off: int  # shards whose counter differs from their rows (totals may agree)


Shards = dict[int, int]  # shard -> live rows, zero shards left out


def reconcile_counts(db: Session, *, fix: bool) -> list[Drift]:
    """Recount every directory's live users and groups, shard by shard, and compare with
    the counters.

    Per shard, not per directory: a jump trusts each shard's count to place a position,
    so a row counted in the wrong shard gives wrong pages although the total is right.
    On PostgreSQL the counters are locked against writers first (their triggers wait),
    so a create committing meanwhile is neither counted twice nor missed. With ``fix``,
    each drifted directory's counters are rewritten from the rows and its generation
    bumped, so no bookmark or jump planned under the wrong counts is used again.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE scim_live_counts IN SHARE ROW EXCLUSIVE MODE"))
    counted, changes = _counted(db)
    actual = _actual(db)
    drifts = []
    for key in sorted(counted.keys() | actual.keys()):
        have, want = counted.get(key, {}), actual.get(key, {})
        off = sum(have.get(shard, 0) != want.get(shard, 0) for shard in have.keys() | want.keys())
        if off:
            drifts.append(Drift(*key, sum(have.values()), sum(want.values()), off))
    if fix:
        for drift in drifts:
            key = (drift.directory_id, drift.resource)
            _rewrite(db, key, actual.get(key, {}), changes.get(key, 0))
    return drifts


def _counted(db: Session) -> tuple[dict[tuple[str, str], Shards], dict[tuple[str, str], int]]:
    """The counters: live per shard, and each directory's generation."""
    shards: dict[tuple[str, str], Shards] = {}
    generations: dict[tuple[str, str], int] = {}
    rows = db.execute(
        select(
            ScimLiveCount.directory_id,
            ScimLiveCount.resource,
            ScimLiveCount.shard,
            ScimLiveCount.live,
            ScimLiveCount.changes,
        )
    )
    for directory, resource, shard, live, changes in rows:
        key = (directory, resource)
        generations[key] = generations.get(key, 0) + int(changes)
        if live:
            shards.setdefault(key, {})[int(shard)] = int(live)
    return shards, generations


def _actual(db: Session) -> dict[tuple[str, str], Shards]:
    """The rows, counted per two-character id prefix in the database; the prefix names
    the shard as the triggers compute it (``shard_of``)."""
    out: dict[tuple[str, str], Shards] = {}
    users = _by_prefix(db, ScimUser.id, ScimUser.directory_id, ScimUser.deleted_at.is_(None))
    groups = _by_prefix(db, ScimGroup.id, ScimGroup.directory_id, true())
    for resource, rows in (("User", users), ("Group", groups)):
        for directory, prefix, n in rows:
            shards = out.setdefault((directory, resource), {})
            shard = shard_of(prefix)
            shards[shard] = shards.get(shard, 0) + n
    return out


def _by_prefix(
    db: Session,
    id_column: InstrumentedAttribute[str],
    directory_column: InstrumentedAttribute[str],
    live: ColumnElement[bool],
) -> list[tuple[str, str, int]]:
    prefix = func.substr(id_column, 1, 2, type_=String)
    count = func.count(type_=Integer)
    rows = db.execute(
        select(directory_column, prefix, count).where(live).group_by(directory_column, prefix)
    )
    return [(directory, two, n) for directory, two, n in rows]


def shard_of(resource_id: str) -> int:
    """The counter shard of an id, as the triggers of migration 0016 compute it."""
    two = resource_id[:2]
    if len(two) == 2 and all(c in _HEX for c in two):
        return int(two, 16)
    return OTHER


def _rewrite(db: Session, key: tuple[str, str], actual: Shards, changes: int) -> None:
    """The directory's counters, one row per shard holding rows; the generation (the sum
    of ``changes``) goes up by one, carried by the first row. The drift may have lowered
    the generation below a bookmark's (counter rows lost), and it would meet that value
    again: the directory's bookmarks go too."""
    directory_id, resource = key
    for model in (ScimLiveCount, ScimPageBookmark):
        db.execute(
            delete(model)
            .where(model.directory_id == directory_id, model.resource == resource)
            .execution_options(synchronize_session=False)
        )
    shards = sorted(actual.items()) or [(0, 0)]
    db.add_all(
        ScimLiveCount(
            directory_id=directory_id,
            resource=resource,
            shard=shard,
            live=live,
            changes=changes + 1 if i == 0 else 0,
        )
        for i, (shard, live) in enumerate(shards)
    )
    db.flush()
