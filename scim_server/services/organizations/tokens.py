"""API tokens: SCIM tokens for the IdP, management keys for the host product.

Only a keyed hash (HMAC-SHA256 with the server pepper) of each secret is stored. Issuing
a SCIM token is what (re)connects an organisation's directory; disconnecting it
(``orgs.disconnect_directory``) revokes them, so ``orgs`` depends on this module and
not the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server import secrets
from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.errors import NotFound
from scim_server.storage import prepared
from scim_server.storage import queries
from scim_server.storage import row_writes
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Directory
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import ScimUser
from scim_server.storage.models import User
from scim_server.storage.models import utcnow

TOKEN_KINDS = ("scim", "management")
_PREFIXES = {"scim": "scim", "management": "mgmt"}


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the only moment its secret exists outside the caller's hands."""

    id: str
    kind: str
    secret: str
    row: ApiToken


def create_token(
    db: Session, org: Organization, kind: str, *, pepper: str, actor: Actor
) -> IssuedToken:
    """Issue a token; only its keyed hash is stored. A SCIM token reconnects the directory."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"token kind must be one of {TOKEN_KINDS}")
    if kind == "scim":
        _reconnect_directory(db, org)
    secret = secrets.new_secret(_PREFIXES[kind])
    token = ApiToken(
        org_id=org.id,
        kind=kind,
        token_hash=secrets.digest(secret, pepper),
        prefix=secret[:9],
        created_by=actor.id or actor.type,
        pepper_kid=secrets.pepper_id(pepper),
    )
    db.add(token)
    db.flush()
    after = {"kind": kind, "prefix": token.prefix}
    record(db, org.id, actor, EventType.TOKEN_CREATED, token, after=after)
    return IssuedToken(token.id, kind, secret, token)


def list_tokens(db: Session, org: Organization, kind: str | None = None) -> list[ApiToken]:
    """The organisation's tokens (of one kind when given), oldest first; never a secret."""
    stmt = select(ApiToken).where(ApiToken.org_id == org.id).order_by(ApiToken.created_at)
    if kind is not None:
        stmt = stmt.where(ApiToken.kind == kind)
    return list(db.scalars(stmt))


def revoke_org_token(
    db: Session, org: Organization, token_id: str, kind: str, *, actor: Actor
) -> ApiToken:
    """``revoke_token`` for a token of ``org`` and of ``kind``: any other id is not found,
    so an organisation key cannot probe another organisation's token ids."""
    token = db.get(ApiToken, token_id)
    if token is None or token.org_id != org.id or token.kind != kind:
        raise NotFound(f"No {kind} token {excerpt(token_id)} in this organization.")
    return revoke_token(db, token.id, actor=actor)


# How stale ``last_used_at`` may be: it answers "is the IdP still using this token?", for
# which a minute is precise enough, and it spares a write on every SCIM request.
LAST_USED_GRANULARITY = timedelta(seconds=60)


def last_use_is_stale(credentials: ScimCredentials) -> bool:
    """Is the token's recorded last use older than ``LAST_USED_GRANULARITY``?"""
    last = credentials.last_used_at
    return last is None or last < utcnow() - LAST_USED_GRANULARITY


def touch_last_used(db: Session, credentials: ScimCredentials) -> None:
    """Record that a token authenticated, at most once a minute per token.

    The loaded value decides whether to write at all (``last_use_is_stale``), so most
    requests cost nothing; the conditional UPDATE decides among workers racing on the same
    token, so one of them writes and the others match no row. Either way the credentials
    learn the new time, so a copy a worker keeps for its reads (``scim_server/auth.py``)
    skips the statement for the next minute instead of repeating it.
    """
    if not last_use_is_stale(credentials):
        return
    now = utcnow()
    db.execute(
        update(ApiToken)
        .where(
            ApiToken.id == credentials.token_id,
            or_(
                ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_GRANULARITY
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    credentials.last_used_at = now


def revoke_token(db: Session, token_id: str, *, actor: Actor) -> ApiToken:
    """Revoke at once; the next request with it gets 401."""
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token {excerpt(token_id)}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(db, token.org_id, actor, EventType.TOKEN_REVOKED, token)
    return token


def find_token(
    db: Session, secret: str, kind: str, *, pepper: str, retired: Sequence[str] = ()
) -> ApiToken | None:
    """The live token of that kind whose digest under the current or a retired pepper
    matches, compared in constant time; one indexed lookup however many peppers."""
    wanted = secrets.digests(secret, pepper, retired)
    token = db.scalars(
        select(ApiToken).where(
            ApiToken.token_hash.in_(wanted), ApiToken.kind == kind, ApiToken.revoked_at.is_(None)
        )
    ).first()
    if token is None or not secrets.matches_any(token.token_hash, wanted):
        return None
    return token


# Built once, over table columns (Core rows, no ORM identity map): authentication runs on
# every SCIM request, so composing the statement or building entities per call would cost
# more Python than the indexed lookup itself.
_ORGS = Organization.__table__
_ORG_COLUMNS = tuple(column.name for column in _ORGS.c)
_SCIM_TOKENS = (
    select(
        ApiToken.__table__.c.id.label("token_id"),
        ApiToken.__table__.c.token_hash,
        ApiToken.__table__.c.last_used_at.label("token_last_used_at"),
        Directory.__table__.c.id.label("directory_id"),
        *_ORGS.c,
    )
    .select_from(
        ApiToken.__table__.join(_ORGS, _ORGS.c.id == ApiToken.__table__.c.org_id).outerjoin(
            Directory.__table__, Directory.__table__.c.org_id == ApiToken.__table__.c.org_id
        )
    )
    .where(ApiToken.__table__.c.kind == "scim", ApiToken.__table__.c.revoked_at.is_(None))
)
# One digest (no retired pepper, the usual case) is an equality: an expanding IN is
# rendered anew at every execution, and cannot go straight to the driver (``prepared``).
_SCIM_CREDENTIALS_ONE = _SCIM_TOKENS.where(ApiToken.__table__.c.token_hash == bindparam("digest"))
_SCIM_CREDENTIALS_ANY = _SCIM_TOKENS.where(
    ApiToken.__table__.c.token_hash.in_(bindparam("digests", expanding=True))
)


@dataclass
class ScimCredentials:
    """What a SCIM token opens: the token, its organisation's row and its directory.

    Plain values rather than entities, so that a worker may keep them for a moment
    (``scim_server/auth.py``) without sharing a mapped object between sessions. Only
    ``last_used_at`` changes after reading (``touch_last_used``).
    """

    token_id: str
    org_row: Mapping[str, Any]
    directory_id: str
    last_used_at: datetime | None = None
    _organization: Organization | None = field(default=None, repr=False, compare=False)

    def organization(self) -> Organization:
        """A transient ``Organization`` with every column of the row read: services read
        its attributes; nothing writes through it (``seats.flag_if_over`` updates by id),
        so the reads that share these credentials for a second share it too."""
        if self._organization is None:
            self._organization = row_writes.transient(Organization, **self.org_row)
        return self._organization


def find_scim_credentials(
    db: Session, secret: str, *, pepper: str, retired: Sequence[str] = ()
) -> ScimCredentials | None:
    """``find_token`` for a SCIM token, joined to its organisation and directory, in one
    statement: authentication runs on every SCIM request, so its round trips are the floor
    of every statement budget. ``retired`` peppers still open the tokens they hashed."""
    wanted = secrets.digests(secret, pepper, retired)
    # Straight to the driver on the session's connection (``prepared``): nothing is
    # pending this early in a request, so nothing to autoflush either.
    if len(wanted) == 1:
        row = prepared.first(db, _SCIM_CREDENTIALS_ONE, {"digest": wanted[0]})
    else:
        row = prepared.first(db, _SCIM_CREDENTIALS_ANY, {"digests": wanted})
    if row is None or not secrets.matches_any(row.token_hash, wanted):
        return None
    if row.directory_id is None:
        raise LookupError(f"organization {row.id} has no directory row")
    # The organisation's columns are the row's last, in table order: by position, so that
    # a column named like one of the labels before them could never be read in its place.
    org_row = dict(zip(_ORG_COLUMNS, row[-len(_ORG_COLUMNS) :], strict=True))
    return ScimCredentials(row.token_id, org_row, row.directory_id, row.token_last_used_at)


def _reconnect_directory(db: Session, org: Organization) -> None:
    """A new SCIM token reconnects a disconnected directory.

    Every live member gets a SCIM view again (docs/lifecycle.md §2.3: GET /Users lists live
    members of any source), so the IdP finds them by filter instead of meeting a 409.
    """
    directory = queries.directory_of(db, org.id)
    if directory is None or directory.disconnected_at is None:
        return
    directory.disconnected_at = None
    db.flush()
    unlisted = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.org_id == org.id,
            Membership.ended_at.is_(None),
            ~exists().where(ScimUser.membership_id == Membership.id, ScimUser.deleted_at.is_(None)),
        )
    )
    for m, person in db.execute(unlisted).all():
        scim_ids.mint(db, m, person)
