"""Migrations produce exactly the models' schema, and go down again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from scim_server.db import make_engine
from scim_server.scim.listing import Page
from scim_server.services.directory import search
from scim_server.storage import list_state
from scim_server.storage import migrate
from scim_server.storage.models import Base
from scim_server.storage.models import ScimUser


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


@contextmanager
def _old_server_database(database_url: str, revision: str) -> Iterator[tuple[Any, Engine]]:
    """PostgreSQL only (SQLite's migration holds the write lock, so no old server's write
    can interleave): a throw-away database at ``revision`` with organisation o1 and its
    directory d1; yields its alembic config and an engine."""
    from alembic import command

    from tests.live_server import throwaway_database

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's migration holds the write lock: no write can interleave")
    with throwaway_database(database_url) as url:
        config = migrate.alembic_config(url)
        command.upgrade(config, revision)
        engine = make_engine(url)
        with engine.begin() as conn:
            _add_org_at_0015(conn)
        try:
            yield config, engine
        finally:
            engine.dispose()


def _add_org_at_0015(conn) -> None:
    """Organisation o1 and its directory d1, as a 0014/0015 server writes them."""
    conn.exec_driver_sql(
        "INSERT INTO organizations (id, name, active, exclusive_membership, created_at)"
        " VALUES ('o1', 'A', true, false, '2026-01-01')"
    )
    conn.exec_driver_sql(
        "INSERT INTO directories (id, org_id, created_at) VALUES ('d1', 'o1', '2026-01-01')"
    )


def _add_user_at_0015(conn, n: int, scim_id: str) -> None:
    """A create as a 0015 server writes it (the rows only: the triggers count it)."""
    conn.exec_driver_sql(
        "INSERT INTO users (id, email_verified, created_at) VALUES (%(u)s, false, '2026-01-01')",
        {"u": f"u{n}"},
    )
    conn.exec_driver_sql(
        "INSERT INTO memberships (id, org_id, user_id, source, directory_state, "
        "admin_override, link_state, access_epoch, created_at, updated_at) VALUES "
        "(%(m)s, 'o1', %(u)s, 'scim', 'active', 'none', 'linked', 0, '2026-01-01', '2026-01-01')",
        {"m": f"m{n}", "u": f"u{n}"},
    )
    conn.exec_driver_sql(
        "INSERT INTO scim_users (id, directory_id, membership_id, user_name, attributes, "
        "version, created_at, updated_at) VALUES "
        "(%(i)s, 'd1', %(m)s, %(n)s, '{}', 1, '2026-01-01', '2026-01-01')",
        {"i": scim_id, "m": f"m{n}", "n": f"user{n}"},
    )


def _wait_for_lock_waiters(engine, at_least: int, done=lambda: False) -> None:
    """Until ``at_least`` sessions wait on a lock (read outside any transaction: within
    one, pg_stat_activity is a snapshot)."""
    deadline = time.monotonic() + 5
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while time.monotonic() < deadline and not done():
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).scalar()
            if waiting >= at_least:
                return
            time.sleep(0.05)


def test_0016_counts_a_create_that_races_the_upgrade_in_its_prefix_shard(database_url):
    """PostgreSQL: ``db upgrade`` runs while the old version serves. A create committed
    by an old server during the recount must end in the shard of its id prefix, or every
    jump past it lands on the wrong page although the total is right."""
    from alembic import command

    with _old_server_database(database_url, "0015") as (config, engine):
        with engine.begin() as conn:
            for n in range(40):  # half in the prefixes 00-0f, which the old shards reuse
                scim_id = str(uuid.uuid4())
                _add_user_at_0015(conn, n, "0" + scim_id[1:] if n % 2 else scim_id)
        # Hold the migration at the groups (its users are then recounted, or locked).
        holder = engine.connect()
        holding = holder.begin()
        holder.exec_driver_sql("LOCK TABLE scim_groups IN ACCESS EXCLUSIVE MODE")
        migration = threading.Thread(target=command.upgrade, args=(config, "0016"))
        migration.start()
        _wait_for_lock_waiters(engine, 1)
        racing_id = "f5" + str(uuid.uuid4())[2:-1] + "3"  # old shard 4, prefix shard 245

        def old_server_create() -> None:
            with engine.begin() as conn:
                _add_user_at_0015(conn, 99, racing_id)

        create = threading.Thread(target=old_server_create)
        create.start()
        _wait_for_lock_waiters(engine, 2, done=lambda: not create.is_alive())
        holding.rollback()
        holder.close()
        migration.join(30)
        create.join(30)
        with Session(engine) as db:
            assert db.scalar(text("SELECT version_num FROM alembic_version")) == "0016"
            assert list_state.reconcile_counts(db, fix=False) == []
            ordered = db.scalars(text("SELECT id FROM scim_users ORDER BY id")).all()
            assert racing_id in ordered
            for position, expected in enumerate(ordered):
                jump = list_state.find_jump(db, "d1", "User", position)
                assert jump is not None
                landed = db.scalar(
                    select(ScimUser.id)
                    .where(ScimUser.id >= jump.lower)
                    .order_by(ScimUser.id)
                    .offset(jump.skip)
                    .limit(1)
                )
                assert landed == expected, position


def test_an_upgrade_of_several_revisions_does_not_deadlock_an_old_servers_patch(database_url):
    """PostgreSQL: an upgrade from 0014 applies 0015 (an index on memberships) and 0016
    (which locks scim_users) while an old server's PATCH updates scim_users, then
    memberships. In one transaction the upgrade would hold the first while waiting for the
    second, and the PATCH the other way round: a deadlock that aborts one of them."""
    from alembic import command

    with _old_server_database(database_url, "0014") as (config, engine):
        with engine.begin() as conn:
            _add_user_at_0015(conn, 1, "0a000000-0000-4000-8000-000000000001")
        # An old server's PATCH active=false: bump the view's version, then the membership.
        patch = engine.connect()
        tx = patch.begin()
        patch.exec_driver_sql("UPDATE scim_users SET version = version + 1")
        outcome: list[object] = []

        def upgrade() -> None:
            try:
                command.upgrade(config, "head")
                outcome.append("ok")
            except Exception as error:  # noqa: BLE001 - the outcome is asserted below
                outcome.append(error)

        migration = threading.Thread(target=upgrade)
        migration.start()
        _wait_for_lock_waiters(engine, 1)
        patch_error = None
        try:
            patch.exec_driver_sql("UPDATE memberships SET directory_state = 'inactive'")
            tx.commit()
        except Exception as error:  # noqa: BLE001
            patch_error = error
            tx.rollback()
        patch.close()
        migration.join(30)
        assert outcome == ["ok"] and patch_error is None


def test_an_old_servers_bookmark_written_across_0016_is_never_trusted(database_url):
    """PostgreSQL: an old server's GET read its page and generation before 0016 committed
    and writes its bookmark after. The generations go on past their old values, so the
    new server never meets that generation again and pages from the rows."""
    from alembic import command

    with _old_server_database(database_url, "0015") as (config, engine):
        with engine.begin() as conn:
            for n in range(10):
                _add_user_at_0015(conn, n, str(uuid.uuid4()))
            conn.exec_driver_sql(  # five deprovisioned: 15 changes, 5 live
                "DELETE FROM scim_users WHERE id IN "
                "(SELECT id FROM scim_users ORDER BY id DESC LIMIT 5)"
            )
        # An old server's GET /Users?startIndex=1&count=2, still in its transaction.
        old = engine.connect()
        tx = old.begin()
        generation = old.exec_driver_sql("SELECT sum(changes) FROM scim_live_counts").scalar()
        page = old.exec_driver_sql("SELECT id FROM scim_users ORDER BY id LIMIT 2").scalars().all()
        command.upgrade(config, "0016")  # not blocked: the GET holds no write lock
        old.exec_driver_sql(
            "INSERT INTO scim_page_bookmarks VALUES ('d1', 'User', 'all', 2, %(a)s, %(g)s, now())",
            {"a": page[-1], "g": generation},
        )
        tx.commit()
        old.close()
        with engine.begin() as conn:  # the new server: ten creates, generation 5 -> 15
            for n in range(10, 20):
                _add_user_at_0015(conn, n, str(uuid.uuid4()))
        with Session(engine) as db:
            ids = select(ScimUser.id).where(
                ScimUser.directory_id == "d1", ScimUser.deleted_at.is_(None)
            )
            _, served = search._walk(db, "d1", "User", ids, ScimUser.id, Page(3, 2))
            expected = db.scalars(ids.order_by(ScimUser.id).offset(2).limit(2)).all()
            assert served == expected
