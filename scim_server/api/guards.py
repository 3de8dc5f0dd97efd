"""One early check of every request's text: control characters and management field sizes.

Runs before authentication and before any view, over the decoded path, every query
parameter (name and value) and every string (key and value) of a JSON body, so a NUL or
another control character is a 400 naming where it was on every route, old and new —
never a 500 from PostgreSQL, which refuses NUL. The management API's field sizes
(``services/inputs.MANAGEMENT_FIELD_LIMITS``) are checked in the same walk; SCIM bodies
get theirs from the schema (``maxLength`` in ``schemas/``, checked by ``scim/validation``).
Decoded values (cursors) are checked where they are decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask import request

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.errors import InvalidValueError
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.inputs import MULTILINE_FIELDS
from scim_server.services.inputs import control_character
from scim_server.services.inputs import field_limit

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_scim() -> bool:
    return request.path.startswith("/scim/")


def _refuse(message: str, field: str = "") -> Exception:
    if _is_scim():
        # RFC 7644 §3.12: a bad filter is invalidFilter, whichever character made it bad.
        return InvalidFilterError(message) if field == "filter" else InvalidValueError(message)
    return ProvisioningError(ErrorCode.VALIDATION_ERROR, message)


def _strings() -> Iterator[tuple[str, str, str]]:
    """(where, field path, text) for the path, the query and the JSON body."""
    yield "the URL path", "path", request.path
    for key, values in request.args.lists():
        yield "query parameter name", key, key
        for value in values:
            yield "query parameter", key, value
    if request.method in _BODY_METHODS:
        body = _json_body()
        if body is not None:
            yield from _body_strings(body, "")


def _json_body() -> Any:
    """The parsed body, or None when there is none or it is not JSON (the view says so)."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _body_strings(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, str):
        yield "body field", path, value
    elif isinstance(value, list):
        for item in value:
            yield from _body_strings(item, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield "body field name", path, key
            # A PATCH operation's value takes the name of the attribute its path names.
            name = _patch_target(value) if key == "value" and "path" in value else key
            yield from _body_strings(item, f"{path}.{name}" if path else name)


def _patch_target(operation: dict[str, Any]) -> str:
    """``addresses[type eq "work"].streetAddress`` -> ``streetAddress``."""
    target = operation.get("path")
    if not isinstance(target, str):
        return "value"
    return target.rpartition("]")[2].rpartition(".")[2].rpartition(":")[2] or "value"


def refuse_hostile_input() -> None:
    """The before-request hook; raises the API's 400 for the first bad string."""
    try:
        for where, field, text in _strings():
            _check(where, field, text)
    except RecursionError:
        raise _refuse("The body nests too deeply.") from None


def _check(where: str, field: str, text: str) -> None:
    last = field.rpartition(".")[2]
    multiline = where == "body field" and last.lower() in MULTILINE_FIELDS
    bad = control_character(text, multiline=multiline)
    if bad is not None:
        label = "URL path" if where == "the URL path" else f"{where} '{field}'"
        allowed = " (only TAB, LF and CR are allowed here)" if multiline else ""
        raise _refuse(f"The {label} contains the control character {bad}{allowed}.", field)
    if not _is_scim() and where != "the URL path":
        limit = field_limit(field)
        if len(text) > limit:
            raise _refuse(f"The {where} '{field}' is {len(text)} characters; the limit is {limit}.")


def init_app(app: Flask) -> None:
    app.before_request(refuse_hostile_input)
