"""Profile sync and one source of JIT default roles.

- ``users.profile_org_id``: the organisation whose directory keeps the person's global
  name and email current (docs/lifecycle.md §9). Backfilled for people whose only
  membership is a directory's: that directory created them.
- ``sso_connections.default_role_override``: whether the connection's ``default_role_id``
  overrides the organisation's ``/jit/roles`` (docs/lifecycle.md §3.5). Connections holding
  the create-time default (built-in Member) follow ``/jit/roles`` from now on, which
  changes nothing where none is set; any other role stays an explicit override.

Both are added columns: SQLite would otherwise rebuild tables that others reference.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_org_id", sa.String(length=36), nullable=True))
    op.execute(
        "UPDATE users SET profile_org_id = (SELECT m.org_id FROM memberships m "
        "WHERE m.user_id = users.id) "
        "WHERE (SELECT count(*) FROM memberships m WHERE m.user_id = users.id) = 1 "
        "AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id "
        "AND m.source = 'scim')"
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "default_role_override",
                sa.Boolean(),
                server_default=sa.text("false"),
                nullable=False,
            )
        )
    op.execute(
        "UPDATE sso_connections SET default_role_override = true "
        "WHERE default_role_id <> 'builtin-member'"
    )


def downgrade() -> None:
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.drop_column("default_role_override")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("profile_org_id")
