"""Effective access of a membership row, read from the database (docs/lifecycle.md §2.3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from scim_server.services.errors import ErrorCode
from scim_server.services.membership import lifecycle
from scim_server.services.membership.lifecycle import AccessFacts
from scim_server.services.membership.lifecycle import MemberState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import User


def state_of(m: Membership) -> MemberState:
    return MemberState(m.directory_state, m.admin_override, m.end_reason, m.link_state)


def facts_of(db: Session, m: Membership) -> AccessFacts:
    user = db.get(User, m.user_id)
    org = db.get(Organization, m.org_id)
    return AccessFacts(
        user_disabled=user is not None and user.disabled_at is not None,
        org_active=org is not None and org.active,
    )


def effective(db: Session, m: Membership) -> tuple[bool, list[ErrorCode]]:
    """E and its denial reasons for one membership."""
    reasons = lifecycle.denial_reasons(state_of(m), facts_of(db, m))
    return not reasons, reasons
