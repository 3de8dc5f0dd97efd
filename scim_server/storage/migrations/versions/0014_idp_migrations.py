"""IdP migration: a staged candidate directory beside the active one (issue 15).

``organizations.candidate_for`` marks the hidden organisation that holds a candidate
directory: the new IdP's pushes land there through the ordinary SCIM code, so they change
nobody's access in the real organisation. ``idp_migrations`` records one move (its rules,
status, cutover time and rollback deadline); ``idp_migration_pairs`` holds the manual
user and group pairs; ``idp_migration_links`` what a cutover re-linked, so a rollback can
undo exactly that.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
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
    op.drop_table("idp_migration_links")
    op.drop_table("idp_migration_pairs")
    op.drop_index("ix_idp_migrations_org_id", table_name="idp_migrations")
    op.drop_table("idp_migrations")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index("ix_organizations_candidate_for")
        batch_op.drop_column("candidate_for")
