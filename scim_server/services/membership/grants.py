"""What a membership grants: its role and scope, validated the same way wherever they are
set (admin edits, invitations, JIT and SSO defaults).

This lives in the membership package, not beside the role catalogue in
``organizations/``: the sign-in and admin services depend on membership, and membership
depends on nothing above it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.errors import quoted
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import Role

OWNER = "owner"
ADMIN = "admin"
ADMIN_ROLES = (OWNER, ADMIN)
# The built-in roles in order of power; a custom role ranks as a member.
RANK = {"owner": 4, "admin": 3, "member": 2, "viewer": 1}


def available_to(org: Organization) -> ColumnElement[bool]:
    """The roles an organisation can grant: the built-in ones and its own custom roles."""
    return Role.org_id.is_(None) | (Role.org_id == org.id)


def resolve_role(
    db: Session, org: Organization, ref: Any, *, code: ErrorCode = ErrorCode.ROLE_INVALID
) -> Role:
    """A built-in role by name, or this organisation's custom role by id or name.

    ``code`` is the error the caller's API documents for an unknown role.
    """
    if not isinstance(ref, str) or not ref:
        raise ProvisioningError(code, "'role' must be a role name or id.")
    role = db.scalars(
        select(Role)
        .where(
            available_to(org),
            (Role.id == ref) | (Role.name == ref),
        )
        .order_by(Role.builtin.desc())
    ).first()
    if role is None:
        raise ProvisioningError(code, f"No role {quoted(ref)} in this organization.")
    return role


def validate_scope(value: Any) -> dict[str, Any] | None:
    """A scope maps names to lists of strings; None clears it."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
        for k, v in value.items()
    ):
        raise ProvisioningError(
            ErrorCode.SCOPE_INVALID,
            '\'scope\' maps names to lists of strings, e.g. {"countries": ["FR"]}.',
        )
    return value


def role_name(db: Session, role_id: str | None) -> str | None:
    return db.scalar(select(Role.name).where(Role.id == role_id)) if role_id else None


def live_role(db: Session, m: Membership | None) -> str | None:
    """The role a person holds through a live membership; None once it has ended."""
    return role_name(db, m.role_id) if m is not None and m.ended_at is None else None


def rank(role: Role) -> int:
    """A role's place in the ceiling: nobody grants a role that ranks above their own."""
    return RANK.get(role.name if role.builtin else "member", RANK["member"])
