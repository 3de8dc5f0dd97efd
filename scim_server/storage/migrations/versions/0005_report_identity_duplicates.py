"""Report rows that NFC/IDNA normalisation makes duplicates; change nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A data check, not a data change: the rows are logged (and printed) for support to
resolve; ``scim-server db check-duplicates`` gives the same report at any time.
"""

from __future__ import annotations

import logging

from alembic import op

from scim_server.storage.duplicates import find_duplicates

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

log = logging.getLogger("scim_server.migrations")


def upgrade() -> None:
    for line in find_duplicates(op.get_bind()):
        log.warning("identity duplicate (not merged): %s", line)
        print(f"identity duplicate (not merged): {line}")


def downgrade() -> None:
    """Nothing was changed."""
