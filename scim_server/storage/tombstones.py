"""Taking a SCIM resource out of its directory: tombstone a user, leave every group.

Two packages trigger this: the membership lifecycle (a removal tombstones the member's
SCIM view, docs/lifecycle.md §2.4) and the SCIM directory (deleting a group takes it out of
the groups that contain it). The rows belong to storage, so both reach them here and the
membership package never imports the directory's services. The callers record the
audit events: this module returns what it changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator

from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.storage.models import GroupMember
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow

CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit


def chunks(items: Iterable[str]) -> Iterator[list[str]]:
    """``items`` in lists of at most ``CHUNK``, for IN (...) clauses."""
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def tombstone_user(db: Session, scim_id: str) -> list[str]:
    """Tombstone a live SCIM user (GET answers 404, the id is never reused) and take it
    out of every group of its directory; returns the ids of the groups it left."""
    now = utcnow()
    directory_id = db.execute(
        update(ScimUser)
        .where(ScimUser.id == scim_id)
        .values(deleted_at=now, updated_at=now, version=ScimUser.version + 1)
        .returning(ScimUser.directory_id)
        .execution_options(synchronize_session="fetch")
    ).scalar_one()
    return leave_groups(db, directory_id, scim_id)


def leave_groups(db: Session, directory_id: str, member_id: str) -> list[str]:
    """Remove a user or group from every group of the directory, bumping each group's
    version (its ETag changes); returns the ids of the groups it left."""
    group_ids = list(
        db.scalars(
            delete(GroupMember)
            .where(
                GroupMember.member_id == member_id,
                # Correlated, so the member's rows drive: an IN over the directory's groups
                # listed every group of the directory first.
                exists().where(
                    ScimGroup.id == GroupMember.group_id, ScimGroup.directory_id == directory_id
                ),
            )
            .returning(GroupMember.group_id)
        )
    )
    for chunk in chunks(group_ids):
        db.execute(
            update(ScimGroup)
            .where(ScimGroup.id.in_(chunk))
            .values(version=ScimGroup.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )
    return group_ids
