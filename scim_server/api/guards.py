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
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask import request

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.errors import InvalidSyntaxError
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
        _refuse_deep_nesting(request.get_data(cache=True))
        if _body_may_need_a_look():
            body = _json_body()
            if body is not None:
                yield from _body_strings(body, "")


# The deepest body a client sends is a Bulk PATCH of a complex multi-valued attribute
# (about 8 levels); a body nested a few hundred levels deep used to reach Python's
# recursion limit in whatever walked it next (a 500), so bodies stop at MAX_NESTING.
MAX_NESTING = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_INNERMOST_PAIR = re.compile(rb"\{[^][{}]*\}|\[[^][{}]*\]")


def _refuse_deep_nesting(raw: bytes) -> None:
    """400 for a body whose arrays and objects nest deeper than MAX_NESTING.

    Measured on the text, before anything parses it: strings are blanked, then each
    pass of a regular expression removes the innermost level; brackets left after
    MAX_NESTING passes are a deeper body. A body that is not JSON passes (the view says so).
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:  # too few brackets to nest deeper
        return
    structure = _JSON_STRING.sub(b"", raw)
    for _ in range(MAX_NESTING):
        structure, removed = _INNERMOST_PAIR.subn(b"", structure)
        if not removed:
            return
    if b"{" in structure or b"[" in structure:
        message = f"The body nests deeper than {MAX_NESTING} levels."
        if _is_scim():
            raise InvalidSyntaxError(message)
        raise ProvisioningError(ErrorCode.INVALID_JSON, message)


# What can put a refused character into a string of a JSON body: an escape (``\u0000``,
# ``\n``, a lone ``\ud800``), a raw control byte (JSON allows only TAB, LF and CR raw, and
# only between tokens) or UTF-8's encoding of U+0080 to U+009F.
_MAY_HIDE_A_CONTROL = re.compile(rb"[\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")


def _body_may_need_a_look() -> bool:
    """False for a SCIM body that cannot hold a refused character: the walk is skipped.

    Most IdP bodies have no escape at all, and walking every string of a user cost more
    than the rest of the check. Management bodies are walked anyway, for their field sizes.
    """
    return not _is_scim() or _MAY_HIDE_A_CONTROL.search(request.get_data(cache=True)) is not None


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
