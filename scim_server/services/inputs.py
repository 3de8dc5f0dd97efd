"""Checks on JSON-shaped input that the HTTP edge and the services share.

A service that accepts a value straight from a request body (the claims an SSO layer
forwards, a field of a management call) names the bad field the same way wherever the
check runs, so the error a client sees does not depend on which layer caught it.
"""

from __future__ import annotations

import re
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


# C0 controls, DEL and C1 controls: no identifier, name or parameter of ours contains one,
# and PostgreSQL refuses NUL outright (a 500 before this check). TAB, LF and CR are allowed
# only in the multi-line texts of MULTILINE_FIELDS.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Fields whose value is prose that may span lines: SCIM addresses.formatted and
# addresses.streetAddress (RFC 7643 §4.1.2 says they may hold newlines; name.formatted
# shares the key and is allowed too) and the management API's free-text reasons.
MULTILINE_FIELDS = frozenset({"formatted", "streetaddress", "reason"})


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first refused character of ``text`` as ``U+0000``, or None when it is clean.

    Lone surrogates count too: no database stores them.
    """
    found = (_CONTROL_EXCEPT_LINES if multiline else _CONTROL).search(text)
    if found:
        return f"U+{ord(found.group()):04X}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"U+{ord(text[error.start]):04X}"
    return None


# The management API's field sizes (README "Limits"), by the field's dotted path in the
# body (``claims.name``) or its last key (``name``); any other string field, query
# parameter or path segment may hold DEFAULT_FIELD_LIMIT characters. Every limit fits the
# column the value is stored in (tests/drift/test_limits_fit_columns.py).
MANAGEMENT_FIELD_LIMITS: dict[str, int] = {
    "name": 100,  # organisation, role, site and SSO connection names (roles.name is 100)
    "claims.name": 300,  # a person's name from an IdP: users.name
    "user.name": 300,
    "email": 320,
    "claims.email": 320,
    "user.email": 320,
    "reason": 2000,
    "domain": 253,
    "emailDomain": 253,
    "emailDomains": 253,
    "claims.iss": 500,
    "claims.sub": 500,
}
DEFAULT_FIELD_LIMIT = 1000


def field_limit(path: str) -> int:
    """The most characters the management API accepts in the field at ``path``."""
    last = path.rpartition(".")[2]
    return MANAGEMENT_FIELD_LIMITS.get(path, MANAGEMENT_FIELD_LIMITS.get(last, DEFAULT_FIELD_LIMIT))


def writable_fields(
    payload: Mapping[str, Any], writable: frozenset[str], shown: Mapping[str, Any]
) -> dict[str, Any]:
    """The fields of a management write that change something, after the round-trip rule.

    What a client reads it may send back unchanged (docs/api.md §1, "Round trips"): a
    field of the representation ``shown`` that is not ``writable`` is accepted when equal
    to what is shown and refused when it differs; a field the resource does not have is
    refused, so a typo or an unsupported setting is a 400, never silently dropped.
    """
    unknown = sorted(k for k in payload if k not in writable and k not in shown)
    if unknown:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown fields: {', '.join(unknown)[:200]}; this resource accepts "
            f"{', '.join(sorted(writable))}.",
        )
    changed = sorted(k for k in payload if k not in writable and payload[k] != shown[k])
    if changed:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"Read-only fields cannot change: {', '.join(changed)}; send them unchanged or "
            "leave them out.",
        )
    return {k: v for k, v in payload.items() if k in writable}


def boolean_fields(payload: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, bool]:
    """The ``keys`` present in ``payload``, each checked to be true or false (not "true", 1)."""
    found: dict[str, bool] = {}
    for key in keys:
        if key in payload:
            if not isinstance(payload[key], bool):
                raise ProvisioningError(
                    ErrorCode.VALIDATION_ERROR, f"'{key}' must be true or false."
                )
            found[key] = payload[key]
    return found
