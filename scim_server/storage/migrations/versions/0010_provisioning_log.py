"""Provisioning log: one row per SCIM request; event indexes for the feed filters.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provisioning_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=True),
        sa.Column("idp", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("resource_type", sa.String(length=20), nullable=True),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("user_name", sa.String(length=256), nullable=True),
        sa.Column("external_id", sa.String(length=256), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("request_body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_log")),
    )
    op.create_index("ix_provisioning_log_org_id", "provisioning_log", ["org_id", "id"])
    # Partial: a request pays only for the lookups it can answer (models.ProvisioningLogEntry).
    partial: tuple[tuple[str, list[Any], str], ...] = (
        (
            "ix_provisioning_log_org_resource",
            ["org_id", "resource_id", "id"],
            "resource_id IS NOT NULL",
        ),
        (
            "ix_provisioning_log_org_user_name",
            ["org_id", sa.text("lower(user_name)")],
            "user_name IS NOT NULL",
        ),
        (
            "ix_provisioning_log_org_external_id",
            ["org_id", "external_id", "id"],
            "external_id IS NOT NULL",
        ),
        ("ix_provisioning_log_org_failures", ["org_id", "status", "id"], "status >= 400"),
    )
    for name, columns, where in partial:
        op.create_index(
            name,
            "provisioning_log",
            columns,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_org_type", ["org_id", "type", "id"], unique=False)
        batch_op.create_index("ix_events_org_request", ["org_id", "request_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_org_request")
        batch_op.drop_index("ix_events_org_type")
    op.drop_table("provisioning_log")
