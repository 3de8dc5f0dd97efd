"""Bearer secrets: generated with ``secrets``, stored only as an HMAC-SHA256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    """A 256-bit random secret with a readable prefix (``scim_…``, ``mgmt_…``)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str, pepper: str) -> str:
    """The keyed hash we store and look up; the secret itself is never stored."""
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Compare digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
