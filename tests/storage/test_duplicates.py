"""The 0005 migration and ``db check-duplicates`` report NFC/IDNA duplicates, never merge."""

from __future__ import annotations

import unicodedata

import pytest
from alembic import command
from sqlalchemy import text

from scim_server.cli import main
from scim_server.db import make_engine
from scim_server.services.emails import canonical_email
from scim_server.storage import migrate
from scim_server.storage.duplicates import email_key

NFC = unicodedata.normalize("NFC", "renée@exämple.com")
NFD = unicodedata.normalize("NFD", NFC)


@pytest.mark.parametrize(
    "value", [NFC, NFD, "A@B.COM", "not an email", "x@ä.com.", "Ü@" + "a" * 70 + ".com"]
)
def test_the_storage_key_is_the_services_key(value) -> None:
    assert email_key(value) == canonical_email(value)


_USER = text(
    "INSERT INTO users (id, email, email_normalized, email_verified, created_at) "
    "VALUES (:i, :e, :n, false, '2026-01-01')"
)
# Two NFC/NFD spellings, and a Unicode domain beside its IDNA form.
_PEOPLE = (
    ("u1", NFC, NFC.lower()),
    ("u2", NFD, NFD.lower()),
    ("u3", "x@xn--exmple-cua.com", "x@xn--exmple-cua.com"),
    ("u4", "X@exämple.com", "x@exämple.com"),
)


def _seed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for uid, email, key in _PEOPLE:
            conn.execute(_USER, {"i": uid, "e": email, "n": key})
    engine.dispose()


def test_migration_reports_duplicates_and_changes_nothing(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    command.upgrade(migrate.alembic_config(url), "0004")
    _seed(url)
    capsys.readouterr()
    migrate.upgrade(url)
    out = capsys.readouterr().out
    assert "users.email_normalized: 2 rows share 'renée@xn--exmple-cua.com': u1, u2" in out
    assert "users.email_normalized: 2 rows share 'x@xn--exmple-cua.com': u3, u4" in out
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 4
    engine.dispose()


def test_cli_check_duplicates(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("SCIM_DATABASE_URL", url)
    monkeypatch.setenv("SCIM_TOKEN_PEPPER", "p")
    assert main(["db", "check-duplicates"]) == 0
    _seed(url)
    assert main(["db", "check-duplicates"]) == 1
    assert "u1, u2" in capsys.readouterr().out
