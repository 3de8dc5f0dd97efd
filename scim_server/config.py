"""Configuration: defaults, then ``SCIM_*`` environment variables, then test overrides.

Nothing else in the package reads ``os.environ`` for settings. Numbers and booleans from
the environment are JSON-decoded (``SCIM_MAX_PAGE_SIZE=200`` is an int); the keys in
``STRING_KEYS`` (secrets, URLs, paths) are taken verbatim, so a numeric pepper such as
``SCIM_TOKEN_PEPPER=12345`` is the string it looks like. README "Configuration" lists
every key; ``tests/test_config.py`` keeps that table and ``DEFAULTS`` in step.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

# The built-in development pepper: fine on a laptop, a loud warning anywhere else.
DEVELOPMENT_PEPPER = "scim-server-default-pepper"

DEFAULTS: dict[str, Any] = {
    # SQLAlchemy URL; SQLite (WAL) is the zero-setup default, PostgreSQL the production store.
    "DATABASE_URL": "sqlite:///var/scim.db",
    # Public base URL for Location headers; None derives it from the request.
    "BASE_URL": None,
    # Page size when a list request gives no count.
    "DEFAULT_PAGE_SIZE": 100,
    # Largest page served (advertised as filter.maxResults).
    "MAX_PAGE_SIZE": 1000,
    # Most operations accepted in one PATCH request.
    "MAX_PATCH_OPERATIONS": 1000,
    # Largest request body in bytes (a 100,000-member group PUT is about 6 MB).
    "MAX_BODY_BYTES": 16 * 1024 * 1024,
    # Bulk (RFC 7644 §3.7.4), advertised in /ServiceProviderConfig: most operations in one
    # request, and its largest body in bytes. Each operation commits on its own
    # (scim_server/api/scim/bulk.py), so these bound the request's length, not lock waits.
    "BULK_MAX_OPERATIONS": 1000,
    "BULK_MAX_PAYLOAD_BYTES": 1024 * 1024,
    # Key for the HMAC that stores secrets; set a private value in production.
    "TOKEN_PEPPER": DEVELOPMENT_PEPPER,
    # Earlier peppers, comma-separated: tokens they hashed keep working until revoked, while
    # new tokens use TOKEN_PEPPER (README "Rotating the pepper").
    "TOKEN_PEPPERS_RETIRED": None,
    # Platform key for the management API across organisations (unset: disabled).
    "PLATFORM_KEY": None,
    # Directory holding the SCIM schema JSON; None uses the repository's schemas/.
    "SCHEMA_DIR": None,
    # The host product's page that receives an invitation link (?token=… is appended).
    "INVITATION_ACCEPT_URL": "/invitations/accept",
    # SQLAlchemy engine echo, for debugging (it also logs statement parameters).
    "ECHO_SQL": False,
    # Longest query string in bytes, as sent (percent-encoded); longer is 414 pointing at
    # POST /.search. A 100-id OR filter is 5,999 bytes encoded (%20); 100 userName terms with
    # 60-character emails about 9.2 KB (README "Errors, outages and long queries").
    "MAX_QUERY_BYTES": 16 * 1024,
    # Seconds a statement waits for a lock (SQLite busy_timeout, PostgreSQL lock_timeout)
    # before the request answers 503 with Retry-After.
    "LOCK_TIMEOUT_SECONDS": 10,
    # Retry-After, in seconds, on a 503 (database unreachable or a lock timed out).
    "RETRY_AFTER_SECONDS": 5,
    # PostgreSQL connections per worker: pooled, and extra under a burst (see scim_server/db.py).
    "DB_POOL_SIZE": 4,
    "DB_MAX_OVERFLOW": 2,
    # SQLite durability: NORMAL (a power loss may lose the last commits, never corrupts) or
    # FULL (a disk flush per commit); the trade-off is spelled out in scim_server/db.py.
    "SQLITE_SYNCHRONOUS": "NORMAL",
    # Seconds a list cursor stays valid (RFC 9865 cursorTimeout; part `search`).
    "CURSOR_TIMEOUT_SECONDS": 3600,
    # log part (issue 12), validated in scim_server/request_log.py:
    # Record organisations' SCIM requests in the provisioning log (README "Provisioning log").
    "PROVISIONING_LOG": True,
    # Also record successful reads (GET, POST .search); failures are always recorded.
    "PROVISIONING_LOG_READS": False,
    # Days an entry is kept; `scim-server log prune` deletes older ones (run it from cron).
    "PROVISIONING_LOG_RETENTION_DAYS": 30,
    # Longest request body kept per entry, in bytes, after redacting secrets.
    "PROVISIONING_LOG_BODY_BYTES": 8192,
    # Log lines on stderr: auto (JSON, or text when stderr is a terminal), json or text.
    "LOG_FORMAT": "auto",
    # --- ops: health, metrics, proxies ---
    # Bearer token that /metrics requires; unset turns /metrics off (404). The gauges are
    # business figures (members, seats) that must not be public on a SCIM endpoint.
    "METRICS_TOKEN": None,
    # Trusted reverse proxies in front of the server: 0 ignores X-Forwarded-*; N trusts the
    # last N hops' X-Forwarded-For/-Proto/-Host/-Port (werkzeug ProxyFix).
    "PROXY_FIX_HOPS": 0,
    # Console part: console sessions end after this long idle, and this long in all
    # (docs/api.md §3.6a); their cookie is Secure (browsers keep it on http://localhost too).
    "CONSOLE_IDLE_SECONDS": 30 * 60,
    "CONSOLE_ABSOLUTE_SECONDS": 8 * 3600,
    "CONSOLE_COOKIE_SECURE": True,
}

# Read from the environment as the literal string, never JSON-decoded.
STRING_KEYS = (
    "DATABASE_URL",
    "BASE_URL",
    "TOKEN_PEPPER",
    "TOKEN_PEPPERS_RETIRED",
    "PLATFORM_KEY",
    "SCHEMA_DIR",
    "INVITATION_ACCEPT_URL",
    "SQLITE_SYNCHRONOUS",
    "METRICS_TOKEN",
)

_INT_KEYS = (
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_PATCH_OPERATIONS",
    "MAX_BODY_BYTES",
    "MAX_QUERY_BYTES",
    "RETRY_AFTER_SECONDS",
    "DB_POOL_SIZE",
    "CURSOR_TIMEOUT_SECONDS",
    "BULK_MAX_OPERATIONS",
    "BULK_MAX_PAYLOAD_BYTES",
    "CONSOLE_IDLE_SECONDS",
    "CONSOLE_ABSOLUTE_SECONDS",
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``test_config``; validate."""
    app.config.from_mapping(collect())
    if test_config:
        app.config.from_mapping(test_config)
    validate(app.config)


def collect(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The defaults with the environment's ``SCIM_*`` settings applied, not yet validated."""
    return {**DEFAULTS, **from_environment(os.environ if environ is None else environ)}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``SCIM_*`` settings in ``environ``: strings verbatim, the rest JSON-decoded where
    they parse (as Flask's ``from_prefixed_env`` would), else kept as the string given."""
    settings: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith("SCIM_"):
            continue
        key = name.removeprefix("SCIM_")
        if key in STRING_KEYS:
            settings[key] = raw
            continue
        try:
            settings[key] = json.loads(raw)
        except ValueError:
            settings[key] = raw
    return settings


def validate(config: Any) -> None:
    """Fail fast at start-up, naming every bad key at once."""
    found = problems(config)
    if found:
        raise ConfigError("; ".join(found))


def problems(config: Any) -> list[str]:
    """Every malformed setting, one sentence each (``scim-server config check`` prints all)."""
    found: list[str] = []
    for key in _INT_KEYS:
        value = config[key]
        if not _is_int(value) or value < 1:
            found.append(f"SCIM_{key} must be a positive integer, got {value!r}")
    lock = config["LOCK_TIMEOUT_SECONDS"]
    if not isinstance(lock, (int, float)) or isinstance(lock, bool) or lock <= 0:
        found.append(f"SCIM_LOCK_TIMEOUT_SECONDS must be a positive number, got {lock!r}")
    for key in ("DB_MAX_OVERFLOW", "PROXY_FIX_HOPS"):
        value = config.get(key, DEFAULTS[key])
        if not _is_int(value) or value < 0:
            found.append(f"SCIM_{key} must be an integer >= 0, got {value!r}")
    if config["SQLITE_SYNCHRONOUS"] not in ("NORMAL", "FULL"):
        found.append(
            f"SCIM_SQLITE_SYNCHRONOUS must be NORMAL or FULL, got {config['SQLITE_SYNCHRONOUS']!r}"
        )
    pages = (config["DEFAULT_PAGE_SIZE"], config["MAX_PAGE_SIZE"])
    if all(_is_int(v) for v in pages) and pages[0] > pages[1]:
        found.append("SCIM_DEFAULT_PAGE_SIZE must not exceed SCIM_MAX_PAGE_SIZE")
    url = config["DATABASE_URL"]
    if not isinstance(url, str) or not url.startswith(("sqlite", "postgresql")):
        found.append(f"SCIM_DATABASE_URL must be a sqlite:// or postgresql:// URL, got {url!r}")
    if not isinstance(config["TOKEN_PEPPER"], str) or not config["TOKEN_PEPPER"]:
        found.append("SCIM_TOKEN_PEPPER must be a non-empty string")
    retired = config.get("TOKEN_PEPPERS_RETIRED")
    if retired is not None and (
        not isinstance(retired, str) or not all(p.strip() for p in retired.split(","))
    ):
        found.append("SCIM_TOKEN_PEPPERS_RETIRED must be comma-separated non-empty peppers")
    base = config["BASE_URL"]
    if base and (not isinstance(base, str) or not base.startswith(("http://", "https://"))):
        found.append(f"SCIM_BASE_URL must be an http:// or https:// URL, got {base!r}")
    metrics = config.get("METRICS_TOKEN")
    if metrics and (not isinstance(metrics, str) or len(metrics) < 16):
        found.append("SCIM_METRICS_TOKEN must be a string of at least 16 characters")
    return found


def retired_peppers(config: Any) -> tuple[str, ...]:
    """SCIM_TOKEN_PEPPERS_RETIRED as a tuple (validated at start-up), without the current one."""
    raw = config.get("TOKEN_PEPPERS_RETIRED") or ""
    current = config["TOKEN_PEPPER"]
    return tuple(p.strip() for p in raw.split(",") if p.strip() and p.strip() != current)


def warnings(config: Any, host: str) -> list[str]:
    """Settings that work but are unsafe when serving on ``host`` beyond this machine."""
    if is_loopback(host):
        return []
    found: list[str] = []
    if config["TOKEN_PEPPER"] == DEVELOPMENT_PEPPER:
        found.append(
            "SCIM_TOKEN_PEPPER is the built-in development pepper: anyone with the source can "
            "test guessed tokens offline against a stolen database. Set a private value "
            "before issuing tokens (tokens issued under one pepper stop matching under another)."
        )
    if not config["BASE_URL"]:
        found.append(
            "SCIM_BASE_URL is unset: Location and meta.location echo the request's Host "
            "header. Set it to the public URL (e.g. https://scim.example.com)."
        )
    return found


def is_loopback(host: str) -> bool:
    """Is ``host`` (a bind address or name) reachable from this machine only?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
