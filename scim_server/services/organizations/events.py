"""An organisation's event feed, as the management API and the Python API page through it.

``audit.feed`` speaks in its own cursor error; a caller of the domain gets the typed
``cursor_invalid`` refusal like every other bad argument.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from scim_server.services import audit
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.storage.models import Event
from scim_server.storage.models import Organization


def page(
    db: Session,
    org: Organization,
    *,
    after: str | None,
    limit: int,
    where: audit.FeedFilter | None = None,
) -> tuple[list[Event], str | None]:
    """Events oldest first after ``after`` (a ``next_cursor``), at most ``limit``, narrowed
    by ``where``; the cursor stays valid across filters (it is the last event shown)."""
    try:
        return audit.feed(db, org.id, after=after, limit=limit, where=where)
    except audit.InvalidCursor:
        raise ProvisioningError(
            ErrorCode.CURSOR_INVALID, "'after' is the next_cursor of the previous page."
        ) from None
