"""Cursor pagination (RFC 9865): opaque, signed, stateless page positions.

A cursor names a position in one query's ordering: the sort-key values of the row it
follows (``next``) or precedes (``previous``). The list is then served by an index seek
from that position, never an OFFSET, so a page at the end of a million rows costs what
the first page costs.

Nothing is stored: a cursor carries its position, the directory it was issued for, a
fingerprint of the query (resource type, filter, sortBy, sortOrder) and the time it was
issued, signed with an HMAC whose key is derived from the server's configuration. Every
worker can check any cursor; a cursor that was altered, issued for another organisation's
directory or another query is ``invalidCursor``, and one older than ``cursorTimeout``
is ``expiredCursor`` (RFC 9865's error table).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from typing import Literal

from scim_server.scim.errors import ExpiredCursorError
from scim_server.scim.errors import InvalidCursorError

Direction = Literal["next", "previous"]
_VERSION = 1
_MAC_BYTES = 16  # 128 bits: forging one is out of reach, and the cursor stays short
# Longer than any cursor this module issues (a few sort-key values of at most 300
# characters each): longer input is refused before any decoding work.
MAX_CURSOR_CHARS = 4096
_FIRST_PAGE_HINT = (
    "Send 'cursor' empty for the first page, then the nextCursor or previousCursor of "
    "the previous response, unchanged, with the same filter, sortBy and sortOrder."
)


def derive_key(secret: str) -> bytes:
    """The cursor key, derived from a server secret so that no extra setting is needed and
    a cursor key is never the secret itself."""
    return hmac.new(secret.encode(), b"scim-list-cursor", hashlib.sha256).digest()


def fingerprint(resource: str, filter_text: str | None, sort_by: str | None, desc: bool) -> str:
    """What makes two requests the same query; count and attributes may change freely."""
    raw = json.dumps([resource, filter_text or "", (sort_by or "").lower(), desc])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Position:
    """The sort-key values of the row a page starts after (or ends before)."""

    direction: Direction
    keys: tuple[Any, ...]


def encode(key: bytes, scope: str, query: str, position: Position, now: float | None = None) -> str:
    """A signed cursor for ``position`` in ``query`` over ``scope`` (a directory id)."""
    payload = {
        "v": _VERSION,
        "s": _scope(scope),
        "q": query,
        "d": "n" if position.direction == "next" else "p",
        "k": [_pack(v) for v in position.keys],
        "t": int(time.time() if now is None else now),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(key, body))}"


def decode(
    key: bytes, cursor: str, *, scope: str, query: str, timeout: int, now: float | None = None
) -> Position:
    """The position a cursor names; raises invalidCursor or expiredCursor."""
    payload = _verified(key, cursor)
    if payload.get("v") != _VERSION or payload.get("s") != _scope(scope):
        raise InvalidCursorError(
            f"This cursor was not issued for this directory. {_FIRST_PAGE_HINT}"
        )
    if payload.get("q") != query:
        raise InvalidCursorError(
            f"This cursor belongs to another query (resource type, filter, sortBy or "
            f"sortOrder differ). {_FIRST_PAGE_HINT}"
        )
    issued = payload.get("t")
    current = time.time() if now is None else now
    if not isinstance(issued, int) or current - issued > timeout:
        raise ExpiredCursorError(
            f"This cursor has expired: cursors are valid for {timeout} seconds "
            "(cursorTimeout in /ServiceProviderConfig). Start again from the first page."
        )
    keys = payload.get("k")
    if payload.get("d") not in ("n", "p") or not isinstance(keys, list):
        raise InvalidCursorError(f"The cursor is malformed. {_FIRST_PAGE_HINT}")
    direction: Direction = "next" if payload["d"] == "n" else "previous"
    return Position(direction, tuple(_unpack(v) for v in keys))


def _verified(key: bytes, cursor: str) -> dict[str, Any]:
    """The payload of a cursor whose signature is ours; anything else is invalidCursor."""
    malformed = InvalidCursorError(f"The cursor is not one this server issued. {_FIRST_PAGE_HINT}")
    if len(cursor) > MAX_CURSOR_CHARS or cursor.count(".") != 1:
        raise malformed
    body, mac = cursor.split(".")
    try:
        given = _unb64(mac)
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise malformed from None
    if not hmac.compare_digest(given, _mac(key, body)) or not isinstance(payload, dict):
        raise malformed
    return payload


def _scope(scope: str) -> str:
    """The scope as the cursor carries it: a digest, so no internal id is shown to clients."""
    return hashlib.sha256(scope.encode()).hexdigest()[:24]


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: only the one canonical spelling decodes (the decoder would otherwise skip
    stray characters and ignore trailing bits, so altered cursors could still verify)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) if text.isascii() else b""
    if _b64(raw) != text:
        raise ValueError("not canonical base64")
    return raw


def _pack(value: Any) -> Any:
    """JSON for a sort-key value; dateTimes and decimals tagged so they decode to themselves."""
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, Decimal):
        return {"dec": str(value)}
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "dec" in value:
            return Decimal(value["dec"])
        raise InvalidCursorError(f"The cursor is malformed. {_FIRST_PAGE_HINT}")
    return value
