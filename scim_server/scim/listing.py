"""List and search parameters and the ListResponse (RFC 7644 §3.4.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim_server.scim.errors import InvalidCountError
from scim_server.scim.errors import InvalidCursorError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import quoted
from scim_server.scim.schema import LIST_RESPONSE


@dataclass(frozen=True)
class Page:
    """1-based ``start_index`` and ``count`` after RFC 7644 §3.4.2.4's corrections."""

    start_index: int
    count: int

    @property
    def offset(self) -> int:
        return self.start_index - 1


# Past any directory's size: a larger startIndex is an empty page, not an overflow.
MAX_START_INDEX = 2**31 - 1


def _integer(name: str, raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"-?[0-9]{1,30}", raw.strip()):
        return int(raw)
    raise InvalidValueError(f"'{name}' must be an integer, got {quoted(raw)}.")


def parse_page(start_index: Any, count: Any, *, default: int, maximum: int) -> Page:
    """startIndex < 1 is 1; a negative count is 0; count is capped at ``maximum``."""
    start = _integer("startIndex", start_index)
    size = _integer("count", count)
    start = 1 if start is None or start < 1 else min(start, MAX_START_INDEX)
    size = default if size is None else max(0, min(size, maximum))
    return Page(start, size)


def parse_sort_order(raw: str | None) -> bool:
    """True for descending; RFC 7644 §3.4.2.3 defaults to ascending."""
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered not in ("ascending", "descending"):
        raise InvalidValueError(f"'sortOrder' must be ascending or descending, got {quoted(raw)}.")
    return lowered == "descending"


def list_response(resources: list[dict[str, Any]], total: int, page: Page) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": page.start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# Cursor pagination, RFC 9865 (part `search`).
def parse_cursor_count(count: Any, *, default: int, maximum: int) -> Page:
    """A cursor page's size: below 1 is ``invalidCount`` (RFC 9865 has no empty cursor
    page); above ``maximum`` is ``maximum``, as for index paging (RFC 7644 §3.4.2.4)."""
    size = _integer("count", count)
    if size is not None and size < 1:
        raise InvalidCountError(
            f"'count' must be between 1 and {maximum} with cursor paging, got {size}."
        )
    return Page(1, default if size is None else min(size, maximum))


def parse_cursor(raw: Any) -> str:
    """The ``cursor`` parameter: a string, empty for the first page."""
    if not isinstance(raw, str):
        raise InvalidCursorError(f"'cursor' must be a string, got {quoted(raw)}.")
    return raw.strip()


def cursor_list_response(
    resources: list[dict[str, Any]],
    total: int,
    next_cursor: str | None,
    previous_cursor: str | None,
) -> dict[str, Any]:
    """A ListResponse by cursor: no startIndex; ``nextCursor`` on every page but the last
    (RFC 9865), ``previousCursor`` where there is a page before."""
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
    }
    if next_cursor is not None:
        body["nextCursor"] = next_cursor
    if previous_cursor is not None:
        body["previousCursor"] = previous_cursor
    body["Resources"] = resources
    return body


def pagination_config(*, default_size: int, max_size: int, timeout: int) -> dict[str, Any]:
    """The ``pagination`` attribute of /ServiceProviderConfig (RFC 9865)."""
    return {
        "cursor": True,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": default_size,
        "maxPageSize": max_size,
        "cursorTimeout": timeout,
    }
