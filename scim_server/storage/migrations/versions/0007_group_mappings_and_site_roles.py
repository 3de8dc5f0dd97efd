"""Group mappings, site roles and admin overrides of role and sites (docs/lifecycle.md §2.7).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BUILTIN_SITE_ROLES = (("viewer", 10), ("editor", 20), ("manager", 30))


def upgrade() -> None:
    site_roles = op.create_table(
        "site_roles",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_site_roles_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_roles")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_site_roles_org_id_name")),
    )
    op.bulk_insert(
        site_roles,
        [
            {"id": str(uuid.uuid4()), "org_id": None, "name": n, "builtin": True, "rank": r}
            for n, r in BUILTIN_SITE_ROLES
        ],
    )
    with op.batch_alter_table("site_assignments") as batch:
        batch.add_column(sa.Column("site_role_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            op.f("fk_site_assignments_site_role_id_site_roles"),
            "site_roles",
            ["site_role_id"],
            ["id"],
        )
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("role_override_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("role_override_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("sites_override_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("sites_override_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("sites", JSON_TYPE, nullable=True))
    op.create_table(
        "group_mappings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=True),
        sa.Column("group_name", sa.String(300), nullable=True),
        sa.Column("group_name_key", sa.String(300), nullable=True),
        sa.Column("group_key", sa.String(310), nullable=False),
        sa.Column("grant_key", sa.String(50), nullable=False),
        sa.Column("role_id", sa.String(36), nullable=True),
        sa.Column("site_id", sa.String(36), nullable=True),
        sa.Column("site_role_id", sa.String(36), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_group_mappings_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_group_mappings_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_group_mappings_site_id_sites")
        ),
        sa.ForeignKeyConstraint(
            ["site_role_id"],
            ["site_roles.id"],
            name=op.f("fk_group_mappings_site_role_id_site_roles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_mappings")),
        sa.UniqueConstraint(
            "org_id",
            "group_key",
            "grant_key",
            name=op.f("uq_group_mappings_org_id_group_key_grant_key"),
        ),
    )
    op.create_index("ix_group_mappings_group_id", "group_mappings", ["group_id"])
    op.create_index("ix_group_mappings_org_name", "group_mappings", ["org_id", "group_name_key"])


def downgrade() -> None:
    op.drop_index("ix_group_mappings_org_name", table_name="group_mappings")
    op.drop_index("ix_group_mappings_group_id", table_name="group_mappings")
    op.drop_table("group_mappings")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("sites")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("sites_override_at")
        batch.drop_column("sites_override_by")
        batch.drop_column("role_override_at")
        batch.drop_column("role_override_by")
    with op.batch_alter_table("site_assignments") as batch:
        batch.drop_constraint(
            op.f("fk_site_assignments_site_role_id_site_roles"), type_="foreignkey"
        )
        batch.drop_column("site_role_id")
    op.drop_table("site_roles")
