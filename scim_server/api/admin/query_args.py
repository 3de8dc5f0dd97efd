"""Query arguments of the management API's list endpoints: known names only, typed values.

A misspelt filter that is silently ignored returns the unfiltered list, which looks like
an answer; so every list endpoint that filters names its arguments and refuses others.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC
from datetime import datetime

from flask import request

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError


def refuse_unknown(allowed: Collection[str]) -> None:
    """400 naming the first argument that is not in ``allowed``, or a repeated one."""
    for name in request.args:
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR,
                f"Unknown query parameter {name[:40]!r}; this endpoint takes {known}.",
            )
        if len(request.args.getlist(name)) > 1:
            raise ProvisioningError(
                ErrorCode.VALIDATION_ERROR, f"Query parameter {name!r} is given more than once."
            )


def text_arg(name: str, *, max_length: int = 256) -> str | None:
    """A non-empty string argument, or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw or len(raw) > max_length:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, f"'{name}' must be 1 to {max_length} characters."
        )
    return raw


def choice_arg(name: str, choices: Collection[str]) -> str | None:
    """One of ``choices``, or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"'{name}' must be one of {', '.join(sorted(choices))}; got {raw[:60]!r}.",
        )
    return raw


def time_arg(name: str) -> datetime | None:
    """An RFC 3339 instant (``2026-12-02T10:00:00Z``) as naive UTC, or None when absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"'{name}' must be an RFC 3339 time such as 2026-12-02T10:00:00Z; got {raw[:40]!r}.",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
