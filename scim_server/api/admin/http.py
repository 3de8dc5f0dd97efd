"""JSON in and out for the management API: the request body, replies, query arguments.

Field checks shared with the services (``string_field``, ``required_string``) live in
``services/inputs.py`` and are re-exported here so a view imports its parsing from one place.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import required_string
from scim_server.services.inputs import string_field
from scim_server.services.inputs import writable_fields

__all__ = [
    "body",
    "config",
    "fields",
    "limit_arg",
    "pepper",
    "reply",
    "required_string",
    "string_field",
]


def body() -> dict[str, Any]:
    """The request body as an object; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ProvisioningError(
            ErrorCode.INVALID_JSON, f"The body is not valid JSON: {error}."
        ) from None
    if not isinstance(parsed, dict):
        raise ProvisioningError(ErrorCode.INVALID_JSON, "The body must be a JSON object.")
    return parsed


def fields(*allowed: str) -> dict[str, Any]:
    """The request body, refusing any field outside ``allowed`` with 400: a misspelt or
    unsupported setting is never silently dropped (docs/api.md §1, "Round trips").

    Views call it after resolving the acting user, so a missing ``X-Acting-User`` is
    reported first whatever the body holds (a body that is not JSON at all is refused
    before either, by the blueprint's ``before_request``).
    """
    return writable_fields(body(), frozenset(allowed), {})


def reply(payload: Any, status: int = 200) -> Response:
    """JSON, or an empty body when there is nothing to say (204, Logto's bodiless 201)."""
    if payload is None:
        return Response(status=status)
    response = jsonify(payload)
    response.status_code = status
    return response


def limit_arg(default: int = 100, maximum: int = 1000) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "'limit' must be a positive integer.")
    return min(int(raw), maximum)


def config(key: str) -> Any:
    """A setting of the running app (the token pepper, the invitation page's URL…)."""
    return current_app.config[key]


def pepper() -> str:
    """The key of every stored hash (tokens, invitation secrets), from the app's configuration."""
    value: str = current_app.config["TOKEN_PEPPER"]
    return value
