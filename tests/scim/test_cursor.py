"""The cursor codec (scim_server/scim/cursor.py): what it signs it reads back; anything
else — altered, foreign, old, garbage — is a SCIM error, never an exception of another kind."""

from __future__ import annotations

import contextlib
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim_server.scim import cursor
from scim_server.scim.errors import ExpiredCursorError
from scim_server.scim.errors import InvalidCursorError

KEY = cursor.derive_key("pepper")
QUERY = cursor.fingerprint("User", 'title eq "a"', "title", False)
NOW = 1_800_000_000.0


def issue(position: cursor.Position, *, key: bytes = KEY, now: float = NOW) -> str:
    return cursor.encode(key, "dir-1", QUERY, position, now=now)


def read(
    token: str, *, scope: str = "dir-1", query: str = QUERY, now: float = NOW
) -> cursor.Position:
    return cursor.decode(KEY, token, scope=scope, query=query, timeout=600, now=now)


@pytest.mark.parametrize(
    "keys",
    [
        ("abc", "id-1"),
        (None, "id-2"),
        (datetime(2026, 1, 2, 3, 4, 5, 6000), "id-3"),
        (42, "id-4"),
        (Decimal("1.50"), "id-5"),
        (True, "id-6"),
        ('Ünïcødé "quoted"', "id-7"),
    ],
)
@pytest.mark.parametrize("direction", ["next", "previous"])
def test_a_cursor_reads_back_its_position(keys, direction):
    position = cursor.Position(direction, keys)
    assert read(issue(position)) == position


def test_cursors_are_url_safe_and_opaque():
    token = issue(cursor.Position("next", ("a b/c?d&e", "id")))
    assert all(c.isalnum() or c in "-_." for c in token)


def test_another_key_scope_or_query_is_invalid():
    token = issue(cursor.Position("next", ("x", "id")))
    with pytest.raises(InvalidCursorError):
        cursor.decode(cursor.derive_key("other"), token, scope="dir-1", query=QUERY, timeout=600)
    with pytest.raises(InvalidCursorError, match="directory"):
        read(token, scope="dir-2")
    with pytest.raises(InvalidCursorError, match="another query"):
        read(token, query=cursor.fingerprint("User", 'title eq "a"', "title", True))


def test_expiry_is_the_timeout_to_the_second():
    token = issue(cursor.Position("next", ("x", "id")))
    assert read(token, now=NOW + 600).keys == ("x", "id")
    with pytest.raises(ExpiredCursorError):
        read(token, now=NOW + 601)


def test_the_fingerprint_ignores_sort_by_case_only():
    assert cursor.fingerprint("User", None, "Title", False) == cursor.fingerprint(
        "User", "", "title", False
    )
    assert cursor.fingerprint("User", None, None, False) != cursor.fingerprint(
        "Group", None, None, False
    )


@given(st.text(max_size=300))
def test_any_text_is_a_position_or_invalid_cursor(text):
    with contextlib.suppress(InvalidCursorError):
        read(text)


@given(st.integers(min_value=0, max_value=200), st.characters(codec="ascii"))
def test_changing_any_character_of_a_cursor_invalidates_it(index, char):
    token = issue(cursor.Position("next", ("value", "id")))
    index %= len(token)
    if token[index] == char:
        return
    altered = token[:index] + char + token[index + 1 :]
    with pytest.raises(InvalidCursorError):
        read(altered)


def test_every_other_last_character_is_refused():
    """base64's last character carries spare bits the decoder ignores: a cursor whose last
    character is changed must still be refused (only the canonical spelling is read)."""
    token = issue(cursor.Position("next", ("value", "id")))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for char in alphabet.replace(token[-1], ""):
        with pytest.raises(InvalidCursorError):
            read(token[:-1] + char)
