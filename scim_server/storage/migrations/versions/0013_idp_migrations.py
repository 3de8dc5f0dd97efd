"""IdP migration: a staged candidate directory beside the active one (issue 15).

``organizations.candidate_for`` marks the hidden organisation that holds a candidate
directory: the new IdP's pushes land there through the ordinary SCIM code, so they change
nobody's access in the real organisation. ``idp_migrations`` records one move (its rules,
status, cutover time and rollback deadline); ``idp_migration_pairs`` holds the manual
user and group pairs; ``idp_migration_links`` what a cutover re-linked, so a rollback can
undo exactly that.

On PostgreSQL it also replaces ``scim_users_live_count()`` (migration 0006): its UPDATE
branch joined the two transition tables, which have no statistics, so the planner chose a
nested loop and a 10,000-row UPDATE of ``scim_users`` (a cutover's re-link, a disconnect's
tombstoning) spent 15 s in it. The new branch groups the union of both tables by id
instead: the same counts, in time linear in the rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


_HEX = "'0123456789abcdef'"
_SHARD = f"(strpos({_HEX}, lower(right(r.id, 1))) % 16)"
_UPSERT = (
    "ON CONFLICT (directory_id, resource, shard) DO UPDATE SET "
    "live = c.live + excluded.live, changes = c.changes + excluded.changes"
)


def _count(source: str, where: str, live: str) -> str:
    return (
        "INSERT INTO scim_live_counts AS c (directory_id, resource, shard, live, changes) "
        f"SELECT r.directory_id, 'User', {_SHARD}, {live}, count(*) FROM {source} "
        f"WHERE {where} GROUP BY r.directory_id, {_SHARD} ORDER BY 1, 3 {_UPSERT};"
    )


_JOINED = _count(
    "new_rows r JOIN old_rows o ON o.id = r.id",
    "(r.deleted_at IS NULL) <> (o.deleted_at IS NULL)",
    "sum(CASE WHEN r.deleted_at IS NULL THEN 1 ELSE -1 END)",
)
_GROUPED = _count(
    "(SELECT u.id, u.directory_id, "
    "bool_or(u.side = 'n' AND u.deleted_at IS NULL) AS live_now, "
    "bool_or(u.side = 'o' AND u.deleted_at IS NULL) AS live_before "
    "FROM (SELECT 'n' AS side, id, directory_id, deleted_at FROM new_rows UNION ALL "
    "SELECT 'o', id, directory_id, deleted_at FROM old_rows) u "
    "GROUP BY u.id, u.directory_id) r",
    "r.live_now <> r.live_before",
    "sum(CASE WHEN r.live_now THEN 1 ELSE -1 END)",
)


def _users_live_count(update_branch: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION scim_users_live_count() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN "
        + _count("new_rows r", "r.deleted_at IS NULL", "count(*)")
        + " ELSIF TG_OP = 'DELETE' THEN "
        + _count("old_rows r", "r.deleted_at IS NULL", "-count(*)")
        + " ELSE "
        + update_branch
        + " END IF; RETURN NULL; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_users_live_count(_GROUPED))
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("candidate_for", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_organizations_candidate_for", ["candidate_for"])
    op.create_table(
        "idp_migrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("candidate_org_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rules", JsonType, nullable=False),
        sa.Column("only_in_old", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("cut_over_at", sa.DateTime(), nullable=True),
        sa.Column("rollback_until", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_idp_migrations_org_id_organizations"
        ),
        sa.ForeignKeyConstraint(
            ["candidate_org_id"],
            ["organizations.id"],
            name="fk_idp_migrations_candidate_org_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_idp_migrations"),
    )
    op.create_index("ix_idp_migrations_org_id", "idp_migrations", ["org_id"])
    op.create_table(
        "idp_migration_pairs",
        sa.Column("migration_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("existing_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["idp_migrations.id"],
            name="fk_idp_migration_pairs_migration_id_idp_migrations",
        ),
        sa.PrimaryKeyConstraint(
            "migration_id", "kind", "candidate_id", name="pk_idp_migration_pairs"
        ),
    )
    op.create_table(
        "idp_migration_links",
        sa.Column("migration_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("candidate_id", sa.String(length=36), nullable=False),
        sa.Column("existing_id", sa.String(length=36), nullable=True),
        sa.Column("shadow_id", sa.String(length=36), nullable=True),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["migration_id"],
            ["idp_migrations.id"],
            name="fk_idp_migration_links_migration_id_idp_migrations",
        ),
        sa.PrimaryKeyConstraint(
            "migration_id", "kind", "candidate_id", name="pk_idp_migration_links"
        ),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_users_live_count(_JOINED))
    op.drop_table("idp_migration_links")
    op.drop_table("idp_migration_pairs")
    op.drop_index("ix_idp_migrations_org_id", table_name="idp_migrations")
    op.drop_table("idp_migrations")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("ix_organizations_candidate_for")
        batch_op.drop_column("candidate_for")
