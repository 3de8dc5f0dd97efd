"""Cursor paging at the HTTP edge (RFC 9865): read the cursor, sign the next ones.

The view checks the client's cursor here — signature, directory, query, age, all from
``scim/cursor.py`` — before any query runs, and signs the positions the service returns
into ``nextCursor`` and ``previousCursor``. The key comes from ``SCIM_TOKEN_PEPPER`` and
the timeout from ``SCIM_CURSOR_TIMEOUT_SECONDS``, so every worker reads every cursor.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import current_app

from scim_server.scim import cursor
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.listing import cursor_list_response
from scim_server.scim.listing import parse_cursor
from scim_server.scim.listing import parse_cursor_count
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.cursor_pages import CursorPage
from scim_server.services.directory.search import Query


def _key() -> bytes:
    return cursor.derive_key(current_app.config["TOKEN_PEPPER"])


def _fingerprint(resource: str, query: Query) -> str:
    return cursor.fingerprint(resource, query.filter, query.sort_by, query.descending)


def cursor_query(query: Query, params: dict[str, Any]) -> Query:
    """``query`` paged by cursor: its count checked as RFC 9865 asks; startIndex refused,
    since one request cannot be paged both ways."""
    if params.get("startIndex") not in (None, ""):
        raise InvalidValueError(
            "Give either 'startIndex' (index paging) or 'cursor' (cursor paging), not both."
        )
    config = current_app.config
    page = parse_cursor_count(
        params.get("count"),
        default=config["DEFAULT_PAGE_SIZE"],
        maximum=config["MAX_PAGE_SIZE"],
    )
    return replace(query, page=page)


def position(ctx: ScimContext, resource: str, query: Query, raw: Any) -> cursor.Position | None:
    """Where the page starts: None for the first page (an empty cursor)."""
    text = parse_cursor(raw)
    if not text:
        return None
    return cursor.decode(
        _key(),
        text,
        scope=ctx.directory_id,
        query=_fingerprint(resource, query),
        timeout=current_app.config["CURSOR_TIMEOUT_SECONDS"],
    )


def cursor_response(
    ctx: ScimContext, resource: str, query: Query, page: CursorPage
) -> dict[str, Any]:
    key, fingerprint = _key(), _fingerprint(resource, query)

    def sign(at: cursor.Position | None) -> str | None:
        return None if at is None else cursor.encode(key, ctx.directory_id, fingerprint, at)

    return cursor_list_response(page.resources, page.total, sign(page.next), sign(page.previous))
