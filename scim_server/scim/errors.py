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
"""

from __future__ import annotations

from typing import Any
from typing import ClassVar

from scim_server.scim.schema import ERROR


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
