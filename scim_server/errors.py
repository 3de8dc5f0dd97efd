"""Render every error in one place: SCIM errors on /scim, JSON errors elsewhere.

An unexpected exception becomes a 500 with a generic detail; the traceback goes to the
log, never to the body. The database being unreachable, or a lock wait timing out, is a
503 with ``Retry-After``: the client should retry, and monitoring can tell an outage from
a bug. Details are cut to ``MAX_DETAIL_CHARS``. Each request's one INFO line, with its
status, scimType and this (cut) detail, is written by ``scim_server/request_log.py``.
"""

from __future__ import annotations

import logging
import re
import traceback
from functools import lru_cache
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

from scim_server.db import is_unavailable
from scim_server.scim.errors import ScimError
from scim_server.scim.errors import UniquenessError
from scim_server.scim.errors import shorten
from scim_server.scim.schema import ERROR
from scim_server.services.errors import AccessRefused
from scim_server.services.errors import Conflict
from scim_server.services.errors import DomainError
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import InvalidInput
from scim_server.services.errors import InvalidPath
from scim_server.services.errors import InvalidReference
from scim_server.services.errors import NotFound
from scim_server.services.errors import PreconditionFailed
from scim_server.services.errors import ProvisioningError

log = logging.getLogger("scim_server")
SCIM_MEDIA_TYPE = "application/scim+json"

# Domain error -> (HTTP status, scimType) for SCIM responses.
_SCIM_TABLE: dict[type[DomainError], tuple[int, str | None]] = {
    NotFound: (404, None),
    Conflict: (409, UniquenessError.scim_type),
    PreconditionFailed: (412, None),
    ProvisioningError: (409, None),
    InvalidReference: (400, "invalidValue"),
    InvalidInput: (400, "invalidValue"),
    InvalidPath: (400, "invalidPath"),
}


# Management API: the HTTP status of every error code (docs/lifecycle.md §8), the
# one place a code meets a number. A test fails when ErrorCode and this table differ.
API_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys(
        (
            ErrorCode.BAD_REQUEST,
            ErrorCode.INVALID_JSON,
            ErrorCode.VALIDATION_ERROR,
            ErrorCode.INVALID_REFERENCE,
            ErrorCode.CURSOR_INVALID,
            ErrorCode.STATE_INVALID,
            ErrorCode.FORCE_NOT_SUPPORTED,
            ErrorCode.CONFIRMATION_REQUIRED,
            ErrorCode.ACTING_USER_REQUIRED,
        ),
        400,
    ),
    ErrorCode.LOGIN_REQUIRED: 401,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.PRECONDITION_FAILED: 412,
    **dict.fromkeys(
        (
            ErrorCode.CANNOT_DISABLE_SELF,
            ErrorCode.ACTING_USER_UNKNOWN,
            ErrorCode.INSUFFICIENT_ROLE,
            ErrorCode.ROLE_NOT_ASSIGNABLE,
            ErrorCode.PLATFORM_KEY_REQUIRED,
            ErrorCode.MEMBERSHIP_DISABLED,
            ErrorCode.INVITATION_EMAIL_MISMATCH,
            ErrorCode.EMAIL_VERIFICATION_REQUIRED,
            # Only ever a refused sign-in (AccessRefused), which is 403 anyway:
            ErrorCode.MEMBERSHIP_PENDING_CLAIM,
            ErrorCode.ORGANIZATION_INACTIVE,
            ErrorCode.USER_DISABLED,
            ErrorCode.SSO_CONNECTION_DISABLED,
            ErrorCode.SSO_IDENTITY_CONFLICT,
            ErrorCode.JIT_DISABLED,
            ErrorCode.NOT_PROVISIONED,
            ErrorCode.EMAIL_MISSING,
            ErrorCode.EMAIL_NOT_VERIFIED,
            ErrorCode.EMAIL_DOMAIN_NOT_VERIFIED,
            ErrorCode.ACCOUNT_LINK_REQUIRED,
        ),
        403,
    ),
    **dict.fromkeys(
        (
            ErrorCode.MEMBERSHIP_NOT_FOUND,
            ErrorCode.INVITATION_INVALID,
            ErrorCode.NOT_FOUND,
            ErrorCode.SSO_CONNECTION_NOT_FOUND,
        ),
        404,
    ),
    **dict.fromkeys(
        (
            ErrorCode.LAST_OWNER,
            ErrorCode.MEMBERSHIP_INACTIVE,
            ErrorCode.MEMBERSHIP_REMOVED,
            ErrorCode.MANAGED_BY_DIRECTORY,
            ErrorCode.SEAT_LIMIT_REACHED,
            ErrorCode.ALREADY_MEMBER,
            ErrorCode.INVITATION_PENDING,
            ErrorCode.INVITATION_NOT_PENDING,
            ErrorCode.MEMBERSHIP_CONFLICT,
            ErrorCode.CONFLICT,
            ErrorCode.DOMAIN_TAKEN,
            ErrorCode.DOMAIN_NOT_VERIFIED,
        ),
        409,
    ),
    ErrorCode.INVITATION_EXPIRED: 410,
    **dict.fromkeys(
        (
            ErrorCode.ROLE_INVALID,
            ErrorCode.SCOPE_INVALID,
            ErrorCode.SITES_INVALID,
            ErrorCode.INVITATION_ROLE_INVALID,
            ErrorCode.TTL_INVALID,
            ErrorCode.EMAIL_INVALID,
            ErrorCode.DOMAIN_INVALID,
            ErrorCode.JIT_ROLE_INVALID,
        ),
        422,
    ),
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUERY_TOO_LONG: 414,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    # Group mappings and site roles (issue 9 item 1, part `map`)
    ErrorCode.MAPPING_INVALID: 400,
    ErrorCode.MAPPING_DUPLICATE: 409,
    ErrorCode.GROUP_INVALID: 422,
    ErrorCode.SITE_ROLE_INVALID: 422,
    # tokens part (issue 9 items 4-6): a refused sign-in, 403 like every AccessRefused
    ErrorCode.SSO_REQUIRED: 403,
    # prof (issue 9 items 2-3)
    ErrorCode.SSO_LINK_EMAIL_MISMATCH: 403,
    # Console part
    ErrorCode.CONSOLE_LINK_INVALID: 404,
    # IdP migration (issue 15, part `migrate`)
    ErrorCode.MIGRATION_NOT_FOUND: 404,
    ErrorCode.MIGRATION_ALREADY_STAGED: 409,
    ErrorCode.MIGRATION_AMBIGUOUS: 409,
    ErrorCode.MIGRATION_STATE: 409,
    ErrorCode.MIGRATION_ROLLBACK_EXPIRED: 409,
    ErrorCode.MIGRATION_RULE_INVALID: 400,
    ErrorCode.OWNER_REQUIRED: 403,
}

# A refused sign-in (AccessRefused) answers 403 whatever its code: the code says why, and
# may be one that answers otherwise elsewhere (membership_not_found is 404 on admin routes).
SIGN_IN_REFUSED_STATUS = 403


# Codes for the domain errors that carry none, spelled like the routing errors' codes.
_DOMAIN_CODES: dict[type[DomainError], ErrorCode] = {
    NotFound: ErrorCode.NOT_FOUND,
    Conflict: ErrorCode.CONFLICT,
    PreconditionFailed: ErrorCode.PRECONDITION_FAILED,
    InvalidReference: ErrorCode.INVALID_REFERENCE,
    InvalidInput: ErrorCode.VALIDATION_ERROR,
    InvalidPath: ErrorCode.VALIDATION_ERROR,
}


def api_status(error: DomainError) -> tuple[int, ErrorCode]:
    """The management API's (status, code) for a domain error, from the tables above."""
    if isinstance(error, AccessRefused):
        return SIGN_IN_REFUSED_STATUS, error.code
    if isinstance(error, ProvisioningError):
        return API_STATUS[error.code], error.code
    code = _DOMAIN_CODES.get(type(error), ErrorCode.BAD_REQUEST)
    return API_STATUS[code], code


def scim_error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = shorten(detail)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = SCIM_MEDIA_TYPE
    return response


def api_error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": shorten(message), "details": {}}})
    response.status_code = status
    return response


def _is_scim_request() -> bool:
    return request.path.startswith("/scim/")


def _domain_status(error: DomainError) -> tuple[int, str | None]:
    for cls in type(error).__mro__:
        if cls in _SCIM_TABLE:
            return _SCIM_TABLE[cls]
    return 400, None


_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def route_template() -> str:
    """The matched route's pattern (``/scim/v2/Users/<scim_id>``, converters left out),
    never the ids in the URL: logs and metrics label requests by it."""
    rule = request.url_rule
    return _template_of(rule.rule) if rule is not None else "(no route)"


@lru_cache(maxsize=512)
def _template_of(rule: str) -> str:
    """Per rule, once: the request log and the metrics label every request with it."""
    return _CONVERTER.sub(r"<\1>", rule)


def _log(status: int, scim_type: str | None, detail: str) -> None:
    """At DEBUG: the request's own line (scim_server/request_log.py) already says this at
    INFO, with the detail, so a failure is one line, not two."""
    log.debug(
        "request failed status=%s scimType=%s route=%s %s org=%s",
        status,
        scim_type,
        request.method,
        route_template(),
        getattr(g, "org_id", None),
    )
    log.debug("request failed detail=%s", shorten(detail))


def scim_error_body(error: ScimError | DomainError) -> tuple[int, dict[str, Any]]:
    """(status, SCIM Error message) for an error that is not the whole response: one
    failed operation of a Bulk request (RFC 7644 §3.7.3 ``response``). Logged like a
    failed request, from the same table."""
    if isinstance(error, ScimError):
        status, scim_type, detail = error.status, error.scim_type, error.detail
    else:
        (status, scim_type), detail = _domain_status(error), error.message
    _log(status, scim_type, detail)
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = shorten(detail)
    return status, body


def handle_scim_error(error: ScimError) -> Response:
    _log(error.status, error.scim_type, error.detail)
    if _is_scim_request():
        return scim_error_response(error.status, error.detail, error.scim_type)
    code = error.scim_type or ErrorCode.BAD_REQUEST
    return api_error_response(error.status, code, error.detail)


def handle_domain_error(error: DomainError) -> Response:
    if _is_scim_request():
        status, scim_type = _domain_status(error)
        _log(status, scim_type, error.message)
        return scim_error_response(status, error.message, scim_type)
    status, code = api_status(error)
    _log(status, code, error.message)
    return api_error_response(status, code, error.message)


def handle_http_error(error: HTTPException) -> Response:
    original = getattr(error, "original_exception", None)
    if original is not None:  # raised after the view (the commit): Flask wraps it in a 500
        return handle_unexpected(original)
    status = error.code or 500
    detail = error.description or error.name
    if status == 405:
        allowed = sorted(set(getattr(error, "valid_methods", None) or ()) - {"HEAD", "OPTIONS"})
        detail = f"{request.method} is not supported on {request.path}; use {', '.join(allowed)}."
    if status == 404 and _is_scim_request():
        detail = f"No SCIM endpoint at {request.path}."
    if _is_scim_request():
        response = scim_error_response(status, detail)
    else:
        response = api_error_response(status, error.name.lower().replace(" ", "_"), detail)
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected(error: BaseException) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    if is_unavailable(error):
        return _unavailable(error)
    _log_unexpected(error)
    detail = "The server failed to process the request; nothing was changed."
    if _is_scim_request():
        return scim_error_response(500, detail)
    return api_error_response(500, "internal_error", detail)


def _unavailable(error: BaseException) -> Response:
    """503 + Retry-After: the database is unreachable or a lock wait timed out."""
    log.warning(
        "database unavailable (%s) on %s %s", type(error).__name__, request.method, route_template()
    )
    detail = "The database is unavailable or busy; nothing was changed. Retry later."
    if _is_scim_request():
        response = scim_error_response(503, detail)
    else:
        response = api_error_response(503, ErrorCode.SERVICE_UNAVAILABLE, detail)
    response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response


def _log_unexpected(error: BaseException) -> None:
    """The traceback's frames and the exception's type at ERROR; its message (which may
    quote SQL parameters or input) only at DEBUG."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    log.error(
        "unexpected error on %s %s: %s\nTraceback (most recent call last):\n%s%s",
        request.method,
        route_template(),
        type(error).__name__,
        frames,
        type(error).__qualname__,
    )
    log.debug("unexpected error message: %s", shorten(str(error)))


def check_query_length() -> Response | None:
    """``before_request``: a query string over SCIM_MAX_QUERY_BYTES is 414, pointing at
    ``POST …/.search`` (RFC 7644 §3.4.3), which takes the same query in a body."""
    limit: int = current_app.config["MAX_QUERY_BYTES"]
    size = len(request.query_string)
    if size <= limit:
        return None
    log.debug(
        "request failed status=414 route=%s %s bytes=%s", request.method, route_template(), size
    )
    if _is_scim_request():
        detail = (
            f"The query string is {size:,} bytes; the limit is {limit:,}. Send the query "
            "as POST /Users/.search or /Groups/.search with a JSON body (RFC 7644 §3.4.3)."
        )
        return scim_error_response(414, detail)
    detail = f"The query string is {size:,} bytes; the limit is {limit:,}."
    return api_error_response(414, ErrorCode.QUERY_TOO_LONG, detail)


def register_error_handlers(app: Flask) -> None:
    app.before_request(check_query_length)
    app.register_error_handler(ScimError, handle_scim_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
