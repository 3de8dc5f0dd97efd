"""Sign-in policy per organisation and SCIM token bookkeeping.

``organizations.sso_required`` refuses non-SSO sessions for the organisation's members;
``organizations.sso_owner_break_glass`` keeps that door open for Owners (on by default, so
turning SSO on cannot lock every Owner out when the IdP is down). ``api_tokens.created_by``
names who issued a token and ``api_tokens.last_used_at`` when it last authenticated (written
at most once a minute per token), so a rotation can be confirmed before the old token goes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sso_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "sso_owner_break_glass", sa.Boolean(), nullable=False, server_default=sa.true()
            )
        )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("created_by")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("sso_owner_break_glass")
        batch_op.drop_column("sso_required")
