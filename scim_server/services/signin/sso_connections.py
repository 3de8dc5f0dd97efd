"""SSO connections: JIT on/off, a non-privileged default role, email-verification policy,
enabled or disabled. Disabling blocks logins through it and revokes its sessions (row S1);
enabling again revives nothing (row S2)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import boolean_fields
from scim_server.services.inputs import writable_fields
from scim_server.services.membership.grants import resolve_role
from scim_server.services.membership.sessions import revoke_connection_sessions
from scim_server.services.signin.representation import connection_json
from scim_server.storage import queries
from scim_server.storage.models import Organization
from scim_server.storage.models import Role
from scim_server.storage.models import SsoConnection
from scim_server.storage.models import utcnow

JIT_MODES = ("auto", "create", "link_only")
_FLAGS = ("jit_enabled", "require_email_verified")


def get(db: Session, org: Organization, connection_id: str) -> SsoConnection:
    conn = db.get(SsoConnection, connection_id)
    if conn is None or conn.org_id != org.id:
        raise NotFound(f"No SSO connection {excerpt(connection_id)}.")
    return conn


def list_connections(db: Session, org: Organization) -> list[SsoConnection]:
    return list(
        db.scalars(
            select(SsoConnection)
            .where(SsoConnection.org_id == org.id)
            .order_by(SsoConnection.created_at)
        )
    )


def create(db: Session, org: Organization, body: dict[str, Any], *, actor: Actor) -> SsoConnection:
    writable_fields(body, _WRITABLE, {})
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string.")
    conn = SsoConnection(org_id=org.id, name=name.strip())
    _set_override(db, org, conn, body)
    _apply_settings(conn, body)
    db.add(conn)
    db.flush()
    after = connection_json(conn)
    record(db, org.id, actor, EventType.SSO_CONNECTION_CREATED, conn, after=after)
    return conn


def update(
    db: Session, org: Organization, connection_id: str, body: dict[str, Any], *, actor: Actor
) -> SsoConnection:
    conn = get(db, org, connection_id)
    before = connection_json(conn)
    body = writable_fields(body, _WRITABLE, before)
    if _ROLE_KEYS & set(body):
        _set_override(db, org, conn, body)
    if "name" in body:
        if not isinstance(body["name"], str) or not body["name"].strip():
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, "'name' must be a non-empty string."
            )
        conn.name = body["name"].strip()
    _apply_settings(conn, body)
    after = connection_json(conn)
    if after != before:
        event = EventType.SSO_CONNECTION_UPDATED
        record(db, org.id, actor, event, conn, before=before, after=after)
    return conn


def disable(
    db: Session, org: Organization, connection_id: str, *, revoke_all: bool, actor: Actor
) -> tuple[SsoConnection, int]:
    """Row S1: block logins through it and revoke its sessions (or all the org's) at once.

    Returns the connection and how many sessions were revoked.
    """
    conn = get(db, org, connection_id)
    if conn.enabled:
        conn.enabled, conn.disabled_at = False, utcnow()
        after = {"revoke_all_org_sessions": revoke_all}
        record(db, org.id, actor, EventType.SSO_CONNECTION_DISABLED, conn, after=after)
    revoked = revoke_connection_sessions(
        db, org.id, None if revoke_all else conn.id, reason="sso_connection_disabled", actor=actor
    )
    return conn, revoked


def enable(db: Session, org: Organization, connection_id: str, *, actor: Actor) -> SsoConnection:
    """Row S2: logins work again; revoked sessions stay revoked."""
    conn = get(db, org, connection_id)
    if not conn.enabled:
        conn.enabled, conn.disabled_at = True, None
        record(db, org.id, actor, EventType.SSO_CONNECTION_ENABLED, conn)
    return conn


# ``default_role_id`` is what the representation shows, ``default_role`` (an id or a name)
# what clients wrote before it: both are accepted so what a client reads it can write back.
_WRITABLE = frozenset(
    {"name", "default_role", "default_role_id", "jit_mode", "jit_enabled", "require_email_verified"}
)

_ROLE_KEYS = frozenset({"default_role", "default_role_id"})


def _default_role_ref(body: dict[str, Any]) -> Any:
    """The default role a write names, through either spelling; both must agree."""
    by_id, by_ref = body.get("default_role_id"), body.get("default_role")
    if "default_role_id" in body and "default_role" in body and by_id != by_ref:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            "'default_role' and 'default_role_id' name different roles: send one.",
        )
    return by_id if "default_role_id" in body else by_ref


def _set_override(
    db: Session, org: Organization, conn: SsoConnection, body: dict[str, Any]
) -> None:
    """The connection's ``default_role`` (or ``default_role_id``, as its representation
    names it): an explicit override of the organisation's JIT role, or null (or absent)
    to follow ``/jit/roles`` (docs/lifecycle.md §3.5)."""
    value = _default_role_ref(body)
    if value is None:
        conn.default_role_id = queries.builtin_role_id(db, "member")  # not read
        conn.default_role_override = False
    else:
        conn.default_role_id = check_default_role(resolve_role(db, org, value)).id
        conn.default_role_override = True


def check_default_role(role: Role) -> Role:
    """JIT never grants Owner, Admin or any privileged role (checked here and at login)."""
    if role.privileged or role.name in ("owner", "admin"):
        raise ProvisioningError(
            ErrorCode.JIT_ROLE_INVALID,
            f"'{role.name}' cannot be a JIT default role: it is privileged.",
        )
    return role


def _apply_settings(conn: SsoConnection, body: dict[str, Any]) -> None:
    for flag, value in boolean_fields(body, _FLAGS).items():
        setattr(conn, flag, value)
    if "jit_mode" in body:
        if body["jit_mode"] not in JIT_MODES:
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, f"'jit_mode' is one of {JIT_MODES}."
            )
        conn.jit_mode = body["jit_mode"]
