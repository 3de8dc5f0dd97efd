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


def test_0008_backfills_the_profile_owner_and_frees_member_defaults(tmp_path):
    """People whose one membership is a directory's get that organisation as the owner of
    their global profile; connections holding the create-time Member default follow
    /jit/roles from now on, and an explicit Viewer stays an override (docs/lifecycle.md
    §3.5, §9)."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "0006")
    engine = make_engine(url)
    rows = [
        "INSERT INTO organizations (id, name, active, exclusive_membership, created_at) "
        "VALUES ('o1', 'A', 1, 0, '2026-01-01'), ('o2', 'B', 1, 0, '2026-01-01')",
        "INSERT INTO users (id, email_verified, created_at) VALUES "
        "('u1', 0, '2026-01-01'), ('u2', 0, '2026-01-01'), ('u3', 0, '2026-01-01')",
        "INSERT INTO memberships (id, org_id, user_id, source, directory_state, admin_override, "
        "link_state, access_epoch, created_at, updated_at) VALUES "
        "('m1', 'o1', 'u1', 'scim', 'active', 'none', 'linked', 0, '2026-01-01', '2026-01-01'),"
        "('m2', 'o1', 'u2', 'jit', 'unmanaged', 'none', 'linked', 0, '2026-01-01', '2026-01-01'),"
        "('m3', 'o1', 'u3', 'scim', 'active', 'none', 'linked', 0, '2026-01-01', '2026-01-01'),"
        "('m4', 'o2', 'u3', 'scim', 'active', 'none', 'linked', 0, '2026-01-01', '2026-01-01')",
        "INSERT INTO sso_connections (id, org_id, name, enabled, jit_enabled, jit_mode, "
        "default_role_id, require_email_verified, created_at) VALUES "
        "('c1', 'o1', 'a', 1, 1, 'auto', 'builtin-member', 1, '2026-01-01'),"
        "('c2', 'o1', 'b', 1, 1, 'auto', 'builtin-viewer', 1, '2026-01-01')",
    ]
    with engine.begin() as conn:
        for statement in rows:
            conn.exec_driver_sql(statement)
    command.upgrade(migrate.alembic_config(url), "0008")
    with engine.connect() as conn:
        owners = dict(conn.exec_driver_sql("SELECT id, profile_org_id FROM users").all())
        roles = dict(
            conn.exec_driver_sql("SELECT id, default_role_override FROM sso_connections").all()
        )
    assert owners == {"u1": "o1", "u2": None, "u3": None}
    assert roles == {"c1": 0, "c2": 1}
    engine.dispose()
