"""Checks every SCIM write makes: the ETag precondition and database-enforced uniqueness."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.errors import Conflict
from scim_server.services.errors import PreconditionFailed
from scim_server.services.formats import etag
from scim_server.storage import row_writes


def check_if_match(version: int, if_match: str | None) -> None:
    """RFC 7644 §3.14: a failed If-Match is 412 and nothing changes."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",")]
    if "*" not in tags and etag(version) not in tags and f'"{version}"' not in tags:
        raise PreconditionFailed(
            f"If-Match {excerpt(if_match)} does not match the current version {etag(version)}."
        )


def flush_unique(db: Session, what: str, *, attribute: str) -> None:
    """Flush, turning a lost race on a unique index into 409 instead of 500.

    The friendly pre-check names the holder; this catches the parallel request that
    slipped between the check and the insert (several workers, one database).
    """
    try:
        db.flush()
    except IntegrityError:
        raise _lost_race(what, attribute) from None


def insert_unique(
    db: Session, obj: object, what: str, *, attribute: str, attach: bool = True
) -> None:
    """Insert ``obj`` now (``row_writes.insert_now``, ``attach`` as there); a lost race is
    409 as above."""
    try:
        row_writes.insert_now(db, obj, attach=attach)
    except IntegrityError:
        raise _lost_race(what, attribute) from None


def _lost_race(what: str, attribute: str) -> Conflict:
    return Conflict(
        f"Another request created a {what} with the same {attribute} at the same time.",
        attribute=attribute,
    )
