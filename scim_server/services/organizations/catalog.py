"""Roles and sites of an organisation: built-in roles (owner, admin, member, viewer) plus
custom org-scoped roles, and the sites members can be assigned to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory.preconditions import flush_unique
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership.grants import RANK
from scim_server.services.membership.grants import available_to
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import Site
from scim_server.storage.models import SiteRole

BUILTIN_ROLES = tuple(RANK)  # owner, admin, member, viewer
BUILTIN_SITE_ROLES = ("viewer", "editor", "manager")


def list_roles(db: Session, org: Organization) -> list[Role]:
    stmt = select(Role).where(available_to(org))
    return list(db.scalars(stmt.order_by(Role.builtin.desc(), Role.name)))


def create_role(db: Session, org: Organization, body: dict[str, Any], *, actor: Actor) -> Role:
    """A custom role never carries admin rights: those are the built-in Owner and Admin."""
    name = _name(body)
    if body.get("privileged", False) is not False:
        raise ProvisioningError(
            ErrorCode.ROLE_INVALID,
            "Custom roles carry no admin rights; use the built-in Owner or Admin role for those.",
        )
    if name.lower() in BUILTIN_ROLES:
        raise ProvisioningError(ErrorCode.ROLE_INVALID, f"'{name}' is a built-in role.")
    role = Role(org_id=org.id, name=name, builtin=False, privileged=False)
    db.add(role)
    flush_unique(db, "role", attribute="name")
    record(db, org.id, actor, EventType.ROLE_CREATED, role, after={"name": name})
    return role


def list_sites(db: Session, org: Organization) -> list[Site]:
    return list(db.scalars(select(Site).where(Site.org_id == org.id).order_by(Site.name)))


def create_site(db: Session, org: Organization, body: dict[str, Any], *, actor: Actor) -> Site:
    site = Site(org_id=org.id, name=_name(body))
    db.add(site)
    flush_unique(db, "site", attribute="name")
    record(db, org.id, actor, EventType.SITE_CREATED, site, after={"name": site.name})
    return site


def list_site_roles(db: Session, org: Organization) -> list[SiteRole]:
    """The built-in site roles (viewer, editor, manager) and the organisation's own."""
    stmt = select(SiteRole).where(SiteRole.org_id.is_(None) | (SiteRole.org_id == org.id))
    return list(db.scalars(stmt.order_by(SiteRole.rank, SiteRole.name)))


def create_site_role(
    db: Session, org: Organization, body: dict[str, Any], *, actor: Actor
) -> SiteRole:
    """A custom site role. ``rank`` (1–99, default 20, an editor's) orders it against the
    built-in ones when two group mappings grant the same site (docs/lifecycle.md §2.7)."""
    unknown = set(body) - {"name", "rank"}
    if unknown:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, f"Unknown fields: {', '.join(sorted(unknown))}."
        )
    name = _name(body)
    rank = body.get("rank", 20)
    if not isinstance(rank, int) or isinstance(rank, bool) or not 1 <= rank <= 99:
        raise ProvisioningError(ErrorCode.SITE_ROLE_INVALID, "'rank' must be an integer 1-99.")
    if name.lower() in BUILTIN_SITE_ROLES:
        raise ProvisioningError(ErrorCode.SITE_ROLE_INVALID, f"'{name}' is a built-in site role.")
    site_role = SiteRole(org_id=org.id, name=name, builtin=False, rank=rank)
    db.add(site_role)
    flush_unique(db, "site role", attribute="name")
    after = {"name": name, "rank": rank}
    record(db, org.id, actor, EventType.SITE_ROLE_CREATED, site_role, after=after)
    return site_role


def _name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string.")
    return name.strip()
