"""``scim-server log prune``: enforce the provisioning log's retention (README
"Provisioning log"). Meant for cron, e.g. nightly: ``15 3 * * * scim-server log prune``."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from flask import Flask

from scim_server.db import session_scope
from scim_server.services.organizations import provisioning_log
from scim_server.storage.models import utcnow


def add_commands(sub: Any) -> None:
    """Add ``log prune`` to the ``scim-server`` parser's subcommands."""
    log = sub.add_parser("log", help="the provisioning log")
    log_sub = log.add_subparsers(dest="log_command", required=True)
    prune = log_sub.add_parser(
        "prune",
        help="delete provisioning log entries older than the retention "
        "(SCIM_PROVISIONING_LOG_RETENTION_DAYS, default 30); run it daily from cron",
    )
    prune.add_argument(
        "--days", type=_positive, default=None, help="keep this many days instead of the setting"
    )
    prune.set_defaults(handler=_prune)


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number of days")
    return int(raw)


def _prune(app: Flask, args: argparse.Namespace) -> int:
    """Delete in batches, one transaction each, so writers never wait on one long delete."""
    days = args.days or app.config["PROVISIONING_LOG_RETENTION_DAYS"]
    cutoff = utcnow() - timedelta(days=days)
    total = 0
    while True:
        with session_scope(app.extensions["scim_sessionmaker"]) as db:
            removed = provisioning_log.prune_batch(db, cutoff)
        total += removed
        if removed < provisioning_log.PRUNE_BATCH:
            break
    print(
        f"pruned {total} provisioning log entr{'y' if total == 1 else 'ies'} "
        f"older than {days} day(s)",
        file=sys.stderr,
    )
    return 0
