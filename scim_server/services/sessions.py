"""Session revocation (lifecycle.md §2.6): one path for every cause of lost access."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session as DbSession

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.storage.models import Membership
from scim_server.storage.models import Session
from scim_server.storage.models import utcnow


def revoke_member_sessions(
    db: DbSession, membership: Membership, *, reason: str, actor: Actor
) -> int:
    """Revoke every live session of the member in this org, in the caller's transaction.

    Bumps ``access_epoch`` so a session minted before the loss never validates again,
    even if the member is later reactivated.
    """
    membership.access_epoch += 1
    result = db.execute(
        update(Session)
        .where(
            Session.user_id == membership.user_id,
            Session.org_id == membership.org_id,
            Session.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        record(
            db,
            membership.org_id,
            actor,
            EventType.SESSION_REVOKED,
            target_type="membership",
            target_id=membership.id,
            membership_id=membership.id,
            user_id=membership.user_id,
            after={"revoked": count},
            reason=reason,
        )
    return count
