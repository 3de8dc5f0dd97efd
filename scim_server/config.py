"""Configuration: defaults, then ``SCIM_*`` environment variables, then test overrides.

Nothing else in the package reads ``os.environ``. Values from the environment are
JSON-decoded by Flask (``SCIM_MAX_PAGE_SIZE=200`` is an int).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

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
    "TOKEN_PEPPER": "scim-server-default-pepper",
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
}

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
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key."""


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, the environment and ``test_config``; validate."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("SCIM")
    if test_config:
        app.config.from_mapping(test_config)
    validate(app.config)


def validate(config: Any) -> None:
    """Fail fast at start-up, naming the bad key."""
    for key in _INT_KEYS:
        value = config[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"SCIM_{key} must be a positive integer, got {value!r}")
    lock = config["LOCK_TIMEOUT_SECONDS"]
    if not isinstance(lock, (int, float)) or isinstance(lock, bool) or lock <= 0:
        raise ConfigError(f"SCIM_LOCK_TIMEOUT_SECONDS must be a positive number, got {lock!r}")
    overflow = config["DB_MAX_OVERFLOW"]
    if not isinstance(overflow, int) or isinstance(overflow, bool) or overflow < 0:
        raise ConfigError(f"SCIM_DB_MAX_OVERFLOW must be an integer >= 0, got {overflow!r}")
    if config["SQLITE_SYNCHRONOUS"] not in ("NORMAL", "FULL"):
        raise ConfigError(
            f"SCIM_SQLITE_SYNCHRONOUS must be NORMAL or FULL, got {config['SQLITE_SYNCHRONOUS']!r}"
        )
    if config["DEFAULT_PAGE_SIZE"] > config["MAX_PAGE_SIZE"]:
        raise ConfigError("SCIM_DEFAULT_PAGE_SIZE must not exceed SCIM_MAX_PAGE_SIZE")
    url = config["DATABASE_URL"]
    if not isinstance(url, str) or not url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"SCIM_DATABASE_URL must be a sqlite:// or postgresql:// URL, got {url!r}"
        )
    if not isinstance(config["TOKEN_PEPPER"], str) or not config["TOKEN_PEPPER"]:
        raise ConfigError("SCIM_TOKEN_PEPPER must be a non-empty string")
