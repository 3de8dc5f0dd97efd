"""API tokens: SCIM tokens for the IdP, management keys for the host product.

Only a keyed hash (HMAC-SHA256 with the server pepper) of each secret is stored. Issuing
a SCIM token is what (re)connects an organisation's directory; disconnecting it
(``orgs.disconnect_directory``) revokes them, so ``orgs`` depends on this module and
not the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.orm import Session

from scim_server import secrets
from scim_server.scim.errors import excerpt
from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import record
from scim_server.services.directory import scim_ids
from scim_server.services.errors import NotFound
from scim_server.storage import queries
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
        pepper_kid=secrets.pepper_id(pepper),
    )
    db.add(token)
    db.flush()
    after = {"kind": kind, "prefix": token.prefix}
    record(db, org.id, actor, EventType.TOKEN_CREATED, token, after=after)
    return IssuedToken(token.id, kind, secret)


def list_tokens(db: Session, org: Organization) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.org_id == org.id).order_by(ApiToken.created_at)
    return list(db.scalars(stmt))


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


# Built once: composing the expression costs more Python than running the indexed lookup.
_SCIM_CREDENTIALS = (
    select(ApiToken, Organization, Directory.id)
    .join(Organization, Organization.id == ApiToken.org_id)
    .outerjoin(Directory, Directory.org_id == ApiToken.org_id)
    .where(
        ApiToken.token_hash.in_(bindparam("token_hashes", expanding=True)),
        ApiToken.kind == "scim",
        ApiToken.revoked_at.is_(None),
    )
)


@dataclass(frozen=True)
class ScimCredentials:
    """What a SCIM token opens: the token, its organisation and that organisation's directory."""

    token: ApiToken
    org: Organization
    directory_id: str


def find_scim_credentials(
    db: Session, secret: str, *, pepper: str, retired: Sequence[str] = ()
) -> ScimCredentials | None:
    """``find_token`` for a SCIM token, joined to its organisation and directory.

    One statement instead of three: authentication runs on every SCIM request, so its
    round trips are the floor of every statement budget. Nothing is cached, so a
    revoked token, a deactivated organisation or a changed seat limit is seen by the very
    next request on every worker. ``retired`` peppers still open the tokens they hashed.
    """
    wanted = secrets.digests(secret, pepper, retired)
    row = db.execute(_SCIM_CREDENTIALS, {"token_hashes": wanted}).first()
    if row is None or not secrets.matches_any(row[0].token_hash, wanted):
        return None
    token, org, directory_id = row
    if directory_id is None:
        raise LookupError(f"organization {org.id} has no directory row")
    return ScimCredentials(token, org, directory_id)


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
