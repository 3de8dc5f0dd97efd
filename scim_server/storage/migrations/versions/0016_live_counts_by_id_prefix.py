"""Live counters sharded by the first two hex digits of the id, so a jump is a seek.

Migration 0006 sharded ``scim_live_counts`` by the id's last hex digit (16 shards): the
total of a directory, but nothing about where in id order a position falls, so a
``startIndex`` with no bookmark (a jump, or any page after the live set changed) paid an
OFFSET over every row before it — 50 to 100 ms at 1,000,000 users. Sharded by the first
two hex digits instead (256 shards, in id order), the counters say which shard holds a
position and how many rows precede it, so the page is ``id >= <two digits>`` plus an OFFSET
within one shard (storage/list_state.py). An id that is not lowercase hex (none is: ids
are server-made uuid4s) counts in shard 256, and while a directory has one, jumps fall
back to the plain OFFSET.

The counters are recounted under the new sharding and the page bookmarks dropped (their
generations were sums over the old counters). On PostgreSQL the users and groups are
locked against writes first: an upgrade runs while the old version still serves, and an
old server's create that committed between the recount and the new functions would be
counted in a shard of the old sharding — the right total, the wrong shard, wrong jumps.
In-flight writes finish before the lock is granted; later ones wait and then run the new
functions. (SQLite needs nothing: the migration's transaction holds the write lock.)
Each directory's generation (the sum of ``changes``) is carried forward past its old value,
so a bookmark an old server writes after the recount, at an old generation, is never
trusted again.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

HEX = "'0123456789abcdef'"
OTHER = 256  # the shard of an id that does not start with two lowercase hex digits
TABLES = (("scim_users", "User", "deleted_at IS NULL"), ("scim_groups", "Group", "true"))


def _by_prefix(dialect: str, column: str) -> str:
    find = "strpos" if dialect == "postgresql" else "instr"
    first = f"{find}({HEX}, substr({column}, 1, 1))"
    second = f"{find}({HEX}, substr({column}, 2, 1))"
    return (
        f"(CASE WHEN length({column}) >= 2 AND {first} > 0 AND {second} > 0 "
        f"THEN ({first} - 1) * 16 + {second} - 1 ELSE {OTHER} END)"
    )


def _by_last_digit(dialect: str, column: str) -> str:
    """Migration 0006's shard, for the downgrade."""
    if dialect == "postgresql":
        return f"(strpos({HEX}, lower(right({column}, 1))) % 16)"
    return f"(instr({HEX}, lower(substr({column}, -1))) % 16)"


def _upsert(prefix: str) -> str:
    return (
        "ON CONFLICT (directory_id, resource, shard) DO UPDATE SET "
        f"live = {prefix}live + excluded.live, changes = {prefix}changes + excluded.changes"
    )


def _sqlite(shard: str) -> list[str]:
    def trigger(name: str, event: str, row: str, resource: str, when: str, live: str) -> list[str]:
        return [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER {event} WHEN {when} BEGIN "
            f"INSERT INTO scim_live_counts (directory_id, resource, shard, live, changes) "
            f"VALUES ({row}.directory_id, '{resource}', {shard.replace('$', row + '.id')}, "
            f"{live}, 1) {_upsert('')}; END",
        ]

    return [
        *trigger(
            "scim_users_count_insert",
            "INSERT ON scim_users",
            "NEW",
            "User",
            "NEW.deleted_at IS NULL",
            "1",
        ),
        *trigger(
            "scim_users_count_delete",
            "DELETE ON scim_users",
            "OLD",
            "User",
            "OLD.deleted_at IS NULL",
            "-1",
        ),
        *trigger(
            "scim_users_count_update",
            "UPDATE OF deleted_at ON scim_users FOR EACH ROW",
            "NEW",
            "User",
            "(OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)",
            "CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END",
        ),
        *trigger("scim_groups_count_insert", "INSERT ON scim_groups", "NEW", "Group", "1", "1"),
        *trigger("scim_groups_count_delete", "DELETE ON scim_groups", "OLD", "Group", "1", "-1"),
    ]


def _pg_count(shard: str, source: str, resource: str, where: str, live: str) -> str:
    shard = shard.replace("$", "r.id")
    return (
        "INSERT INTO scim_live_counts AS c (directory_id, resource, shard, live, changes) "
        f"SELECT r.directory_id, '{resource}', {shard}, {live}, count(*) FROM {source} "
        f"WHERE {where} GROUP BY r.directory_id, {shard} ORDER BY 1, 3 {_upsert('c.')};"
    )


def _postgresql(shard: str) -> list[str]:
    """Both functions as migrations 0006 and 0013 left them, but for the shard."""
    grouped = _pg_count(
        shard,
        "(SELECT u.id, u.directory_id, "
        "bool_or(u.side = 'n' AND u.deleted_at IS NULL) AS live_now, "
        "bool_or(u.side = 'o' AND u.deleted_at IS NULL) AS live_before "
        "FROM (SELECT 'n' AS side, id, directory_id, deleted_at FROM new_rows UNION ALL "
        "SELECT 'o', id, directory_id, deleted_at FROM old_rows) u "
        "GROUP BY u.id, u.directory_id) r",
        "User",
        "r.live_now <> r.live_before",
        "sum(CASE WHEN r.live_now THEN 1 ELSE -1 END)",
    )
    users = (
        "CREATE OR REPLACE FUNCTION scim_users_live_count() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN "
        + _pg_count(shard, "new_rows r", "User", "r.deleted_at IS NULL", "count(*)")
        + " ELSIF TG_OP = 'DELETE' THEN "
        + _pg_count(shard, "old_rows r", "User", "r.deleted_at IS NULL", "-count(*)")
        + " ELSE "
        + grouped
        + " END IF; RETURN NULL; END $$"
    )
    groups = (
        "CREATE OR REPLACE FUNCTION scim_groups_live_count() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN "
        + _pg_count(shard, "new_rows r", "Group", "true", "count(*)")
        + " ELSE "
        + _pg_count(shard, "old_rows r", "Group", "true", "-count(*)")
        + " END IF; RETURN NULL; END $$"
    )
    return [users, groups]


def _recount(shard: str) -> list[str]:
    """Counters from the rows; each generation goes on from its old value, plus one, in
    shard 0 (a zero ``live`` there places no position)."""
    statements = [
        "CREATE TEMPORARY TABLE scim_carried_generations AS SELECT directory_id, resource, "
        "sum(changes) AS changes FROM scim_live_counts GROUP BY directory_id, resource",
        "DELETE FROM scim_page_bookmarks",
        "DELETE FROM scim_live_counts",
    ]
    for table, resource, live in TABLES:
        by = shard.replace("$", "id")
        statements.append(
            "INSERT INTO scim_live_counts (directory_id, resource, shard, live, changes) "
            f"SELECT directory_id, '{resource}', {by}, count(*), count(*) FROM {table} "
            f"WHERE {live} GROUP BY directory_id, {by}"
        )
    statements += [
        "INSERT INTO scim_live_counts AS c (directory_id, resource, shard, live, changes) "
        "SELECT directory_id, resource, 0, 0, changes + 1 FROM scim_carried_generations "
        f"WHERE true {_upsert('c.')}",
        "DROP TABLE scim_carried_generations",
    ]
    return statements


def _migrate(make_shard: Callable[[str, str], str]) -> None:
    """Triggers (or trigger functions) and counters for a shard expression; ``$`` in it
    stands for the id column."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("LOCK TABLE scim_users, scim_groups IN SHARE MODE")
    shard = make_shard(dialect, "$")
    functions = _postgresql(shard) if dialect == "postgresql" else _sqlite(shard)
    for statement in [*functions, *_recount(shard)]:
        op.execute(statement)


def upgrade() -> None:
    _migrate(_by_prefix)


def downgrade() -> None:
    _migrate(_by_last_digit)
