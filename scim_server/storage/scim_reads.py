"""Core reads behind GET /Users/{id} and list pages: plain rows, statements built once.

The two reads every IdP lookup ends in — a live user with what its representation needs,
and the groups of a page of users — run as prebuilt statements over table columns. No
entity is built and no statement composed per call: at IdP lookup volume the ORM's per-row
and per-statement Python cost was most of a GET's time (docs/benchmark.md). Writes keep
the ORM (``queries.live_scim_user``), which they need for the unit of work. The reads
run on the session's connection (its transaction) without the session's ORM dispatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.storage.models import GroupMember
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import User
from scim_server.storage.planner_hints import not_seekable

_USERS = ScimUser.__table__
_MEMBERSHIPS = Membership.__table__
_PEOPLE = User.__table__
_GROUPS = ScimGroup.__table__
_GROUP_MEMBERS = GroupMember.__table__

# Named as the attributes of ScimUser and Membership that scim_documents.user_to_scim
# reads, so one row serves as both.
_USER_DOCUMENT = select(
    _USERS.c.id,
    _USERS.c.user_name,
    _USERS.c.external_id,
    _USERS.c.attributes,
    _USERS.c.created_at,
    _USERS.c.updated_at,
    _USERS.c.version,
    _MEMBERSHIPS.c.user_id,
    _MEMBERSHIPS.c.directory_state,
    _MEMBERSHIPS.c.admin_override,
    _MEMBERSHIPS.c.end_reason,
    _MEMBERSHIPS.c.link_state,
    _PEOPLE.c.disabled_at,
).select_from(
    _USERS.join(_MEMBERSHIPS, _MEMBERSHIPS.c.id == _USERS.c.membership_id).join(
        _PEOPLE, _PEOPLE.c.id == _MEMBERSHIPS.c.user_id
    )
)
_ONE_LIVE_USER = _USER_DOCUMENT.where(
    _USERS.c.id == bindparam("scim_id"),
    _USERS.c.directory_id == bindparam("directory_id"),
    _USERS.c.deleted_at.is_(None),
)
_USERS_BY_ID = _USER_DOCUMENT.where(_USERS.c.id.in_(bindparam("ids", expanding=True)))


def _groups_of(members: Any) -> Any:
    return (
        select(_GROUP_MEMBERS.c.member_id, _GROUPS.c.id, _GROUPS.c.display_name)
        .select_from(_GROUP_MEMBERS.join(_GROUPS, _GROUPS.c.id == _GROUP_MEMBERS.c.group_id))
        # Driven by the member's rows; the directory is checked on the groups found.
        .where(members, not_seekable(_GROUPS.c.directory_id) == bindparam("directory_id"))
        .order_by(_GROUPS.c.display_name)
    )


_GROUPS_OF_USERS = _groups_of(_GROUP_MEMBERS.c.member_id.in_(bindparam("ids", expanding=True)))
# One user (GET by id, a write's answer): no expanding IN to render per execution.
_GROUPS_OF_USER = _groups_of(_GROUP_MEMBERS.c.member_id == bindparam("id"))


def live_user_document(db: Session, directory_id: str, scim_id: str) -> Row[Any] | None:
    """The live SCIM user's row for its representation; tombstones are not found."""
    params = {"scim_id": scim_id, "directory_id": directory_id}
    return db.connection().execute(_ONE_LIVE_USER, params).first()


def user_documents(db: Session, scim_ids: Sequence[str]) -> list[Row[Any]]:
    """The rows of a page of users whose ids the caller already scoped to a directory."""
    return list(db.connection().execute(_USERS_BY_ID, {"ids": list(scim_ids)}))


def groups_of_users(db: Session, directory_id: str, scim_ids: Sequence[str]) -> list[Row[Any]]:
    """(member id, group id, display name) for each group of those users, by name."""
    if len(scim_ids) == 1:
        one = {"id": scim_ids[0], "directory_id": directory_id}
        return list(db.connection().execute(_GROUPS_OF_USER, one))
    params = {"ids": list(scim_ids), "directory_id": directory_id}
    return list(db.connection().execute(_GROUPS_OF_USERS, params))
