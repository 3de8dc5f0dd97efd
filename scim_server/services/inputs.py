"""Checks on JSON-shaped input that the HTTP edge and the services share.

A service that accepts a value straight from a request body (the claims an SSO layer
forwards, a field of a management call) names the bad field the same way wherever the
check runs, so the error a client sees does not depend on which layer caught it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError


def string_field(payload: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    """``payload[key]`` as a non-empty string; ``None`` when optional and absent."""
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, f"'{key}' must be a non-empty string.")
    return value


def required_string(payload: Mapping[str, Any], key: str) -> str:
    """``payload[key]`` as a non-empty string, or ``validation_error`` naming the key."""
    return str(string_field(payload, key))
