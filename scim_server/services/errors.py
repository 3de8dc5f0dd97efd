"""Domain errors: what went wrong in our rules, with no HTTP numbers.

``scim_server/errors.py`` maps them to SCIM and management-API responses: each
``ErrorCode`` has its HTTP status in one table there, and nowhere else.

    DomainError
      NotFound             the resource does not exist for this organisation
      Conflict             a uniqueness rule holds (names the attribute and the holder)
      PreconditionFailed   If-Match named another version
      ProvisioningError    a docs/lifecycle.md rule refused the change (stable ``code``)
        AccessRefused      a sign-in refused: the person gets no access here
      InvalidReference     the request names resources that do not exist here
      InvalidInput         a value our rules cannot accept
      InvalidPath          a PATCH path our rules cannot apply
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """Every stable error code the management API answers with (``error.code``).

    A code is a member here, never a bare string, so a typo fails at import or in mypy
    rather than answering with a default status; ``scim_server/errors.API_STATUS`` gives
    each its HTTP status, and a test keeps the two in step.
    """

    # The request itself
    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    VALIDATION_ERROR = "validation_error"
    INVALID_REFERENCE = "invalid_reference"
    CURSOR_INVALID = "cursor_invalid"
    STATE_INVALID = "state_invalid"
    FORCE_NOT_SUPPORTED = "force_not_supported"
    CONFIRMATION_REQUIRED = "confirmation_required"
    RATE_LIMITED = "rate_limited"
    QUERY_TOO_LONG = "query_too_long"
    ACTING_USER_REQUIRED = "acting_user_required"
    # The server itself: the database is unreachable or a lock wait timed out
    SERVICE_UNAVAILABLE = "service_unavailable"
    # Who is asking
    ACTING_USER_UNKNOWN = "acting_user_unknown"
    UNAUTHORIZED = "unauthorized"
    LOGIN_REQUIRED = "login_required"
    PLATFORM_KEY_REQUIRED = "platform_key_required"
    INSUFFICIENT_ROLE = "insufficient_role"
    CANNOT_DISABLE_SELF = "cannot_disable_self"
    # Resources in general
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    PRECONDITION_FAILED = "precondition_failed"
    # Memberships: the lifecycle's refusals and its denial reasons
    ALREADY_MEMBER = "already_member"
    MEMBERSHIP_NOT_FOUND = "membership_not_found"
    MEMBERSHIP_CONFLICT = "membership_conflict"
    MEMBERSHIP_REMOVED = "membership_removed"
    MEMBERSHIP_INACTIVE = "membership_inactive"
    MEMBERSHIP_DISABLED = "membership_disabled"
    MEMBERSHIP_PENDING_CLAIM = "membership_pending_claim"
    MANAGED_BY_DIRECTORY = "managed_by_directory"
    LAST_OWNER = "last_owner"
    SEAT_LIMIT_REACHED = "seat_limit_reached"
    ORGANIZATION_INACTIVE = "organization_inactive"
    USER_DISABLED = "user_disabled"
    # Grants
    ROLE_INVALID = "role_invalid"
    ROLE_NOT_ASSIGNABLE = "role_not_assignable"
    SCOPE_INVALID = "scope_invalid"
    SITES_INVALID = "sites_invalid"
    # Invitations
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_EXPIRED = "invitation_expired"
    INVITATION_PENDING = "invitation_pending"
    INVITATION_NOT_PENDING = "invitation_not_pending"
    INVITATION_ROLE_INVALID = "invitation_role_invalid"
    INVITATION_EMAIL_MISMATCH = "invitation_email_mismatch"
    EMAIL_VERIFICATION_REQUIRED = "email_verification_required"
    TTL_INVALID = "ttl_invalid"
    # Emails and domains
    EMAIL_INVALID = "email_invalid"
    DOMAIN_INVALID = "domain_invalid"
    DOMAIN_TAKEN = "domain_taken"
    DOMAIN_NOT_VERIFIED = "domain_not_verified"
    # SSO connections and JIT sign-in
    SSO_CONNECTION_NOT_FOUND = "sso_connection_not_found"
    SSO_CONNECTION_DISABLED = "sso_connection_disabled"
    SSO_IDENTITY_CONFLICT = "sso_identity_conflict"
    JIT_DISABLED = "jit_disabled"
    JIT_ROLE_INVALID = "jit_role_invalid"
    NOT_PROVISIONED = "not_provisioned"
    EMAIL_MISSING = "email_missing"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    EMAIL_DOMAIN_NOT_VERIFIED = "email_domain_not_verified"
    ACCOUNT_LINK_REQUIRED = "account_link_required"
    # Group mappings and site roles (issue 9 item 1, part `map`)
    MAPPING_INVALID = "mapping_invalid"
    MAPPING_DUPLICATE = "mapping_duplicate"
    GROUP_INVALID = "group_invalid"
    SITE_ROLE_INVALID = "site_role_invalid"
    # tokens part (issue 9 items 4-6): sign-in policy
    SSO_REQUIRED = "sso_required"
    # prof (issue 9 items 2-3): completing an SSO link for the wrong account
    SSO_LINK_EMAIL_MISMATCH = "sso_link_email_mismatch"
    # Console part: a console or portal link that is unknown, expired or already used
    CONSOLE_LINK_INVALID = "console_link_invalid"
    # IdP migration (issue 15, part `migrate`)
    MIGRATION_NOT_FOUND = "migration_not_found"
    MIGRATION_ALREADY_STAGED = "migration_already_staged"
    MIGRATION_AMBIGUOUS = "migration_ambiguous"
    MIGRATION_STATE = "migration_state"
    MIGRATION_ROLLBACK_EXPIRED = "migration_rollback_expired"
    MIGRATION_RULE_INVALID = "migration_rule_invalid"
    OWNER_REQUIRED = "owner_required"


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
    """A refusal with a stable code from docs/lifecycle.md (e.g. ``ErrorCode.LAST_OWNER``)."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class AccessRefused(ProvisioningError):
    """A sign-in (JIT login, a new session) refused because the person may not get in.

    The code says why, and may be one that means something else elsewhere
    (``membership_not_found``, ``seat_limit_reached``…): the contract answers every
    refused sign-in alike, so the HTTP layer gives the class, not the code, its status.
    """


class InvalidReference(DomainError):
    """A request names resources that do not exist here (e.g. unknown group members)."""


class InvalidInput(DomainError):
    """A value our rules cannot accept, e.g. clearing ``active`` (docs/lifecycle.md row U7)."""


class InvalidPath(DomainError):
    """A PATCH path our rules cannot apply, e.g. a member filter on an unknown attribute."""
