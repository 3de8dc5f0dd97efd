"""Org-scoped select helpers. The directory or organisation is always a positional argument:
forgetting it is a TypeError, not a data leak."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy.orm import Session

from scim_server.storage import access_sql
from scim_server.storage import prepared
from scim_server.storage import row_writes
from scim_server.storage.models import Directory
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import OrgDomain
from scim_server.storage.models import Role
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue
from scim_server.storage.models import SiteAssignment
from scim_server.storage.models import User
from scim_server.storage.scim_reads import GROUPS_OF_THE_ROW
from scim_server.storage.scim_reads import pairs_by_name

# Built once (every SCIM request on one user runs it): composing the expression per call
# costs more Python than the indexed lookup itself.
_LIVE_SCIM_USER = (
    select(ScimUser, Membership, User)
    .join(Membership, Membership.id == ScimUser.membership_id)
    .join(User, User.id == Membership.user_id)
    .where(
        ScimUser.id == bindparam("scim_id"),
        ScimUser.directory_id == bindparam("directory_id"),
        ScimUser.deleted_at.is_(None),
    )
)
_LIVE_SCIM_USER_FOR_UPDATE = _LIVE_SCIM_USER.with_for_update(of=[ScimUser, Membership])
# The same rows as Core columns (each table's under its own prefix), with the groups: the
# user PATCH and PUT path reads it straight from the driver (``prepared``) and attaches the
# entities itself (``row_writes.loaded``), which costs a fraction of an ORM load of three.
_ENTITIES = (("s", ScimUser), ("m", Membership), ("p", User))
_TABLES = {prefix: cast(Table, cls.__table__) for prefix, cls in _ENTITIES}
_LIVE_SCIM_USER_ROWS_WITH_GROUPS_FOR_UPDATE = (
    select(
        *(c.label(f"{prefix}_{c.name}") for prefix, table in _TABLES.items() for c in table.c),
        GROUPS_OF_THE_ROW,
    )
    .select_from(
        _TABLES["s"]
        .join(_TABLES["m"], _TABLES["m"].c.id == _TABLES["s"].c.membership_id)
        .join(_TABLES["p"], _TABLES["p"].c.id == _TABLES["m"].c.user_id)
    )
    .where(
        _TABLES["s"].c.id == bindparam("scim_id"),
        _TABLES["s"].c.directory_id == bindparam("directory_id"),
        _TABLES["s"].c.deleted_at.is_(None),
    )
    .with_for_update(of=[_TABLES["s"], _TABLES["m"]])
)


def _entity_columns() -> list[tuple[type[Any], tuple[str, ...], int, int]]:
    """Each entity's column names and where they sit in that statement's row."""
    out, start = [], 0
    for prefix, cls in _ENTITIES:
        names = tuple(c.name for c in _TABLES[prefix].c)
        out.append((cls, names, start, start + len(names)))
        start += len(names)
    return out


_ENTITY_COLUMNS = _entity_columns()


def live_scim_user(
    db: Session, directory_id: str, scim_id: str, *, for_update: bool = False
) -> tuple[ScimUser, Membership, User] | None:
    """The live SCIM user with its membership and person; tombstones are not found."""
    stmt = _LIVE_SCIM_USER_FOR_UPDATE if for_update else _LIVE_SCIM_USER
    row = db.execute(stmt, {"scim_id": scim_id, "directory_id": directory_id}).first()
    return None if row is None else (row[0], row[1], row[2])


def live_scim_user_with_groups(
    db: Session, directory_id: str, scim_id: str
) -> tuple[ScimUser, Membership, User, list[tuple[str, str | None]]] | None:
    """``live_scim_user`` locked, with the user's groups as sorted (id, name) pairs: a
    write's answer shows them, and they are read in the same statement."""
    params = {"scim_id": scim_id, "directory_id": directory_id}
    db.flush()  # as the ORM's execute would autoflush
    row = prepared.first(db, _LIVE_SCIM_USER_ROWS_WITH_GROUPS_FOR_UPDATE, params)
    if row is None:
        return None
    scim_user, membership, person = (
        row_writes.loaded(db, cls, dict(zip(names, row[start:end], strict=True)))
        for cls, names, start, end in _ENTITY_COLUMNS
    )
    return (
        cast(ScimUser, scim_user),
        cast(Membership, membership),
        cast(User, person),
        pairs_by_name(row.group_pairs),
    )


def live_scim_id(db: Session, membership_id: str) -> str | None:
    return db.scalar(
        select(ScimUser.id).where(
            ScimUser.membership_id == membership_id, ScimUser.deleted_at.is_(None)
        )
    )


def latest_tombstone(
    db: Session, directory_id: str, *, user_name: str | None = None, external_id: str | None = None
) -> ScimUser | None:
    stmt = select(ScimUser).where(
        ScimUser.directory_id == directory_id, ScimUser.deleted_at.is_not(None)
    )
    if external_id is not None:
        stmt = stmt.where(ScimUser.external_id == external_id)
    if user_name is not None:
        stmt = stmt.where(func.lower(ScimUser.user_name) == user_name.lower())
    return db.scalars(stmt.order_by(ScimUser.deleted_at.desc()).limit(1)).first()


def membership_of(
    db: Session, org_id: str, user_id: str, *, for_update: bool = False
) -> Membership | None:
    """The one membership row of (org, user), live or ended; ``for_update`` locks it."""
    stmt = select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def live_membership_elsewhere(db: Session, org_id: str, user_id: str) -> bool:
    stmt = (
        select(Membership.id)
        .join(Organization, Organization.id == Membership.org_id)
        .where(
            Membership.user_id == user_id,
            Membership.org_id != org_id,
            Membership.ended_at.is_(None),
            # a staged candidate directory's organisation is no membership (issue 15)
            Organization.candidate_for.is_(None),
        )
    )
    return db.scalar(stmt.limit(1)) is not None


# Built-in role ids, remembered per process after the first lookup: migration 0001 seeds
# them with fixed ids and nothing changes or deletes them, so the memo can never go stale
# (and every SCIM create or deactivation would otherwise spend a round trip on it).
_BUILTIN_ROLE_IDS: dict[str, str] = {}


def builtin_role_id(db: Session, name: str) -> str:
    if name not in _BUILTIN_ROLE_IDS:
        builtins = db.execute(select(Role.name, Role.id).where(Role.org_id.is_(None))).all()
        _BUILTIN_ROLE_IDS.update({row.name: row.id for row in builtins})
    role_id = _BUILTIN_ROLE_IDS.get(name)
    if role_id is None:
        raise LookupError(f"built-in role {name!r} is missing: run `scim-server db upgrade`")
    return role_id


def clear_grants(db: Session, m: Membership) -> list[str]:
    """Clear role, scope and sites (removal, docs/lifecycle.md §2.4); return the removed
    site ids."""
    sites = list(
        db.scalars(select(SiteAssignment.site_id).where(SiteAssignment.membership_id == m.id))
    )
    db.execute(delete(SiteAssignment).where(SiteAssignment.membership_id == m.id))
    m.role_id, m.scope = None, None
    # A re-add starts under directory control (docs/lifecycle.md §2.7).
    m.role_override_by = m.role_override_at = m.sites_override_by = m.sites_override_at = None
    return sites


def domain_owner(db: Session, domain: str) -> str | None:
    """The organisation that verified ``domain`` (at most one can)."""
    return db.scalar(
        select(OrgDomain.org_id).where(
            OrgDomain.domain == domain, OrgDomain.verified_at.is_not(None)
        )
    )


def email_holder_and_domain_owner(
    db: Session, email_normalized: str, domain: str
) -> tuple[str | None, str | None]:
    """The id of the person with this email and the organisation that verified ``domain``,
    in one round trip (a SCIM create needs both)."""
    params = {"email": email_normalized, "domain": domain}
    holder, owner = db.execute(_EMAIL_HOLDER_AND_DOMAIN_OWNER, params).one()
    return cast(str | None, holder), cast(str | None, owner)


def email_holder_and_domain_owner_columns() -> tuple[Any, Any]:
    """The two scalar subqueries behind ``email_holder_and_domain_owner``, bound to
    ``:email`` and ``:domain``, for a statement that reads them with other things."""
    holder = select(User.id).where(User.email_normalized == bindparam("email"))
    owner = select(OrgDomain.org_id).where(
        OrgDomain.domain == bindparam("domain"), OrgDomain.verified_at.is_not(None)
    )
    return holder.scalar_subquery(), owner.scalar_subquery()


_EMAIL_HOLDER_AND_DOMAIN_OWNER = select(*email_holder_and_domain_owner_columns())


def db_now(db: Session) -> Any:
    """The database clock as naive UTC, for expiry checks that must not trust app clocks."""
    if db.get_bind().dialect.name == "postgresql":
        return func.timezone("UTC", func.now())
    return func.strftime("%Y-%m-%d %H:%M:%f", "now")


def directory_of(db: Session, org_id: str) -> Directory | None:
    """The organisation's SCIM directory row (one per organisation, connected or not)."""
    return db.scalars(select(Directory).where(Directory.org_id == org_id)).first()


def connected_directory(db: Session, org_id: str) -> Directory | None:
    """The organisation's directory unless it has been disconnected."""
    directory = directory_of(db, org_id)
    return directory if directory is not None and directory.disconnected_at is None else None


def directory_active(db: Session, org_id: str) -> bool:
    """A connected SCIM directory that has provisioned someone: the IdP decides who exists.

    Views minted for JIT or invited members (still ``unmanaged``) do not count.
    """
    directory = connected_directory(db, org_id)
    if directory is None:
        return False
    # Sought from the managed memberships (ix_memberships_org_directory_state): walking the
    # live views for one that is managed read every JIT member of a JIT-only organisation.
    # Not from ``removed`` ones: the removal tombstones the view (lifecycle row X1; an IdP
    # migration's rollback revives only views of live memberships), and they pile up — a
    # directory that deprovisioned thousands would be read through here.
    live_view = exists().where(
        ScimUser.membership_id == Membership.id,
        ScimUser.directory_id == directory.id,
        ScimUser.deleted_at.is_(None),
    )
    managed = select(Membership.id).where(
        Membership.org_id == org_id, Membership.directory_state.in_(_MANAGED), live_view
    )
    return db.scalar(managed.limit(1)) is not None


_MANAGED = [DirectoryState.ACTIVE, DirectoryState.INACTIVE]  # the states a live view can hold


def effective_owner_count(
    db: Session, org_id: str, owner_role_id: str | None, *, excluding: str | None = None
) -> int:
    """Owners with effective access (docs/lifecycle.md §2.3), optionally not counting one.

    The organisation's own ``active`` flag is left out: an inactive organisation keeps
    the Owners it will have once reactivated, so the last-Owner guard still holds there.
    """
    stmt = (
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.org_id == org_id,
            Membership.role_id == owner_role_id,
            access_sql.row_grants_access(),
            access_sql.person_enabled(),
        )
    )
    if excluding is not None:
        stmt = stmt.where(Membership.id != excluding)
    return int(db.scalar(stmt) or 0)


def live_scim_view(db: Session, membership_id: str) -> tuple[str, dict[str, Any]] | None:
    """The id and stored attributes of a membership's live SCIM row: the profile its
    organisation's directory supplies (docs/lifecycle.md §9)."""
    row = db.execute(
        select(ScimUser.id, ScimUser.attributes).where(
            ScimUser.membership_id == membership_id, ScimUser.deleted_at.is_(None)
        )
    ).first()
    return None if row is None else (row[0], row[1])


def memberships_with_email(org_id: str, email_key: str, spellings: list[str]) -> Any:
    """The ids of an organisation's memberships that have this email now
    (docs/lifecycle.md §9): one its directory lists for them (the indexed filter rows of
    their live SCIM user, stored as sent, hence ``spellings``), or the person's own
    (normalised) email. Both halves are indexed lookups; nothing is scanned per
    organisation."""
    view_email = (ScimUserValue.scim_user_id == ScimUser.id) & (ScimUserValue.attribute == "emails")
    in_view = (
        select(ScimUser.membership_id)
        .join(ScimUserValue, view_email)
        .join(Directory, Directory.id == ScimUser.directory_id)
        .where(
            Directory.org_id == org_id,
            ScimUser.deleted_at.is_(None),
            ScimUserValue.value_lower.in_(spellings),
        )
    )
    by_person = (
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id, User.email_normalized == email_key)
    )
    return union(in_view, by_person)


def equal_within(
    exact: Iterable[tuple[Any, Any]], at: Any, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """A list filter's conditions: each (column, value) whose value is given, and ``at``
    in [since, until). Shared by the event feed and the provisioning log."""
    found: list[ColumnElement[bool]] = [col == value for col, value in exact if value is not None]
    if since is not None:
        found.append(at >= since)
    if until is not None:
        found.append(at < until)
    return found
