"""Wire formats shared by the SCIM and management APIs: timestamps and ETags.

Every date either API returns is UTC in whole milliseconds with a ``Z`` (what
``models.utcnow`` stores), and every ETag is the weak form of the row's version, so a
client can compare values from any endpoint. Audit snapshots (event ``before``/``after``)
keep their own plain ``isoformat()`` and are not produced here.
"""

from __future__ import annotations

from datetime import datetime
from typing import overload


@overload
def timestamp(value: datetime) -> str: ...
@overload
def timestamp(value: None) -> None: ...
@overload
def timestamp(value: datetime | None) -> str | None: ...
def timestamp(value: datetime | None) -> str | None:
    """Naive UTC as RFC 3339 with milliseconds and ``Z``; None (an unset date) stays None."""
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def etag(version: int) -> str:
    """The weak ETag of a resource version (RFC 7232 §2.3), as ``meta.version`` shows it."""
    return f'W/"{version}"'
