"""List pages flat at any size: sharded live counters kept by triggers, page bookmarks.

The design is explained in scim_server/storage/list_state.py. The triggers live in the
database so that no code path (a service, the CLI, a bulk load in SQL) can change the live
SCIM users or groups of a directory without moving its counter in the same transaction.

SQLite gets row triggers (it updates in place). PostgreSQL gets statement triggers over
transition tables: a bulk INSERT or a directory disconnect's bulk tombstone then touches
each counter shard once per statement rather than once per row, which would leave a
version chain of a million dead tuples behind inside one transaction.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SHARDS = 16
HEX = "'0123456789abcdef'"
UPSERT = (
    "ON CONFLICT (directory_id, resource, shard) DO UPDATE SET "
    "live = {t}live + excluded.live, changes = {t}changes + excluded.changes"
)


def _shard(dialect: str, column: str) -> str:
    """The shard of a row: the last hex digit of its id (uuid4 ids spread evenly)."""
    if dialect == "postgresql":
        return f"(strpos({HEX}, lower(right({column}, 1))) % {SHARDS})"
    return f"(instr({HEX}, lower(substr({column}, -1))) % {SHARDS})"


def upgrade() -> None:
    op.create_table(
        "scim_live_counts",
        sa.Column("directory_id", sa.String(length=36), nullable=False),
        sa.Column("resource", sa.String(length=10), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "directory_id", "resource", "shard", name=op.f("pk_scim_live_counts")
        ),
    )
    op.create_table(
        "scim_page_bookmarks",
        sa.Column("directory_id", sa.String(length=36), nullable=False),
        sa.Column("resource", sa.String(length=10), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("after_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "directory_id",
            "resource",
            "query_key",
            "position",
            name=op.f("pk_scim_page_bookmarks"),
        ),
    )
    op.create_index("ix_scim_groups_listing", "scim_groups", ["directory_id", "id"])
    dialect = op.get_bind().dialect.name
    for table, resource, live in (
        ("scim_users", "User", "deleted_at IS NULL"),
        ("scim_groups", "Group", "true"),
    ):
        op.execute(
            f"INSERT INTO scim_live_counts (directory_id, resource, shard, live, changes) "
            f"SELECT directory_id, '{resource}', {_shard(dialect, 'id')}, count(*), count(*) "
            f"FROM {table} WHERE {live} GROUP BY directory_id, {_shard(dialect, 'id')}"
        )
    for statement in _postgresql() if dialect == "postgresql" else _sqlite():
        op.execute(statement)


def _sqlite() -> list[str]:
    upsert = UPSERT.format(t="")

    def trigger(name: str, event: str, row: str, resource: str, when: str, live: str) -> str:
        return (
            f"CREATE TRIGGER {name} AFTER {event} WHEN {when} BEGIN "
            f"INSERT INTO scim_live_counts (directory_id, resource, shard, live, changes) "
            f"VALUES ({row}.directory_id, '{resource}', {_shard('sqlite', row + '.id')}, "
            f"{live}, 1) {upsert}; END"
        )

    return [
        trigger(
            "scim_users_count_insert",
            "INSERT ON scim_users",
            "NEW",
            "User",
            "NEW.deleted_at IS NULL",
            "1",
        ),
        trigger(
            "scim_users_count_delete",
            "DELETE ON scim_users",
            "OLD",
            "User",
            "OLD.deleted_at IS NULL",
            "-1",
        ),
        trigger(
            "scim_users_count_update",
            "UPDATE OF deleted_at ON scim_users FOR EACH ROW",
            "NEW",
            "User",
            "(OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)",
            "CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END",
        ),
        trigger("scim_groups_count_insert", "INSERT ON scim_groups", "NEW", "Group", "1", "1"),
        trigger("scim_groups_count_delete", "DELETE ON scim_groups", "OLD", "Group", "1", "-1"),
    ]


def _pg_count(source: str, resource: str, where: str, live: str, count: str = "count(*)") -> str:
    shard = _shard("postgresql", "r.id")
    return (
        f"INSERT INTO scim_live_counts AS c (directory_id, resource, shard, live, changes) "
        f"SELECT r.directory_id, '{resource}', {shard}, {live}, {count} FROM {source} "
        f"WHERE {where} GROUP BY r.directory_id, {shard} ORDER BY 1, 3 "
        f"{UPSERT.format(t='c.')};"
    )


def _postgresql() -> list[str]:
    changed = "(r.deleted_at IS NULL) <> (o.deleted_at IS NULL)"
    users = (
        "CREATE FUNCTION scim_users_live_count() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'INSERT' THEN "
        + _pg_count("new_rows r", "User", "r.deleted_at IS NULL", "count(*)")
        + " ELSIF TG_OP = 'DELETE' THEN "
        + _pg_count("old_rows r", "User", "r.deleted_at IS NULL", "-count(*)")
        + " ELSE "
        + _pg_count(
            "new_rows r JOIN old_rows o ON o.id = r.id",
            "User",
            changed,
            "sum(CASE WHEN r.deleted_at IS NULL THEN 1 ELSE -1 END)",
        )
        + " END IF; RETURN NULL; END $$"
    )
    groups = (
        "CREATE FUNCTION scim_groups_live_count() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF TG_OP = 'INSERT' THEN "
        + _pg_count("new_rows r", "Group", "true", "count(*)")
        + " ELSE "
        + _pg_count("old_rows r", "Group", "true", "-count(*)")
        + " END IF; RETURN NULL; END $$"
    )
    statements = [users, groups]
    for table, function in (
        ("scim_users", "scim_users_live_count"),
        ("scim_groups", "scim_groups_live_count"),
    ):
        events = [
            ("insert", "INSERT", "NEW TABLE AS new_rows"),
            ("delete", "DELETE", "OLD TABLE AS old_rows"),
        ]
        if table == "scim_users":
            events.append(("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"))
        statements += [
            f"CREATE TRIGGER {table}_count_{name} AFTER {event} ON {table} "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            for name, event, tables in events
        ]
    return statements


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, names in (
        ("scim_users", ("insert", "delete", "update")),
        ("scim_groups", ("insert", "delete")),
    ):
        for name in names:
            on = f" ON {table}" if dialect == "postgresql" else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_count_{name}{on}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS scim_users_live_count()")
        op.execute("DROP FUNCTION IF EXISTS scim_groups_live_count()")
    op.drop_index("ix_scim_groups_listing", table_name="scim_groups")
    op.drop_table("scim_page_bookmarks")
    op.drop_table("scim_live_counts")
