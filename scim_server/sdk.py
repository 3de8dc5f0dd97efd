"""The sign-in and membership services as a Python API for the host product.

The management API is one way in; a host product that runs in the same process (or just
shares the database) can call the same services directly::

    services = Services({"DATABASE_URL": "postgresql+psycopg://…", "TOKEN_PEPPER": "…"})
    issued = services.invite(org_id, "bob@acme.com", role="viewer")
    services.accept_invitation(issued.token, name="Bob")

or, next to the HTTP app, ``Services.from_app(create_app())``. Every method:

- takes plain typed arguments (ids, emails, ``Claims``), never request bodies or ORM rows;
- is one transaction: it commits when it returns and rolls back when it raises (the one
  exception is a refused invitation acceptance, whose failed-attempt count is kept, as
  over HTTP, because it is what limits guessing);
- reads its secrets from the configuration, so an invitation link made here is accepted
  over HTTP and the other way round, as long as both use the same ``TOKEN_PEPPER``;
- raises the domain errors of ``scim_server.services.errors``: ``NotFound`` for an unknown
  organisation, member, invitation or session, and ``ProvisioningError`` with a stable
  ``code`` (``seat_limit_reached``, ``invitation_invalid``, ``membership_not_found``…)
  for every refusal, the same codes the management API answers with.

Members, invitations and events come back as the management API's JSON objects (plain
dicts, described in ``scim_server/openapi.json``); outcomes come back as the dataclasses
below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from scim_server import config as app_config
from scim_server.db import make_engine
from scim_server.services.audit import Actor
from scim_server.services.errors import DomainError
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import NotFound
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import admin
from scim_server.services.membership import sessions
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.representation import describe
from scim_server.services.organizations import events as event_feed
from scim_server.services.organizations import orgs
from scim_server.services.organizations.representation import event_json
from scim_server.services.signin import invitations
from scim_server.services.signin import jit
from scim_server.services.signin import jit_config
from scim_server.services.signin.invitations import Accepted
from scim_server.services.signin.jit import Claims
from scim_server.services.signin.representation import invitation_json
from scim_server.services.signin.representation import invitation_link
from scim_server.storage.models import Organization
from scim_server.storage.models import SignInSession

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "Accepted",
    "Claims",
    "DomainError",
    "EventPage",
    "IssuedInvitation",
    "NewOrganization",
    "NotFound",
    "ProvisioningError",
    "Services",
    "SessionInfo",
    "SessionStatus",
    "SsoSignIn",
]

MAX_EVENTS = 1000  # the most events one page holds, as over HTTP


@dataclass(frozen=True)
class NewOrganization:
    """An organisation just created, with the credentials shown this once."""

    id: str
    name: str
    scim_token: str  # the IdP's bearer token for /scim/v2
    management_key: str  # the organisation's key for the management API


@dataclass(frozen=True)
class SessionInfo:
    """A registered sign-in session."""

    id: str
    user_id: str
    organization_id: str
    method: str
    sso_connection_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class SessionStatus:
    """Whether a session is valid now; when not, why (``signed_out``, ``membership_disabled``…)."""

    valid: bool
    reason: str | None


@dataclass(frozen=True)
class SsoSignIn:
    """An SSO login that went through: who, what JIT did, and the session issued."""

    user_id: str
    organization_id: str
    membership_id: str
    session: SessionInfo
    provisioned: bool  # JIT created the membership
    created_user: bool
    linked_identity: bool  # the (issuer, subject) pair was linked to the account now


@dataclass(frozen=True)
class IssuedInvitation:
    """A created or resent invitation: the only moment its token exists in clear."""

    id: str
    organization_id: str
    email: str
    token: str
    accept_url: str  # the configured INVITATION_ACCEPT_URL with ?token=… appended
    invitation: dict[str, Any]  # as GET …/invitations shows it


@dataclass(frozen=True)
class EventPage:
    """Events oldest first; pass ``next_cursor`` as ``after`` to read on."""

    events: list[dict[str, Any]]
    next_cursor: str | None


class _Transaction:
    """One unit of work; ``keep_writes`` commits it even though the call then raises."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.kept = False

    def keep_writes(self) -> None:
        self.kept = True


class Services:
    """Entry point to the services, configured like the app (see ``scim_server.config``).

    ``config`` takes the app's keys without the ``SCIM_`` prefix: ``DATABASE_URL``,
    ``TOKEN_PEPPER`` (must be the server's own, or links and keys will not match) and
    ``INVITATION_ACCEPT_URL``; anything left out has the app's default. The environment
    is not read: pass what you mean.

    Each call opens its own database session, so it is not part of a management-API
    request that happens to be running: call it from your own code, not from inside one.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        settings = {**app_config.DEFAULTS, **(config or {})}
        app_config.validate(settings)
        self._engine: Engine | None = None
        factory: sessionmaker[Session] | None = settings.get("SESSION_FACTORY")
        if factory is None:
            self._engine = make_engine(
                settings["DATABASE_URL"],
                echo=settings["ECHO_SQL"],
                lock_timeout=settings["LOCK_TIMEOUT_SECONDS"],
            )
            factory = sessionmaker(bind=self._engine, expire_on_commit=False)
        self._factory = factory
        self._pepper: str = settings["TOKEN_PEPPER"]
        self._accept_url: str = settings["INVITATION_ACCEPT_URL"]

    @classmethod
    def from_app(cls, app: Flask) -> Services:
        """The services of a running app: its configuration and its database sessions."""
        return cls({**app.config, "SESSION_FACTORY": app.extensions["scim_sessionmaker"]})

    def close(self) -> None:
        """Release the database connections this object opened (none when from an app)."""
        if self._engine is not None:
            self._engine.dispose()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- organisations ------------------------------------------------------------------

    def create_organization(
        self,
        name: str,
        *,
        seat_limit: int | None = None,
        exclusive_membership: bool | None = None,
    ) -> NewOrganization:
        """A new organisation with its SCIM directory, a SCIM token and a management key."""
        settings: dict[str, Any] = {}
        if seat_limit is not None:
            settings["seat_limit"] = seat_limit
        if exclusive_membership is not None:
            settings["exclusive_membership"] = exclusive_membership
        with self._transaction() as tx:
            created = orgs.provision(
                tx.db, name, settings, pepper=self._pepper, actor=_system_actor()
            )
            return NewOrganization(
                created.org.id,
                created.org.name,
                created.scim_token.secret,
                created.management_key.secret,
            )

    # --- JIT sign-in --------------------------------------------------------------------

    def sso_sign_in(self, connection_id: str, claims: Claims) -> SsoSignIn:
        """JIT on an SSO login whose token your OIDC/SAML layer has validated, then a session.

        :raises ProvisioningError: with the refusal's code (``jit_disabled``,
            ``email_domain_not_verified``, ``membership_disabled``…); nothing is written.
        """
        with self._transaction() as tx:
            signed_in = jit.sign_in_with_sso(tx.db, connection_id, claims, actor=_system_actor())
            return _sso_sign_in(signed_in)

    def sso_complete_link(self, connection_id: str, user_id: str, claims: Claims) -> SsoSignIn:
        """Complete a link ``sso_sign_in`` refused with ``account_link_required``, for a
        person your product has signed in to the existing account ``user_id``, then sign in
        (docs/lifecycle.md §3.6).

        :raises ProvisioningError: ``sso_link_email_mismatch`` when the claims' email is not
            the account's, or a refusal of ``sso_sign_in``; nothing is written.
        """
        with self._transaction() as tx:
            signed_in = jit.complete_link(
                tx.db, connection_id, user_id, claims, actor=_system_actor()
            )
            return _sso_sign_in(signed_in)

    # --- invitations --------------------------------------------------------------------

    def invite(
        self,
        org_id: str,
        email: str,
        *,
        role: str = "member",
        scope: dict[str, list[str]] | None = None,
        expires_in: int = invitations.DEFAULT_TTL,
        delivery: str = "email",
        replace: bool = False,
        acting_user: str,
    ) -> IssuedInvitation:
        """Invite ``email`` with a role (built-in name, or a custom role's id or name).

        ``acting_user`` is who invites: an effective Owner or Admin (id or email), whose
        role ceiling applies, or ``"key"`` for the host product itself.
        ``replace`` revokes a pending invitation for the same email instead of refusing.
        """
        request = {
            "email": email,
            "role": role,
            "scope": scope,
            "expires_in": expires_in,
            "delivery": delivery,
            "replace": replace,
        }
        with self._transaction() as tx:
            org = orgs.get_org(tx.db, org_id)
            by = _admin_actor(tx.db, org, acting_user)
            issued = invitations.create(tx.db, org, request, by=by, pepper=self._pepper)
            return self._issued(tx.db, issued)

    def resend_invitation(
        self, org_id: str, invitation_id: str, *, acting_user: str
    ) -> IssuedInvitation:
        """A new secret and a fresh expiry for a pending invitation; the old link dies."""
        with self._transaction() as tx:
            org = orgs.get_org(tx.db, org_id)
            actor = _admin_actor(tx.db, org, acting_user).actor
            issued = invitations.resend(tx.db, org, invitation_id, actor=actor, pepper=self._pepper)
            return self._issued(tx.db, issued)

    def revoke_invitation(
        self, org_id: str, invitation_id: str, *, acting_user: str
    ) -> dict[str, Any]:
        """Revoke a pending invitation at once; returns it as the management API shows it."""
        with self._transaction() as tx:
            org = orgs.get_org(tx.db, org_id)
            actor = _admin_actor(tx.db, org, acting_user).actor
            row = invitations.revoke(tx.db, org, invitation_id, actor=actor)
            return invitation_json(tx.db, row)

    def accept_invitation(
        self,
        token: str,
        *,
        user_id: str | None = None,
        email: str | None = None,
        name: str | None = None,
    ) -> Accepted:
        """Accept for the person who followed the link.

        ``user_id``: the signed-in account accepting (its verified email must be the
        invited one). Without it the person signs up: a new account with the invited
        email (``email``, if given, must match it) and ``name``.
        """
        user = invitations.Invitee(id=user_id, email=email, name=name)
        with self._transaction() as tx:
            return invitations.accept_token(
                tx.db, token, user, pepper=self._pepper, keep_failed_attempt=tx.keep_writes
            )

    def _issued(self, db: Session, issued: invitations.Issued) -> IssuedInvitation:
        row = issued.invitation
        return IssuedInvitation(
            row.id,
            row.org_id,
            row.email,
            issued.token,
            invitation_link(self._accept_url, issued.token),
            invitation_json(db, row),
        )

    # --- members ------------------------------------------------------------------------

    def disable_member(
        self,
        org_id: str,
        user_id: str,
        *,
        reason: str | None = None,
        acting_user: str,
    ) -> dict[str, Any]:
        """The admin override: access ends and the member's sessions are revoked.

        Sticky: the directory cannot clear it. Returns the member as the API shows it.
        """
        with self._transaction() as tx:
            org = orgs.get_org(tx.db, org_id)
            by = _admin_actor(tx.db, org, acting_user)
            m = admin.disable(tx.db, org, user_id, reason=reason, by=by)
            return describe(tx.db, m)

    def enable_member(self, org_id: str, user_id: str, *, acting_user: str) -> dict[str, Any]:
        """Clear the admin override (``seat_limit_reached`` when access needs a seat)."""
        with self._transaction() as tx:
            org = orgs.get_org(tx.db, org_id)
            m = admin.enable(tx.db, org, user_id, by=_admin_actor(tx.db, org, acting_user))
            return describe(tx.db, m)

    # --- sessions -----------------------------------------------------------------------

    def create_session(
        self,
        user_id: str,
        org_id: str,
        *,
        method: str,
        sso_connection_id: str | None = None,
    ) -> SessionInfo:
        """Register a sign-in (``method``: password, email_code, social or sso).

        A first sign-in with a verified email on one of the organisation's JIT email
        domains joins it. Refused with the denial's code without effective access.
        """
        with self._transaction() as tx:
            session = jit_config.sign_in(
                tx.db,
                user_id=user_id,
                org_id=org_id,
                method=method,
                sso_connection_id=sso_connection_id,
                actor=_system_actor(),
            )
            return _session_info(session)

    def validate_session(self, session_id: str) -> SessionStatus:
        """Is the session valid now? Access is checked live, not from the session."""
        with self._transaction() as tx:
            valid, reason = sessions.check_session(tx.db, session_id)
            return SessionStatus(valid, reason)

    def revoke_session(self, session_id: str) -> None:
        """Sign out: revoke one session (revoking it again changes nothing)."""
        with self._transaction() as tx:
            sessions.end_session(tx.db, session_id, actor=_system_actor())

    # --- the event feed -----------------------------------------------------------------

    def events(self, org_id: str, *, after: str | None = None, limit: int = 100) -> EventPage:
        """The organisation's events oldest first, after a cursor, at most ``limit`` (1–1000).

        A follower that keeps passing ``next_cursor`` back never misses an event.
        """
        if isinstance(limit, bool) or not 1 <= limit <= MAX_EVENTS:
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, f"'limit' is from 1 to {MAX_EVENTS}."
            )
        with self._transaction() as tx:
            org: Organization = orgs.get_org(tx.db, org_id)
            rows, cursor = event_feed.page(tx.db, org, after=after, limit=limit)
            return EventPage([event_json(e) for e in rows], cursor)

    # --- the unit of work ---------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[_Transaction]:
        """Commit on success, roll back on error (unless the call kept its writes)."""
        tx = _Transaction(self._factory())
        try:
            yield tx
            tx.db.commit()
        except BaseException:
            if tx.kept:
                tx.db.commit()
            else:
                tx.db.rollback()
            raise
        finally:
            tx.db.close()


def _system_actor() -> Actor:
    """Calls from the host's own code are recorded as ``system``/``sdk``."""
    return Actor("system", "sdk", uuid.uuid4().hex)


def _admin_actor(db: Session, org: Organization, acting_user: str) -> AdminActor:
    """Who an admin call is made for, by the rule ``X-Acting-User`` follows over HTTP
    (docs/api.md §1): an effective Owner or Admin by user id or email, or ``"key"`` for
    the host product itself, which holds the database and so acts with the platform key's
    powers, recorded as ``system``/``sdk``. Anything else is refused."""
    return admin.resolve_actor(db, org, acting_user, key=_system_actor(), platform=True)


def _sso_sign_in(signed_in: jit.SsoSignIn) -> SsoSignIn:
    result = signed_in.result
    return SsoSignIn(
        result.user_id,
        result.organization_id,
        result.membership_id,
        _session_info(signed_in.session),
        result.created_membership,
        result.created_user,
        result.linked_identity,
    )


def _session_info(session: SignInSession) -> SessionInfo:
    return SessionInfo(
        session.id,
        session.user_id,
        session.org_id,
        session.method,
        session.sso_connection_id,
        session.created_at,
    )
