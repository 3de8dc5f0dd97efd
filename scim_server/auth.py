"""Bearer-token authentication: a SCIM token identifies its organisation and directory.

One indexed statement per request (``tokens.find_scim_credentials``: the token joined to
its organisation and directory), with one exception chosen for throughput: a **read**
(GET or HEAD) may reuse what this worker read for the same token at most
``READ_CREDENTIALS_SECONDS`` (one second) ago. So a revoked token, a deactivated
organisation or a changed policy is refused by every write at once and by every read
within one second, on every worker (docs/architecture.md, "Authentication"). Writes never
use the cache: what they decide (seats, the one-organisation policy) reads the row fresh.
The cache holds plain values, keyed by the token's keyed hash (never the secret); it is
bounded and one per app (so per worker); each request builds its own transient
``Organization`` from them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_httpauth import HTTPTokenAuth
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError

from scim_server import secrets
from scim_server.config import retired_peppers
from scim_server.db import READ_METHODS
from scim_server.db import get_session
from scim_server.db import is_snapshot_request
from scim_server.db import is_unavailable
from scim_server.db import write_apart
from scim_server.errors import scim_error_response
from scim_server.request_ids import current_request_id
from scim_server.services.audit import Actor
from scim_server.services.organizations.tokens import ScimCredentials
from scim_server.services.organizations.tokens import find_scim_credentials
from scim_server.services.organizations.tokens import last_use_is_stale
from scim_server.services.organizations.tokens import touch_last_used
from scim_server.storage.models import Organization

READ_CREDENTIALS_SECONDS = 1.0
_CACHE_LIMIT = 10_000
_CACHE_KEY = "scim_read_credentials"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the organisation, its directory and the actor for the audit trail."""

    org: Organization
    directory_id: str
    actor: Actor


log = logging.getLogger(__name__)
scim_auth = HTTPTokenAuth(scheme="Bearer")


@scim_auth.verify_token
def _verify_scim_token(secret: str) -> Principal | None:
    if not secret:
        return None
    config = current_app.config
    found = _credentials(secret, config["TOKEN_PEPPER"], retired_peppers(config))
    if found is None:
        return None
    org = found.organization()
    g.org_id = org.id
    _record_use(found)
    request_id = current_request_id()
    return Principal(org, found.directory_id, Actor("scim", found.token_id, request_id))


def _record_use(found: ScimCredentials) -> None:
    """``last_used_at``, at most once a minute. A snapshot read writes it in a transaction
    of its own (db.py, ``write_apart``); should that wait out the lock timeout behind a long
    write, or find no free pool connection, the read is still answered and a later request
    records the use."""
    if not last_use_is_stale(found):
        return
    try:
        with write_apart() as db:
            touch_last_used(db, found)
    except (DBAPIError, sa_exc.TimeoutError) as error:
        if not (is_snapshot_request() and is_unavailable(error)):
            raise
        log.info("token last use not recorded: the database is busy")


def _credentials(secret: str, pepper: str, retired: Sequence[str]) -> ScimCredentials | None:
    """The token's credentials: fresh for writes, at most a second old for reads."""
    if request.method not in READ_METHODS:
        return find_scim_credentials(get_session(), secret, pepper=pepper, retired=retired)
    cache: dict[str, tuple[float, ScimCredentials]] = current_app.extensions.setdefault(
        _CACHE_KEY, {}
    )
    key = secrets.digest(secret, pepper)
    now = time.monotonic()
    cached = cache.get(key)
    if cached is not None and now - cached[0] < READ_CREDENTIALS_SECONDS:
        return cached[1]
    found = find_scim_credentials(get_session(), secret, pepper=pepper, retired=retired)
    if found is None:
        cache.pop(key, None)
        return None
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()  # a flood of distinct tokens costs a re-read, never memory
    cache[key] = (now, found)
    return found


@scim_auth.error_handler
def _scim_auth_error(status: int) -> Response:
    response = scim_error_response(
        status, "A valid bearer token is required: Authorization: Bearer <SCIM token>."
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def current_principal() -> Principal:
    principal: Principal = scim_auth.current_user()
    return principal


@scim_auth.login_required
def require_scim_token() -> None:
    """A blueprint's ``before_request``: answers 401 unless a SCIM token authenticates."""
