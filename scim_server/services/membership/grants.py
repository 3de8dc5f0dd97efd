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
from scim_server.storage.models import Site
from scim_server.storage.models import SiteRole

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


# A site given as a bare id gets this site role: the least one (docs/lifecycle.md §2.7).
DEFAULT_SITE_ROLE = "viewer"


def resolve_site_role(db: Session, org: Organization, ref: Any) -> SiteRole:
    """A built-in site role by name (viewer, editor, manager), or this organisation's own
    by id or name; None means the default site role."""
    ref = DEFAULT_SITE_ROLE if ref is None else ref
    if not isinstance(ref, str) or not ref:
        raise ProvisioningError(ErrorCode.SITE_ROLE_INVALID, "A site 'role' must be a name or id.")
    site_role = db.scalars(
        select(SiteRole)
        .where(
            SiteRole.org_id.is_(None) | (SiteRole.org_id == org.id),
            (SiteRole.id == ref) | (SiteRole.name == ref),
        )
        .order_by(SiteRole.builtin.desc())
    ).first()
    if site_role is None:
        raise ProvisioningError(
            ErrorCode.SITE_ROLE_INVALID, f"No site role {quoted(ref)} in this organization."
        )
    return site_role


def parse_site_grants(db: Session, org: Organization, value: Any) -> dict[str, str]:
    """``sites`` as sent: a list of site ids, or of ``{"site": id, "role": site role}``
    (both may mix). Returns site id -> site role id; unknown sites or roles are refused."""
    if not isinstance(value, list):
        raise ProvisioningError(ErrorCode.SITES_INVALID, _SITES_SHAPE)
    wanted: dict[str, str] = {}
    for item in value:
        site_id, role_ref = _site_item(item)
        wanted[site_id] = resolve_site_role(db, org, role_ref).id
    found = set(db.scalars(select(Site.id).where(Site.org_id == org.id, Site.id.in_(wanted))))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ProvisioningError(
            ErrorCode.SITES_INVALID, f"No site {quoted(', '.join(missing))} here."
        )
    return wanted


_SITES_SHAPE = '\'sites\' must be a list of site ids or of {"site": <id>, "role": <site role>}.'


def _site_item(item: Any) -> tuple[str, Any]:
    if isinstance(item, str) and item:
        return item, None
    if (
        isinstance(item, dict)
        and set(item) <= {"site", "role"}
        and isinstance(item.get("site"), str)
        and item["site"]
    ):
        return item["site"], item.get("role")
    raise ProvisioningError(ErrorCode.SITES_INVALID, _SITES_SHAPE)
