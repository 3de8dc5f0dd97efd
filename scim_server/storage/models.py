"""SQLAlchemy 2 models: the lifecycle data model of docs/lifecycle.md §2.1.

A person (``users``) belongs to organisations through ``memberships``, one row per
(org, user) that is never hard-deleted. The directory's view of a membership is a
``scim_users`` row that a SCIM DELETE tombstones; the directory state (D) and the admin
override (O) are two separate columns so neither writer can clobber the other.
Uniqueness that SCIM promises (userName case-insensitively, externalId, group
displayName) is enforced here, by partial unique indexes over live rows, so parallel
workers get one winner and clean conflicts.
"""

from __future__ import annotations

import enum
import time
import uuid
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import FetchedValue
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

JsonType = JSON().with_variant(JSONB(), "postgresql")
# BIGINT autoincrement on PostgreSQL; SQLite only autoincrements a plain INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC in whole milliseconds: both databases store and compare it the same way,
    and ``meta.created`` read back from a response filters to the very same instant.
    Built from the integer clock (a SCIM create stamps several rows; this is a third of
    the cost of ``datetime.now(UTC)`` and two ``replace`` calls)."""
    return _EPOCH + timedelta(milliseconds=time.time_ns() // 1_000_000)


_EPOCH = datetime(1970, 1, 1)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DirectoryState(enum.StrEnum):
    """D: the last value the SCIM directory pushed (docs/lifecycle.md §2.1)."""

    UNMANAGED = "unmanaged"
    ACTIVE = "active"
    INACTIVE = "inactive"
    REMOVED = "removed"


class AdminOverride(enum.StrEnum):
    """O: the organisation admin's override; there is no force-enable (docs/lifecycle.md §2.2)."""

    NONE = "none"
    DISABLED = "disabled"


class LinkState(enum.StrEnum):
    LINKED = "linked"
    PENDING_CLAIM = "pending_claim"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    exclusive_membership: Mapped[bool] = mapped_column(Boolean, default=False)
    seat_limit: Mapped[int | None] = mapped_column(Integer)
    # Set when a SCIM write took the org past its seat limit (SCIM never fails for seats).
    over_seat_limit_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Sign-in policy (docs/api.md §3.1): only SSO sessions, with an Owner break-glass.
    sso_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    sso_owner_break_glass: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    # IdP migration (issue 15): set on the hidden organisation holding a staged candidate
    # directory; its id is the real organisation's.
    candidate_for: Mapped[str | None] = mapped_column(String(36), index=True)


class Directory(Base):
    """The SCIM directory of an organisation; SCIM resources and tokens hang off it."""

    __tablename__ = "directories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer secret, stored only as a keyed hash (HMAC-SHA256 with the server pepper)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # scim | management
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(320))
    # Written at most once a minute per token (tokens.touch_last_used), not per request.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    # ops: the fingerprint of the pepper that hashed it (secrets.pepper_id); NULL before 0011.
    pepper_kid: Mapped[str | None] = mapped_column(String(16))


class User(Base):
    """A person, across organisations."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str | None] = mapped_column(String(320))
    email_normalized: Mapped[str | None] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(300))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The organisation whose SCIM directory created the person and so keeps its name and
    # email current (docs/lifecycle.md §9); NULL: no directory does, others write only
    # their own membership's view. (No foreign key: SQLite could add one only by
    # rebuilding ``users``, which every membership references; organisations are never
    # deleted.)
    profile_org_id: Mapped[str | None] = mapped_column(String(36))


class Role(Base):
    """Built-in roles have no org; custom roles belong to one organisation."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    privileged: Mapped[bool] = mapped_column(Boolean, default=False)


class Membership(Base):
    """Exactly one row per (org, user); never hard-deleted (docs/lifecycle.md §2.1)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("org_id", "user_id"),
        # Whether the IdP manages anyone (queries.directory_active), by index.
        Index("ix_memberships_org_directory_state", "org_id", "directory_state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # scim | jit | invitation | admin
    directory_state: Mapped[str] = mapped_column(String(20), default=DirectoryState.UNMANAGED)
    admin_override: Mapped[str] = mapped_column(String(20), default=AdminOverride.NONE)
    override_by: Mapped[str | None] = mapped_column(String(200))
    override_at: Mapped[datetime | None] = mapped_column(DateTime)
    override_reason: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    link_state: Mapped[str] = mapped_column(String(20), default=LinkState.LINKED)
    role_id: Mapped[str | None] = mapped_column(ForeignKey("roles.id"))
    scope: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    access_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # An admin's manual role or sites (docs/lifecycle.md §2.7): set, group mappings leave
    # that grant alone until the admin returns it to directory control.
    role_override_by: Mapped[str | None] = mapped_column(String(200))
    role_override_at: Mapped[datetime | None] = mapped_column(DateTime)
    sites_override_by: Mapped[str | None] = mapped_column(String(200))
    sites_override_at: Mapped[datetime | None] = mapped_column(DateTime)


class OrgDomain(Base):
    """An email domain an organisation claims; verified by DNS TXT (or by support, by hand).

    A domain can be verified by at most one organisation: the partial unique index over
    verified rows makes a second verification lose cleanly.
    """

    __tablename__ = "org_domains"
    __table_args__ = (
        UniqueConstraint("org_id", "domain"),
        Index(
            "uq_org_domains_verified",
            "domain",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    domain: Mapped[str] = mapped_column(String(253))
    verification_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_method: Mapped[str | None] = mapped_column(String(20))  # dns | manual
    verified_by: Mapped[str | None] = mapped_column(String(200))
    jit_enabled: Mapped[bool] = mapped_column(Boolean, default=False)  # a JIT email domain


class SsoConnection(Base):
    """An organisation's SSO connection; disabling it blocks logins and revokes its sessions."""

    __tablename__ = "sso_connections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    jit_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    jit_mode: Mapped[str] = mapped_column(String(20), default="auto")  # auto|create|link_only
    # The JIT role when ``default_role_override`` is set: an explicit per-connection
    # override of the organisation's ``/jit/roles``. Without it the connection follows
    # ``/jit/roles`` (else Member) and this column is not read (docs/lifecycle.md §3.5).
    default_role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"))
    default_role_override: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    require_email_verified: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The IdP side (SAML or OIDC, claim mapping), validated by services/signin/protocol_config.py;
    # the OIDC client secret is kept apart, encrypted, and never rendered.
    protocol_config: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)


class SsoIdentity(Base):
    """A person's identity at an IdP, keyed by (issuer, subject), never by email."""

    __tablename__ = "sso_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        UniqueConstraint("connection_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(500))
    connection_id: Mapped[str] = mapped_column(ForeignKey("sso_connections.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class JitRole(Base):
    """The role email-domain JIT gives (Logto's organization JIT roles); never privileged."""

    __tablename__ = "org_jit_roles"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"), primary_key=True)


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(200))


class SiteRole(Base):
    """A role on a site: built-in (no org; viewer, editor, manager) or an organisation's own.

    ``rank`` orders them when several group mappings grant one site (docs/lifecycle.md §2.7).
    """

    __tablename__ = "site_roles"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    rank: Mapped[int] = mapped_column(Integer)


class SiteAssignment(Base):
    __tablename__ = "site_assignments"

    membership_id: Mapped[str] = mapped_column(ForeignKey("memberships.id"), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True, index=True)
    site_role_id: Mapped[str | None] = mapped_column(ForeignKey("site_roles.id"))


class GroupMapping(Base):
    """A SCIM group -> a role, or -> a site with a site role (docs/lifecycle.md §2.7).

    The group is named by id (survives a rename) or by display name (set up before the IdP
    pushes it; matched case-insensitively, like the directory's own uniqueness).
    ``group_key`` and ``grant_key`` make a duplicate mapping a unique-index conflict.
    """

    __tablename__ = "group_mappings"
    __table_args__ = (
        UniqueConstraint("org_id", "group_key", "grant_key"),
        Index("ix_group_mappings_group_id", "group_id"),
        Index("ix_group_mappings_org_name", "org_id", "group_name_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    group_id: Mapped[str | None] = mapped_column(String(36))
    group_name: Mapped[str | None] = mapped_column(String(300))
    group_name_key: Mapped[str | None] = mapped_column(String(300))  # lower(group_name)
    group_key: Mapped[str] = mapped_column(String(310))  # id:<id> | name:<lower name>
    grant_key: Mapped[str] = mapped_column(String(50))  # role | site:<site id>
    role_id: Mapped[str | None] = mapped_column(ForeignKey("roles.id"))
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))
    site_role_id: Mapped[str | None] = mapped_column(ForeignKey("site_roles.id"))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ScimUser(Base):
    """The SCIM view of a membership; DELETE tombstones it and its id is never reused."""

    __tablename__ = "scim_users"
    __table_args__ = (
        Index(
            "uq_scim_users_live_user_name",
            "directory_id",
            func.lower(text("user_name")),
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_scim_users_live_external_id",
            "directory_id",
            "external_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_scim_users_live_membership",
            "membership_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Tombstone lookups for re-adds (docs/lifecycle.md row P5) and the lower(userName) filter.
        Index("ix_scim_users_user_name", "directory_id", func.lower(text("user_name"))),
        Index("ix_scim_users_external_id", "directory_id", "external_id"),
        # Serves the default listing order and exact counts of a directory's live users.
        Index(
            "ix_scim_users_live_listing",
            "directory_id",
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    directory_id: Mapped[str] = mapped_column(ForeignKey("directories.id"))
    membership_id: Mapped[str] = mapped_column(ForeignKey("memberships.id"), index=True)
    user_name: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    display_name: Mapped[str | None] = mapped_column(String(300))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class ScimUserValue(Base):
    """One element of a multi-valued User attribute (emails, phoneNumbers, …).

    A search index derived from ``ScimUser.attributes`` on every write, so that
    ``emails[type eq "work" and value co "@x"]`` is an indexed EXISTS in SQL.
    """

    __tablename__ = "scim_user_values"
    __table_args__ = (Index("ix_scim_user_values_lookup", "attribute", "value_lower"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scim_user_id: Mapped[str] = mapped_column(ForeignKey("scim_users.id"), index=True)
    attribute: Mapped[str] = mapped_column(String(40))
    value: Mapped[str | None] = mapped_column(Text)
    value_lower: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(100))
    primary: Mapped[bool | None] = mapped_column(Boolean)  # absent is not false
    element: Mapped[dict[str, Any]] = mapped_column(JsonType)


class ScimGroup(Base):
    __tablename__ = "scim_groups"
    __table_args__ = (
        Index(
            "uq_scim_groups_display_name",
            "directory_id",
            func.lower(text("display_name")),
            unique=True,
        ),
        Index("uq_scim_groups_external_id", "directory_id", "external_id", unique=True),
        # The unfiltered list in id order, seeked from a page bookmark (storage/list_state.py).
        Index("ix_scim_groups_listing", "directory_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    directory_id: Mapped[str] = mapped_column(ForeignKey("directories.id"))
    display_name: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GroupMember(Base):
    """One row per (group, member): a one-member change never touches the others."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    member_type: Mapped[str] = mapped_column(String(10))  # User | Group
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignInSession(Base):
    """A sign-in session of the host product; revocation is one-way (docs/lifecycle.md §2.6)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_org", "user_id", "org_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    sso_connection_id: Mapped[str | None] = mapped_column(String(36), index=True)
    method: Mapped[str] = mapped_column(String(20))
    access_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(60))


class Invitation(Base):
    """An email invitation; only a keyed hash of its secret is stored (docs/lifecycle.md §4.2)."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index(
            "uq_invitations_pending",
            "org_id",
            "email_normalized",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id"))
    scope: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    # site id -> site role id, given on acceptance (docs/lifecycle.md §2.7)
    sites: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    secret_hash: Mapped[str] = mapped_column(String(64))
    hash_kid: Mapped[str] = mapped_column(String(20))
    delivery: Mapped[str] = mapped_column(String(10), default="email")
    ttl_seconds: Mapped[int] = mapped_column(Integer, default=7 * 24 * 3600)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    accepted_user_id: Mapped[str | None] = mapped_column(String(36))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """The append-only audit trail, written in the same transaction as each change.

    Membership transitions (docs/lifecycle.md §2.1, ``events``) and every other change
    (groups, tokens, sessions) share this one table so the feed has one cursor.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_org_cursor", "org_id", "id"),
        Index("ix_events_org_txid", "org_id", "txid", "id"),
        # log part (issue 12): feed filters by type, provisioning-log links by request id
        Index("ix_events_org_type", "org_id", "type", "id"),
        Index("ix_events_org_request", "org_id", "request_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    type: Mapped[str] = mapped_column(String(60))
    actor_type: Mapped[str] = mapped_column(String(20))  # scim|admin|jit|invitation|system
    actor_id: Mapped[str | None] = mapped_column(String(200))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[str] = mapped_column(String(36))
    membership_id: Mapped[str | None] = mapped_column(String(36), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # PostgreSQL: the writing transaction's id (a column default), so the feed can show
    # only settled transactions in commit-safe order. NULL on SQLite (one writer at a time).
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())


class ScimLiveCount(Base):
    """Live SCIM users or groups of a directory, split over shards (storage/list_state.py).

    Maintained by database triggers (migration 0005) in the transaction of every change,
    so ``totalResults`` of an unfiltered list sums a few rows instead of counting them all;
    ``changes`` only grows, and its sum is the directory's change generation.
    """

    __tablename__ = "scim_live_counts"

    directory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resource: Mapped[str] = mapped_column(String(10), primary_key=True)  # User | Group
    shard: Mapped[int] = mapped_column(Integer, primary_key=True)
    live: Mapped[int] = mapped_column(BigInteger, default=0)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)


class ScimPageBookmark(Base):
    """Where the next page of a sequential list walk starts (storage/list_state.py)."""

    __tablename__ = "scim_page_bookmarks"

    directory_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    resource: Mapped[str] = mapped_column(String(10), primary_key=True)
    query_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 0-based offset
    after_id: Mapped[str] = mapped_column(String(36))
    generation: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProvisioningLogEntry(Base):
    """One SCIM request of an organisation, failures included (README "Provisioning log").

    Append-only and pruned by age (``scim-server log prune``). No foreign key to the
    organisation: a failed request's entry is written after its transaction rolled back,
    and an insert per request should not take a key-share lock on the organisation row.
    The events a request wrote are found by its ``request_id`` within its time span.
    Every index but the first is partial, so a request pays only for the lookups it can
    answer: a PATCH carries no userName, a success needs no status index (the status
    filter of successes walks the first index, and successes are most rows anyway).
    """

    __tablename__ = "provisioning_log"
    __table_args__ = (
        Index("ix_provisioning_log_org_id", "org_id", "id"),
        Index(
            "ix_provisioning_log_org_resource",
            "org_id",
            "resource_id",
            "id",
            sqlite_where=text("resource_id IS NOT NULL"),
            postgresql_where=text("resource_id IS NOT NULL"),
        ),
        Index(
            "ix_provisioning_log_org_user_name",
            "org_id",
            func.lower(text("user_name")),
            sqlite_where=text("user_name IS NOT NULL"),
            postgresql_where=text("user_name IS NOT NULL"),
        ),
        Index(
            "ix_provisioning_log_org_external_id",
            "org_id",
            "external_id",
            "id",
            sqlite_where=text("external_id IS NOT NULL"),
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index(
            "ix_provisioning_log_org_failures",
            "org_id",
            "status",
            "id",
            sqlite_where=text("status >= 400"),
            postgresql_where=text("status >= 400"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    request_id: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[str | None] = mapped_column(String(36))
    idp: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    resource_type: Mapped[str | None] = mapped_column(String(20))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    user_name: Mapped[str | None] = mapped_column(String(256))
    external_id: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[int] = mapped_column(Integer)
    scim_type: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    request_body: Mapped[str | None] = mapped_column(Text)


class ConsoleLink(Base):
    """A one-time link into the console: a set-up portal link for a customer's IT admin
    (``purpose='portal'``, scoped to sections) or a host admin's sign-in
    (``purpose='admin'``, naming the acting member). Only a keyed hash of its secret is kept."""

    __tablename__ = "console_links"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(10))  # portal | admin
    sections: Mapped[list[str]] = mapped_column(JsonType)
    acting_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))


class ConsoleSession(Base):
    """A browser's console session, in the database so every worker sees it and a logout
    or timeout counts everywhere at once; only a keyed hash of the cookie is kept."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("console_links.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sections: Mapped[list[str]] = mapped_column(JsonType)
    acting_user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)  # the absolute timeout
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(20))  # logout | idle | expired


# IdP migration (issue 15, part `migrate`)


class IdpMigration(Base):
    """One move of an organisation to another IdP: staged, cut over, rolled back or cancelled.

    The candidate directory lives in a hidden organisation (``candidate_org_id``) so the
    new IdP's pushes go through the ordinary SCIM code without touching anyone's access.
    """

    __tablename__ = "idp_migrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    candidate_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    status: Mapped[str] = mapped_column(String(20))  # staged|cut_over|rolled_back|cancelled
    rules: Mapped[dict[str, Any]] = mapped_column(JsonType)
    only_in_old: Mapped[str | None] = mapped_column(String(20))  # keep | deactivate
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    cut_over_at: Mapped[datetime | None] = mapped_column(DateTime)
    rollback_until: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class IdpMigrationPair(Base):
    """A manual pair: a candidate user (SCIM id) to a member, or a candidate group to a group."""

    __tablename__ = "idp_migration_pairs"

    migration_id: Mapped[str] = mapped_column(ForeignKey("idp_migrations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # user | group
    candidate_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    existing_id: Mapped[str] = mapped_column(String(36))


class IdpMigrationLink(Base):
    """What a cutover did to one candidate user or group, so a rollback undoes exactly that.

    user: ``existing_id`` the member re-linked (None: moved in as new), ``shadow_id`` the
    candidate's own membership. group: ``existing_id`` the old group its mappings came from.
    old_user: an only-in-old member (``candidate_id`` its membership), ``shadow_id`` its
    directory state before.
    """

    __tablename__ = "idp_migration_links"

    migration_id: Mapped[str] = mapped_column(ForeignKey("idp_migrations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    existing_id: Mapped[str | None] = mapped_column(String(36))
    shadow_id: Mapped[str | None] = mapped_column(String(36))
    rule: Mapped[str] = mapped_column(String(20))
