"""Alembic environment: the URL comes from the caller (``scim-server db upgrade``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from scim_server.db import make_engine
from scim_server.storage.models import Base

target_metadata = Base.metadata


def run() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set by the caller"
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _migrate(connectable)
        return
    engine = make_engine(url, checkpoint_thread=False)  # runs in gunicorn's arbiter too
    with engine.connect() as connection:
        _migrate(connection)
    engine.dispose()


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        # One transaction per revision: an upgrade runs while the old version serves, and a
        # revision that locks tables (0016) must not hold an earlier revision's locks too,
        # or it waits on the old server in one order while that server waits in the other.
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
