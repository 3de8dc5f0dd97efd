"""Render every error in one place: SCIM errors on /scim, JSON errors elsewhere.

An unexpected exception becomes a 500 with a generic detail; the traceback goes to the
log, never to the body.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import HTTPException

from scim_server.scim.errors import ScimError
from scim_server.scim.errors import UniquenessError
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
        ),
        400,
    ),
    ErrorCode.LOGIN_REQUIRED: 401,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.PRECONDITION_FAILED: 412,
    **dict.fromkeys(
        (
            ErrorCode.CANNOT_DISABLE_SELF,
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
    body["detail"] = detail
    response = jsonify(body)
    response.status_code = status
    response.mimetype = SCIM_MEDIA_TYPE
    return response


def api_error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": {}}})
    response.status_code = status
    return response


def _is_scim_request() -> bool:
    return request.path.startswith("/scim/")


def _domain_status(error: DomainError) -> tuple[int, str | None]:
    for cls in type(error).__mro__:
        if cls in _SCIM_TABLE:
            return _SCIM_TABLE[cls]
    return 400, None


def _log(status: int, scim_type: str | None, detail: str) -> None:
    log.info(
        "request failed status=%s scimType=%s route=%s org=%s detail=%s",
        status,
        scim_type,
        request.path,
        getattr(g, "org_id", None),
        detail,
    )


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
    status = error.code or 500
    detail = error.description or error.name
    if status == 405:
        detail = f"{request.method} is not supported on {request.path}."
    if status == 404 and _is_scim_request():
        detail = f"No SCIM endpoint at {request.path}."
    if _is_scim_request():
        response = scim_error_response(status, detail)
    else:
        response = api_error_response(status, error.name.lower().replace(" ", "_"), detail)
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    return response


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    detail = "The server failed to process the request; nothing was changed."
    if _is_scim_request():
        return scim_error_response(500, detail)
    return api_error_response(500, "internal_error", detail)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ScimError, handle_scim_error)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
