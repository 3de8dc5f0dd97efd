"""SCIM protocol errors, one class per RFC 7644 §3.12 ``scimType``.

Each error renders itself as an Error message body; the HTTP layer only converts.

    ScimError              400  (base)
      InvalidFilterError   400  invalidFilter
      TooManyError         400  tooMany
      InvalidSyntaxError   400  invalidSyntax
      InvalidPathError     400  invalidPath
      NoTargetError        400  noTarget
      InvalidValueError    400  invalidValue
      MutabilityError      400  mutability
      InvalidVersionError  400  invalidVers
      SensitiveError       403  sensitive
      UniquenessError      409  uniqueness
      InvalidCursorError   400  invalidCursor   (RFC 9865)
      ExpiredCursorError   400  expiredCursor   (RFC 9865)
      InvalidCountError    400  invalidCount    (RFC 9865)
      NotImplementedScimError 501                 (RFC 7644 §3.11: /Me)
      TooLargeError        413  tooLarge (Bulk maxPayloadSize, RFC 7644 §3.7.4)
"""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from scim_server.scim.schema import ERROR

# How much of a client's input an error detail may quote: enough to recognise it, never
# the whole of a 100 KB filter echoed back (or into a log).
EXCERPT_CHARS = 200
# The longest detail ever rendered (scim_server/errors.py cuts anything longer).
MAX_DETAIL_CHARS = 1000


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value`` for an error detail, cut to ``limit`` characters plus "…" and its length.

    Every detail that echoes input (a filter, a path, a value, an id) goes through here or
    through ``quoted``. A string is shown as is (an id reads ``No member abc``).
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def quoted(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value``'s repr (``'x y'``), cut like ``excerpt``: for filters, paths and values."""
    return excerpt(repr(value), limit)


def shorten(detail: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """A detail cut to ``limit`` characters: the renderer's last line of defence."""
    return detail if len(detail) <= limit else f"{detail[:limit]}…"


class ScimError(Exception):
    """A SCIM error with its HTTP status and optional ``scimType``."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body


class InvalidFilterError(ScimError):
    scim_type = "invalidFilter"


class TooManyError(ScimError):
    scim_type = "tooMany"


class InvalidSyntaxError(ScimError):
    scim_type = "invalidSyntax"


class InvalidPathError(ScimError):
    scim_type = "invalidPath"


class NoTargetError(ScimError):
    scim_type = "noTarget"


class InvalidValueError(ScimError):
    scim_type = "invalidValue"


class MutabilityError(ScimError):
    scim_type = "mutability"


class InvalidVersionError(ScimError):
    scim_type = "invalidVers"


class SensitiveError(ScimError):
    status = 403
    scim_type = "sensitive"


class UniquenessError(ScimError):
    status = 409
    scim_type = "uniqueness"


# Cursor pagination (RFC 9865) and explicit unsupported endpoints (part `search`).
class InvalidCursorError(ScimError):
    scim_type = "invalidCursor"


class ExpiredCursorError(ScimError):
    scim_type = "expiredCursor"


class InvalidCountError(ScimError):
    scim_type = "invalidCount"


class NotImplementedScimError(ScimError):
    """An endpoint the RFCs define that this server does not offer (501, no scimType)."""

    status = 501


# Bulk (RFC 7644 §3.7.4) --------------------------------------------------------------------


class TooLargeError(ScimError):
    """A request over an advertised size limit (RFC 7644 §3.7.4: "MUST return HTTP
    response code 413"); the scimType names the kind of limit, as ``tooMany`` does."""

    status = 413
    scim_type = "tooLarge"
