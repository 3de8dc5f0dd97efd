"""The key id of the pepper that hashed each API token.

``pepper_kid`` is the fingerprint of the ``SCIM_TOKEN_PEPPER`` in force when the token was
issued (``scim_server/secrets.py``, ``pepper_id``). Lookups do not need it (the digest
itself says which pepper matched); it tells the operator which tokens still depend on a
retired pepper, so that pepper can be dropped once none does. Tokens issued before this
column existed have NULL: their pepper is unknown.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("pepper_kid", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("pepper_kid")
