"""An index on memberships (org_id, directory_state).

Whether a connected directory manages anyone (``queries.directory_active``, asked at a
JIT first login) walked the organisation's live SCIM views until it met a managed one: in
a JIT-only organisation that was every member. It now seeks the managed memberships.
Found by tests/api/scim/test_query_plans.py.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_memberships_org_directory_state", "memberships", ["org_id", "directory_state"]
    )


def downgrade() -> None:
    op.drop_index("ix_memberships_org_directory_state", table_name="memberships")
