"""Engine settings: SQLite's pragmas and PostgreSQL's per-worker pool (scim_server/db.py).

The pragmas are durability and speed decisions; a connection that silently runs without
them (a typo, a listener not attached) would be slower or less safe with no other sign.
"""

from __future__ import annotations

import pytest
from flask import Flask

from scim_server import config
from scim_server.db import make_engine

EXPECTED_SQLITE = {
    "journal_mode": "wal",
    "synchronous": 1,  # NORMAL
    "busy_timeout": 10000,  # SCIM_LOCK_TIMEOUT_SECONDS (10 s), then a 503
    "mmap_size": 268435456,
    "cache_size": -16384,
    "temp_store": 2,  # MEMORY: statement journals of trigger-counted tables stay off disk
    "foreign_keys": 1,
    # Checkpoints run in a background thread; a request's commit only past this backstop.
    "wal_autocheckpoint": 20000,
}


def _pragmas(url: str, **options: object) -> dict[str, object]:
    engine = make_engine(url, **options)  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in EXPECTED_SQLITE
            }
    finally:
        engine.dispose()


def test_every_sqlite_connection_gets_the_documented_pragmas(tmp_path):
    assert _pragmas(f"sqlite:///{tmp_path / 'a.db'}") == EXPECTED_SQLITE


def test_full_synchronous_can_be_chosen_for_power_loss_durability(tmp_path):
    pragmas = _pragmas(f"sqlite:///{tmp_path / 'b.db'}", sqlite_synchronous="FULL")
    assert pragmas["synchronous"] == 2


def test_postgresql_pool_is_sized_per_worker():
    engine = make_engine("postgresql+psycopg://u:p@127.0.0.1:1/none", pool_size=4, max_overflow=2)
    assert (engine.pool.size(), engine.pool._max_overflow) == (4, 2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DB_POOL_SIZE", 0),
        ("DB_POOL_SIZE", "4"),
        ("DB_MAX_OVERFLOW", -1),
        ("DB_MAX_OVERFLOW", True),
        ("SQLITE_SYNCHRONOUS", "OFF"),
    ],
)
def test_bad_engine_settings_fail_at_start_up_naming_the_key(key, value):
    with pytest.raises(config.ConfigError, match=f"SCIM_{key}"):
        config.load(Flask("t"), {key: value})
