"""Domain errors: what went wrong in our rules, with no HTTP numbers.

``scim_server/errors.py`` maps them to SCIM and management-API responses in one table.

    DomainError
      NotFound             the resource does not exist for this organisation
      Conflict             a uniqueness rule holds (names the attribute and the holder)
      PreconditionFailed   If-Match named another version
      ProvisioningError    a docs/lifecycle.md rule refused the change (stable ``code``)
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors services raise."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    def __init__(self, message: str, *, attribute: str) -> None:
        super().__init__(message)
        self.attribute = attribute


class PreconditionFailed(DomainError):
    pass


class ProvisioningError(DomainError):
    """A refusal with a stable snake_case code from docs/lifecycle.md §8 (e.g. ``last_owner``).

    ``status`` overrides the code's usual HTTP status where a contract fixes it (a sign-in
    refused for lack of access is 403 whatever the reason).
    """

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidReference(DomainError):
    """A request names resources that do not exist here (e.g. unknown group members)."""


class InvalidInput(DomainError):
    """A value our rules cannot accept, e.g. clearing ``active`` (docs/lifecycle.md row U7)."""
