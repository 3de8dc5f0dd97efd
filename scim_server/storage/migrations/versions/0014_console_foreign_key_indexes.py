"""Indexes on the console tables' foreign keys to people and links.

A new person is an INSERT into ``users``; SQLite's plan for it (and for deleting a person
or a link) looks for the rows that reference it, and without these indexes that look was
a scan of every console link and session. Found by tests/api/scim/test_query_plans.py.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_console_links_acting_user_id", "console_links", "acting_user_id"),
    ("ix_console_sessions_acting_user_id", "console_sessions", "acting_user_id"),
    ("ix_console_sessions_link_id", "console_sessions", "link_id"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
