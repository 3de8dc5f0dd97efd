"""The provisioning log: every SCIM request of an organisation, searchable, pruned by age.

An IdP shows "400" or "409" and little else; this log is where an admin sees why. Each
entry is written by the HTTP edge (``scim_server/request_log.py``): a successful write in
the request's own transaction, a failure (whose transaction rolled back) in a short one of
its own. Request bodies are stored redacted and capped (``redact_body``). Paging is newest
first by id, which only grows, so a cursor is the last id shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.storage import prepared
from scim_server.storage.models import Event
from scim_server.storage.models import Organization
from scim_server.storage.models import ProvisioningLogEntry
from scim_server.storage.queries import equal_within

REDACTED = "[redacted]"
# Keys whose values never reach the log, compared lower-cased without separators.
_SECRET_KEY = re.compile(r"password|secret|token|credential|apikey|privatekey")
# Bodies larger than this are not parsed again for the log (a 100,000-member group PUT is
# about 6 MB): the entry says their size instead.
PARSE_LIMIT = 1024 * 1024
# Rows one prune statement deletes, so a large backlog never holds one long lock.
PRUNE_BATCH = 5000
STATUS_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}


@dataclass(frozen=True)
class Search:
    """What ``GET …/provisioning-log`` filters by; None means any."""

    status: str | None = None  # "4xx" or "409"
    error: str | None = None  # scimType (uniqueness, invalidFilter…)
    resource_id: str | None = None
    user_name: str | None = None
    external_id: str | None = None
    idp: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def redact_body(raw: bytes, max_bytes: int) -> str | None:
    """The body as compact JSON with every secret-looking value replaced, cut to ``max_bytes``.

    A body that is not JSON is not stored at all (only its size is said): raw text could
    hold a password in a shape no key-based redaction recognises.
    """
    if not raw:
        return None
    if len(raw) > PARSE_LIMIT:
        return f"({len(raw)} bytes, over {PARSE_LIMIT} bytes, not stored)"
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return f"(not JSON, {len(raw)} bytes, not stored)"
    try:
        text = json.dumps(_redact(parsed), ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        return f"(nested too deeply, {len(raw)} bytes, not stored)"
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    cut = encoded[:max_bytes].decode(errors="ignore")
    return f"{cut}… (cut at {max_bytes} of {len(encoded)} bytes)"


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _is_secret(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _is_secret(key: Any) -> bool:
    """``password``, ``clientSecret``, ``urn:…:User:password``, ``api_token``…"""
    flat = str(key).lower().replace("_", "").replace("-", "")
    return _SECRET_KEY.search(flat) is not None


# Built once, over the table (not the entity): the ORM's bulk-insert path costs more Python
# per request than the INSERT itself.
_INSERT = insert(cast(Table, ProvisioningLogEntry.__table__))


def record(db: Session, entry: dict[str, Any]) -> None:
    """Insert one entry (its column values) in the caller's transaction.

    A Core INSERT on the session's connection, not an ORM object: no identity map, no
    unit-of-work flush, no id read back, because nothing in the request needs the row again.
    """
    prepared.execute(db, _INSERT, entry)


def search(
    db: Session, org: Organization, query: Search, *, after: str | None, limit: int
) -> tuple[list[ProvisioningLogEntry], str | None]:
    """Entries newest first, older than the ``after`` cursor; the next cursor or None."""
    stmt = select(ProvisioningLogEntry).where(
        ProvisioningLogEntry.org_id == org.id, *_conditions(query)
    )
    if after:
        stmt = stmt.where(ProvisioningLogEntry.id < _cursor(after))
    rows = list(db.scalars(stmt.order_by(ProvisioningLogEntry.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], str(rows[limit - 1].id)


def _conditions(query: Search) -> list[ColumnElement[bool]]:
    entry = ProvisioningLogEntry
    found: list[ColumnElement[bool]] = []
    if query.status is not None:
        low, high = status_range(query.status)
        found += [entry.status >= low, entry.status < high]
        if low >= 400:  # the very term of the failures' partial index, so SQLite uses it
            found.append(entry.status >= 400)
    if query.user_name is not None:
        found.append(func.lower(entry.user_name) == query.user_name.lower())
    exact = (
        (entry.scim_type, query.error),
        (entry.resource_id, query.resource_id),
        (entry.external_id, query.external_id),
        (entry.idp, query.idp),
    )
    return found + equal_within(exact, entry.at, query.since, query.until)


def status_range(status: str) -> tuple[int, int]:
    """``4xx`` → [400, 500); ``409`` → [409, 410); anything else is refused."""
    if status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    if re.fullmatch(r"[1-5][0-9]{2}", status):
        return int(status), int(status) + 1
    raise ProvisioningError(
        ErrorCode.VALIDATION_ERROR,
        "'status' must be a class (2xx, 3xx, 4xx, 5xx) or a three-digit status such as 409.",
    )


def _cursor(after: str) -> int:
    if not re.fullmatch(r"[0-9]{1,18}", after):
        raise ProvisioningError(
            ErrorCode.CURSOR_INVALID, "'after' is the next_cursor of the previous page."
        )
    return int(after)


def get_entry(db: Session, org: Organization, entry_id: str) -> ProvisioningLogEntry:
    """One entry of this organisation; another organisation's is 404 like a missing one."""
    found = None
    if re.fullmatch(r"[0-9]{1,18}", entry_id):
        found = db.scalar(
            select(ProvisioningLogEntry).where(
                ProvisioningLogEntry.org_id == org.id, ProvisioningLogEntry.id == int(entry_id)
            )
        )
    if found is None:
        raise NotFound("No provisioning log entry with that id.")
    return found


def events_of(db: Session, entry: ProvisioningLogEntry, *, limit: int = 100) -> list[Event]:
    """The events the entry's request wrote: its request id, within its time span.

    A request id from a proxy need not be unique, so the span (the entry's start to its
    end, with a second's slack for the commit) keeps another request's events out.
    """
    end = entry.at + timedelta(milliseconds=entry.duration_ms, seconds=1)
    stmt = (
        select(Event)
        .where(
            Event.org_id == entry.org_id,
            Event.request_id == entry.request_id,
            Event.at >= entry.at,
            Event.at <= end,
        )
        .order_by(Event.id)
        .limit(limit)
    )
    return list(db.scalars(stmt))


def prune_batch(db: Session, older_than: datetime) -> int:
    """Delete up to ``PRUNE_BATCH`` entries written before ``older_than``; how many went.

    The caller commits each batch (``scim-server log prune`` loops until one comes back
    short), so a large backlog never holds one long transaction or lock. Entries are
    appended in time order, so the oldest are the lowest ids: the batch is read along the
    primary key from its start, and no index on ``at`` costs every request a write.
    """
    batch = (
        select(ProvisioningLogEntry.id)
        .where(ProvisioningLogEntry.at < older_than)
        .order_by(ProvisioningLogEntry.id)
        .limit(PRUNE_BATCH)
        .scalar_subquery()
    )
    result = db.execute(delete(ProvisioningLogEntry).where(ProvisioningLogEntry.id.in_(batch)))
    removed: int = result.rowcount  # type: ignore[attr-defined]
    return removed
