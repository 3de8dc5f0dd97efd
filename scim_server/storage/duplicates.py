"""Find identity strings that are one under NFC (and IDNA) normalisation but two rows.

Before identity strings were normalised on every path (README "Limits"), SCIM stored an
email's plain ``lower()`` and userNames as sent, so ``renée`` in NFC and in NFD could be
two people. This module *reports* such pairs — for the 0005 migration's log and for
``scim-server db check-duplicates`` — and never merges them: which row is the real
person is a support decision.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection
from sqlalchemy import text


def email_key(value: str) -> str:
    """NFC, lower-case, IDNA domain: the key ``services/emails.canonical_email`` gives
    (storage imports no service; tests/storage/test_duplicates.py keeps the two equal)."""
    key = unicodedata.normalize("NFC", value.strip()).lower()
    local, at, domain = key.rpartition("@")
    if not at:
        return key
    try:
        return f"{local}@{domain.rstrip('.').encode('idna').decode('ascii')}"
    except UnicodeError:
        return key


def name_key(value: str) -> str:
    """userName and group displayName compare NFC and case-insensitively."""
    return unicodedata.normalize("NFC", value).lower()


_QUERIES = (
    (
        "users.email_normalized",
        "SELECT id, '', email_normalized FROM users WHERE email_normalized IS NOT NULL",
        email_key,
    ),
    (
        "scim_users.user_name",
        "SELECT id, directory_id, user_name FROM scim_users WHERE deleted_at IS NULL",
        name_key,
    ),
    (
        "scim_groups.display_name",
        "SELECT id, directory_id, display_name FROM scim_groups",
        name_key,
    ),
)


def find_duplicates(conn: Connection) -> list[str]:
    """One line per group of rows that normalise to the same key (within a directory)."""
    report: list[str] = []
    for label, sql, key in _QUERIES:
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row_id, scope, value in conn.execute(text(sql)):
            groups[(str(scope), key(str(value)))].append(str(row_id))
        report.extend(_lines(label, groups.items()))
    return report


def _lines(label: str, groups: Iterable[tuple[tuple[str, str], list[str]]]) -> list[str]:
    return [
        f"{label}: {len(ids)} rows share {key!r}"
        + (f" in directory {scope}" if scope else "")
        + f": {', '.join(sorted(ids))}"
        for (scope, key), ids in groups
        if len(ids) > 1
    ]
