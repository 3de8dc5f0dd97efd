"""Run alembic programmatically: no alembic.ini to keep in step."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SAWarning

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, connection: Connection | None = None) -> None:
    """Apply every migration. SQLite's reflection (a migration that inspects a table) cannot
    read expression indexes such as lower(user_name) and says so; they are kept, and the
    warning would only alarm whoever runs ``make run``."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        command.upgrade(alembic_config(url, connection), "head")


def downgrade(url: str, revision: str = "base", connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(url, connection), revision)


@cache
def head_revisions() -> frozenset[str]:
    """The revisions the code expects, read once from the migration scripts (no I/O after)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(script.get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions the database is at; empty for a database never migrated."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def is_at_head(connection: Connection) -> bool:
    """Has every migration this code needs been applied (``scim-server db upgrade``)?"""
    return current_revisions(connection) == head_revisions()
