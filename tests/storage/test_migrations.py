"""Migrations produce exactly the models' schema, and go down again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from scim_server.db import make_engine
from scim_server.storage import migrate
from scim_server.storage.models import Base


def test_upgrade_matches_the_models_and_downgrade_removes_everything(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        indexes = set(
            conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars()
        )
    assert diff == []
    # expression indexes are invisible to compare_metadata on SQLite: check them by name
    assert {
        "uq_scim_users_live_user_name",
        "uq_scim_users_live_external_id",
        "ix_scim_users_live_listing",
        "ix_scim_users_user_name",
        "uq_scim_groups_display_name",
        "ix_provisioning_log_org_user_name",
    } <= indexes
    migrate.downgrade(url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_the_shared_test_database_is_at_head(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
