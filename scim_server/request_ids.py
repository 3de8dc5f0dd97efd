"""The request id: taken from the proxy's ``X-Request-Id`` when it is sane, else made here.

One id ties together the response header, the JSON log line, the provisioning log entry
and the events a request wrote. A proxy's id is accepted only if it is 1–64 characters of
``A-Z a-z 0-9 . _ : + = / @ -`` (what UUIDs, hex ids and the common tracing formats use),
so nobody can inject line breaks or markup into logs through it, and it fits the
64-character ``request_id`` columns. Anything else is replaced, not refused: a proxy's
odd header must not fail an IdP's provisioning request.
"""

from __future__ import annotations

import re
import uuid

from flask import g
from flask import request

HEADER = "X-Request-Id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:+=/@-]{1,64}")


def accept(raw: str | None) -> str:
    """``raw`` if it is an acceptable id, else a new random one."""
    if raw is not None and _ACCEPTED.fullmatch(raw):
        return raw
    return uuid.uuid4().hex


def current_request_id() -> str:
    """This request's id, fixed at first use."""
    if "request_id" not in g:
        g.request_id = accept(request.headers.get(HEADER))
    rid: str = g.request_id
    return rid
