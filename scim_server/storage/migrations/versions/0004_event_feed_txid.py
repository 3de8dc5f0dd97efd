"""Event feed order: each event records its transaction id on PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_events_org_txid", ["org_id", "txid", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Events written before this migration get 0: settled, ordered by id.
        op.execute("UPDATE events SET txid = 0")
        op.execute(
            "ALTER TABLE events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_org_txid")
        batch_op.drop_column("txid")
