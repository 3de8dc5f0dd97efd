"""Profile sync and one source of JIT default roles.

- ``users.profile_org_id``: the organisation whose directory keeps the person's global
  name and email current (docs/lifecycle.md §9). Backfilled for people whose only
  membership is a directory's: that directory created them.
- ``sso_connections.default_role_id`` becomes nullable: NULL follows the organisation's
  ``/jit/roles`` (docs/lifecycle.md §3.5). Connections that held the create-time default
  (built-in Member) are set to NULL, so they follow ``/jit/roles`` from now on and behave as
  before where none is set.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_org_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_profile_org_id_organizations"),
            "organizations",
            ["profile_org_id"],
            ["id"],
        )
    op.execute(
        "UPDATE users SET profile_org_id = (SELECT m.org_id FROM memberships m "
        "WHERE m.user_id = users.id) "
        "WHERE (SELECT count(*) FROM memberships m WHERE m.user_id = users.id) = 1 "
        "AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id "
        "AND m.source = 'scim')"
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.alter_column("default_role_id", existing_type=sa.String(length=36), nullable=True)
    op.execute(
        "UPDATE sso_connections SET default_role_id = NULL WHERE default_role_id = 'builtin-member'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE sso_connections SET default_role_id = 'builtin-member' "
        "WHERE default_role_id IS NULL"
    )
    with op.batch_alter_table("sso_connections", schema=None) as batch_op:
        batch_op.alter_column("default_role_id", existing_type=sa.String(length=36), nullable=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_users_profile_org_id_organizations"), type_="foreignkey"
        )
        batch_op.drop_column("profile_org_id")
