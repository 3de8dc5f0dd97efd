"""HTTP helper for the conformance suite: a thin wrapper over ``requests``.

Every request carries the bearer token, ``Content-Type: application/scim+json`` and a
10 s timeout.  Responses come back as :class:`Reply`, which keeps what was sent so a
failing check can say exactly what it sent and what came back.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests

SCIM_JSON = "application/scim+json"
DEFAULT_TIMEOUT = 10.0
_MISSING = object()


def truncate(text: Any, limit: int = 400) -> str:
    """One-line, length-limited rendering of ``text`` for messages."""
    if text is None:
        return ""
    if not isinstance(text, str):
        try:
            text = json.dumps(text, separators=(",", ":"))
        except (TypeError, ValueError):
            text = repr(text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Reply:
    """An HTTP response plus the request that produced it."""

    def __init__(self, resp: requests.Response, sent: str | None):
        self.raw = resp
        self.status = resp.status_code
        self.headers = resp.headers
        self.text = resp.text
        self.method = resp.request.method
        self.url = resp.request.url or ""
        self.sent = sent
        self._body: Any = _MISSING

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None when there is none or it is not JSON."""
        if self._body is _MISSING:
            try:
                self._body = json.loads(self.text) if self.text.strip() else None
            except ValueError:
                self._body = None
        return self._body

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    def path(self) -> str:
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def describe(self) -> str:
        sent = f" body={truncate(self.sent, 300)}" if self.sent else ""
        ctype = f" [{self.content_type}]" if self.content_type else ""
        got = truncate(self.text, 400) or "<empty body>"
        return f"{self.method} {self.path()}{sent} -> {self.status}{ctype} {got}"


class Client:
    """Session bound to one SCIM base URL and bearer token."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT, verbose: bool = False
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.verbose = verbose
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": SCIM_JSON,
                "Accept": SCIM_JSON,
                "User-Agent": "scim-conformance/1.0",
            }
        )

    def url(self, path: str, params: dict | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        if params:
            # Spaces as %20 (as Okta sends), never '+'; every reserved character encoded.
            query = urlencode(params, quote_via=quote, safe="")
            url += ("&" if "?" in url else "?") + query
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _MISSING,
        data: str | bytes | None = None,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> Reply:
        """Send one request. ``headers`` values of None remove a session header."""
        body = json.dumps(json_body) if json_body is not _MISSING else data
        sent = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        resp = self.session.request(
            method,
            self.url(path, params),
            data=body,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
        )
        reply = Reply(resp, sent)
        if self.verbose:
            print(f"    {reply.describe()}", file=sys.stderr)
        return reply

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = _MISSING, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=body, **kw)

    def put(self, path: str, body: Any = _MISSING, **kw: Any) -> Reply:
        return self.request("PUT", path, json_body=body, **kw)

    def patch(self, path: str, body: Any = _MISSING, **kw: Any) -> Reply:
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)
