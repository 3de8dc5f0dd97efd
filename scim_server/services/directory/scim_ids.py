"""SCIM views of members the directory did not create (docs/lifecycle.md §2.3).

People who joined by JIT or invitation are listed in ``GET /Users`` so that Okta and
Entra find them with their lookup filter instead of POSTing a duplicate. Their SCIM id
is minted when they join (the observable effect of "minted lazily the first time they
are shown"), with the email as ``userName``.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.directory.scim_documents import value_rows
from scim_server.storage import queries
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue
from scim_server.storage.models import User


def mint(db: Session, m: Membership, person: User) -> str | None:
    """Give a live membership without a SCIM view one; returns its id.

    Skipped (None) when the org has no connected directory, the membership already has a
    view, or another live SCIM user holds the email as userName: the IdP then finds that
    one, and a duplicate view would break userName uniqueness.
    """
    directory = queries.connected_directory(db, m.org_id)
    if directory is None:
        return None
    if queries.live_scim_id(db, m.id) is not None:
        return None
    user_name = person.email or person.id
    taken = db.scalar(
        select(ScimUser.id).where(
            ScimUser.directory_id == directory.id,
            ScimUser.deleted_at.is_(None),
            func.lower(ScimUser.user_name) == user_name.lower(),
        )
    )
    if taken is not None:
        return None
    attributes: dict[str, object] = {}
    if person.email:
        attributes["emails"] = [{"value": person.email, "primary": True}]
    row = ScimUser(
        directory_id=directory.id,
        membership_id=m.id,
        user_name=user_name,
        display_name=None,
        attributes=attributes,
    )
    db.add(row)
    db.flush()
    rows = value_rows(attributes)
    if rows:
        db.execute(insert(ScimUserValue), [{"scim_user_id": row.id, **r} for r in rows])
    return row.id
