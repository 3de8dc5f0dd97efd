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
from scim_server.services.errors import Conflict
from scim_server.services.errors import DomainError
from scim_server.services.errors import InvalidInput
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
}


# Management API: the HTTP status of each stable error code (docs/lifecycle.md §8).
API_STATUS: dict[str, int] = {
    **dict.fromkeys(
        (
            "invalid_json",
            "validation_error",
            "cursor_invalid",
            "state_invalid",
            "force_not_supported",
            "confirmation_required",
        ),
        400,
    ),
    "login_required": 401,
    "unauthorized": 401,
    "precondition_failed": 412,
    **dict.fromkeys(
        (
            "cannot_disable_self",
            "insufficient_role",
            "role_not_assignable",
            "platform_key_required",
            "membership_disabled",
            "invitation_email_mismatch",
            "email_verification_required",
        ),
        403,
    ),
    **dict.fromkeys(
        (
            "membership_not_found",
            "invitation_invalid",
            "not_found",
            "session_not_found",
            "sso_connection_not_found",
        ),
        404,
    ),
    **dict.fromkeys(
        (
            "last_owner",
            "membership_inactive",
            "membership_removed",
            "managed_by_directory",
            "seat_limit_reached",
            "already_member",
            "invitation_pending",
            "invitation_not_pending",
            "membership_conflict",
            "conflict",
            "domain_taken",
            "domain_not_verified",
        ),
        409,
    ),
    "invitation_expired": 410,
    **dict.fromkeys(
        (
            "role_invalid",
            "scope_invalid",
            "sites_invalid",
            "invitation_role_invalid",
            "ttl_invalid",
            "email_invalid",
            "domain_invalid",
            "jit_role_invalid",
        ),
        422,
    ),
    "rate_limited": 429,
}


# Codes for the domain errors that carry none, spelled like the routing errors' codes.
_DOMAIN_CODES: dict[type[DomainError], str] = {
    NotFound: "not_found",
    Conflict: "conflict",
    PreconditionFailed: "precondition_failed",
    InvalidReference: "invalid_reference",
    InvalidInput: "validation_error",
}


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
    return api_error_response(error.status, error.scim_type or "bad_request", error.detail)


def handle_domain_error(error: DomainError) -> Response:
    status, scim_type = _domain_status(error)
    if _is_scim_request():
        _log(status, scim_type, error.message)
        return scim_error_response(status, error.message, scim_type)
    code = getattr(error, "code", None) or _DOMAIN_CODES.get(type(error), "bad_request")
    status = getattr(error, "status", None) or API_STATUS.get(code, status)
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
