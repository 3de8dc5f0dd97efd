"""What every request leaves behind: the ``X-Request-Id`` header, one structured log line,
and, for an organisation's SCIM request, a provisioning log entry (README "Provisioning
log", "Logs and request ids").

Hooks, in the order Flask runs them:

- ``before_request``: the start time and the request id.
- ``after_request`` (registered after ``db.py``'s, so it runs *before* the commit): echo
  the id; summarise the request; a successful write's log entry joins the request's own
  transaction (one INSERT, no extra round trip to open or commit anything); a failure's
  entry waits, because its transaction is about to roll back.
- ``teardown_request`` (after ``db.py`` rolled back and closed the request's session):
  write a failure's entry in a short transaction of its own; emit the log line.

Successful reads are not recorded unless ``SCIM_PROVISIONING_LOG_READS`` is true: they
change nothing, an IdP's reconciliation GETs would outnumber everything else, and
recording one would turn a read-only transaction into a write (on SQLite the write lock,
on PostgreSQL a WAL flush at commit). Failed reads (a 400 ``invalidFilter``) are recorded.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request

from scim_server.auth import scim_auth
from scim_server.config import ConfigError
from scim_server.db import READ_METHODS
from scim_server.db import get_session
from scim_server.db import is_snapshot_request
from scim_server.db import separate_transaction
from scim_server.errors import route_template
from scim_server.log_format import configure_logging
from scim_server.request_ids import HEADER
from scim_server.request_ids import current_request_id
from scim_server.scim import idp
from scim_server.services.organizations import provisioning_log
from scim_server.storage.models import utcnow

log = logging.getLogger("scim_server.request")
_RESOURCE_TYPES = {"Users": "User", "Groups": "Group"}
_MAX_PATH = 500


def init_app(app: Flask) -> None:
    """Validate the settings, set up the log handler and register the three hooks."""
    _validate(app.config)
    configure_logging(app.config["LOG_FORMAT"])
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_teardown)


def _validate(config: Any) -> None:
    for key in ("PROVISIONING_LOG", "PROVISIONING_LOG_READS"):
        if not isinstance(config[key], bool):
            raise ConfigError(f"SCIM_{key} must be true or false, got {config[key]!r}")
    for key in ("PROVISIONING_LOG_RETENTION_DAYS", "PROVISIONING_LOG_BODY_BYTES"):
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"SCIM_{key} must be a positive integer, got {value!r}")
    if config["LOG_FORMAT"] not in ("auto", "json", "text"):
        raise ConfigError(
            f"SCIM_LOG_FORMAT must be auto, json or text, got {config['LOG_FORMAT']!r}"
        )


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_started_at = utcnow()
    current_request_id()


def _finish(response: Response) -> Response:
    request_id = current_request_id()
    response.headers[HEADER] = request_id
    started = g.get("request_started", time.perf_counter())
    duration_ms = int((time.perf_counter() - started) * 1000)
    scim_type, detail = _error_of(response)
    principal = scim_auth.current_user() if request.path.startswith("/scim/") else None
    g.request_summary = {
        "request_id": request_id,
        "org_id": g.get("org_id"),
        "token_id": principal.actor.id if principal is not None else None,
        "method": request.method,
        "path": route_template(),  # ids and userNames stay in the provisioning log
        "status": response.status_code,
        "scim_type": scim_type,
        "duration_ms": duration_ms,
        "detail": detail,
    }
    if principal is not None and current_app.config["PROVISIONING_LOG"]:
        _log_scim_request(response, principal.org.id, g.request_summary)
    return response


def _log_scim_request(response: Response, org_id: str, summary: dict[str, Any]) -> None:
    """Record the entry now (a success, in the request's transaction) or at teardown."""
    status = response.status_code
    is_read = request.method in READ_METHODS or request.path.endswith("/.search")
    if status < 400 and is_read and not current_app.config["PROVISIONING_LOG_READS"]:
        return
    entry = _entry(response, org_id, summary)
    # A snapshot must not write (db.py, ``snapshot_read``): its entry is written apart.
    if status < 400 and "db_session" in g and not is_snapshot_request():
        provisioning_log.record(get_session(), entry)
    else:
        g.pending_log_entry = entry


def _entry(response: Response, org_id: str, summary: dict[str, Any]) -> dict[str, Any]:
    """The entry's column values (``provisioning_log`` in scim_server/storage/models.py)."""
    raw = request.get_data(cache=True)
    body = _json(raw) if len(raw) <= provisioning_log.PARSE_LIMIT else None
    parts = request.path.split("/")  # "", "scim", "v2", "Users", "<id>"
    resource_type = _RESOURCE_TYPES.get(parts[3]) if len(parts) > 3 else None
    resource_id = parts[4] if len(parts) > 4 and parts[4] != ".search" else None
    if resource_id is None and request.method == "POST" and response.status_code == 201:
        resource_id = _created_id(response)
        if body is None and resource_type == "User":  # too large to parse: ask the answer
            body = _response_json(response)
    return {
        "org_id": org_id,
        "at": g.get("request_started_at") or utcnow(),
        "request_id": summary["request_id"],
        "token_id": summary["token_id"],
        "idp": idp.recognise(request.user_agent.string, request.query_string.decode("latin-1")),
        "method": request.method,
        "path": request.full_path.rstrip("?")[:_MAX_PATH],
        "resource_type": resource_type,
        "resource_id": resource_id or _text(body, "id", 64),
        "user_name": _text(body, "userName", 256),
        "external_id": _text(body, "externalId", 256),
        "status": response.status_code,
        "scim_type": summary["scim_type"],
        "detail": summary["detail"],
        "duration_ms": summary["duration_ms"],
        "request_body": provisioning_log.redact_body(
            raw, current_app.config["PROVISIONING_LOG_BODY_BYTES"]
        ),
    }


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _created_id(response: Response) -> str | None:
    """A created resource's id, from the ``Location`` its 201 carries (RFC 7644 §3.3): the
    entry of a POST finds its resource without parsing the response body."""
    location = response.headers.get("Location")
    return location.rsplit("/", 1)[-1] or None if location else None


def _response_json(response: Response) -> dict[str, Any]:
    """The created User (a few KB), for its userName when the request was too large to
    parse."""
    if response.direct_passthrough or not response.is_json:
        return {}
    parsed = _json(response.get_data())
    return parsed if isinstance(parsed, dict) else {}


def _text(body: Any, key: str, limit: int) -> str | None:
    value = body.get(key) if isinstance(body, dict) else None
    return value[:limit] if isinstance(value, str) and value else None


def _error_of(response: Response) -> tuple[str | None, str | None]:
    """(scimType or error code, detail) from an error body, as the client saw them."""
    if response.status_code < 400 or response.direct_passthrough:
        return None, None
    parsed = _json(response.get_data())
    if not isinstance(parsed, dict):
        return None, None
    error = parsed.get("error")
    if isinstance(error, dict):  # the management API's {"error": {"code", "message"}}
        return _str(error.get("code")), _str(error.get("message"))
    return _str(parsed.get("scimType")), _str(parsed.get("detail"))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _teardown(_error: BaseException | None) -> None:
    entry: dict[str, Any] | None = g.pop("pending_log_entry", None)
    if entry is not None:
        _write_apart(entry)
    summary = g.pop("request_summary", None)
    if summary is not None:
        level = logging.WARNING if summary["status"] >= 500 else logging.INFO
        log.log(level, _message(summary), extra=summary)


def _write_apart(entry: dict[str, Any]) -> None:
    """A failure's entry, in its own short transaction after the request's rolled back."""
    if "db_session" in g:  # db.py has not closed the request's session: never wait on it
        log.warning("provisioning log entry not written: request session still open")
        return
    try:
        with separate_transaction() as db:
            provisioning_log.record(db, entry)
    except Exception:  # the response is already made; the log line still says what failed
        log.exception("provisioning log entry not written")


def _message(summary: dict[str, Any]) -> str:
    """The human-readable half: ``POST /scim/v2/Users 409 uniqueness 12ms``."""
    parts = [summary["method"], summary["path"], str(summary["status"])]
    if summary["scim_type"]:
        parts.append(summary["scim_type"])
    parts.append(f"{summary['duration_ms']}ms")
    return " ".join(parts)
