"""Bearer secrets: generated with ``secrets``, stored only as an HMAC-SHA256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence


def new_secret(prefix: str) -> str:
    """A 256-bit random secret with a readable prefix (``scim_…``, ``mgmt_…``)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str, pepper: str) -> str:
    """The keyed hash we store and look up; the secret itself is never stored."""
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Compare digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def pepper_id(pepper: str) -> str:
    """The key id of a pepper: a short fingerprint, stored beside each token it hashes.

    Derived, not configured, so a token can never be labelled with the wrong key; 12 hex
    digits say which pepper without helping anyone guess it.
    """
    return hashlib.sha256(b"scim-server pepper id:" + pepper.encode()).hexdigest()[:12]


def digests(secret: str, pepper: str, retired: Sequence[str] = ()) -> list[str]:
    """The secret's digest under the current pepper, then under each retired one: a token
    issued before a pepper change still matches until it is revoked (README "Configuration")."""
    return [digest(secret, p) for p in (pepper, *retired)]


def matches_any(stored: str, wanted: Sequence[str]) -> bool:
    """Is ``stored`` one of ``wanted``? Every candidate is compared, in constant time each."""
    return sum(same_digest(stored, w) for w in wanted) > 0
