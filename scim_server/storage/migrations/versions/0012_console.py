"""The console: SSO connections' IdP-side configuration, one-time console links and
console sessions (issue 14).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sso_connections") as batch:
        batch.add_column(sa.Column("protocol_config", JSON, nullable=True))
        batch.add_column(sa.Column("client_secret_encrypted", sa.Text(), nullable=True))
    op.create_table(
        "console_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("acting_user_id", sa.String(36), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_console_links_org_id_organizations"
        ),
        sa.ForeignKeyConstraint(
            ["acting_user_id"], ["users.id"], name="fk_console_links_acting_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_links"),
        sa.UniqueConstraint("secret_hash", name="uq_console_links_secret_hash"),
    )
    op.create_index("ix_console_links_org_id", "console_links", ["org_id"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("link_id", sa.String(36), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("acting_user_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("ended_reason", sa.String(20), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name="fk_console_sessions_org_id_organizations"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["console_links.id"], name="fk_console_sessions_link_id_console_links"
        ),
        sa.ForeignKeyConstraint(
            ["acting_user_id"], ["users.id"], name="fk_console_sessions_acting_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_console_sessions"),
        sa.UniqueConstraint("secret_hash", name="uq_console_sessions_secret_hash"),
    )
    op.create_index("ix_console_sessions_org_id", "console_sessions", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_org_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_console_links_org_id", table_name="console_links")
    op.drop_table("console_links")
    with op.batch_alter_table("sso_connections") as batch:
        batch.drop_column("client_secret_encrypted")
        batch.drop_column("protocol_config")
