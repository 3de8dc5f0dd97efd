"""The ``scim-server`` command line (docs/api.md §5)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from scim_server import cli_log
from scim_server import create_app
from scim_server.db import session_scope
from scim_server.services.audit import Actor
from scim_server.services.errors import NotFound
from scim_server.services.organizations import orgs
from scim_server.services.organizations import tokens
from scim_server.storage import list_state
from scim_server.storage import migrate
from scim_server.storage.duplicates import find_duplicates
from scim_server.storage.models import Organization


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    app = create_app()
    try:
        return int(args.handler(app, args) or 0)
    except NotFound as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scim-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and serve with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument(
        "--bootstrap",
        action="store_true",
        help="on an empty database, create one organisation and print its "
        "SCIM URL, token and management key",
    )
    serve.set_defaults(handler=_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(handler=_db_upgrade)
    db_sub.add_parser(
        "check-duplicates",
        help="list people, userNames and group names that are one under NFC/IDNA "
        "normalisation but stored twice (never merges; exit 1 when any)",
    ).set_defaults(handler=_db_check_duplicates)
    reconcile = db_sub.add_parser(
        "reconcile-counts",
        help="recount live SCIM users and groups against the list counters "
        "(scim_server/storage/list_state.py); exit 1 on drift unless --fix",
    )
    reconcile.add_argument("--fix", action="store_true", help="rewrite drifted counters")
    reconcile.set_defaults(handler=_db_reconcile_counts)

    org = sub.add_parser("org", help="organisations")
    org_sub = org.add_subparsers(dest="org_command", required=True)
    create = org_sub.add_parser("create", help="create an organisation with its first tokens")
    create.add_argument("name")
    create.add_argument("--json", action="store_true")
    create.add_argument("--base-url", default=None, help="server URL for the printed SCIM URL")
    create.set_defaults(handler=_org_create)

    token = sub.add_parser("token", help="bearer tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    tcreate = token_sub.add_parser("create", help="issue another token (rotation)")
    tcreate.add_argument("--org", required=True)
    tcreate.add_argument("--kind", choices=tokens.TOKEN_KINDS, required=True)
    tcreate.add_argument("--json", action="store_true")
    tcreate.set_defaults(handler=_token_create)
    tlist = token_sub.add_parser("list", help="list tokens (never their secrets)")
    tlist.add_argument("--org", required=True)
    tlist.set_defaults(handler=_token_list)
    trevoke = token_sub.add_parser("revoke", help="revoke a token at once")
    trevoke.add_argument("token_id")
    trevoke.set_defaults(handler=_token_revoke)
    cli_log.add_commands(sub)
    return parser


def _factory(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["scim_sessionmaker"]
    return factory


def _db_upgrade(app: Flask, _args: argparse.Namespace) -> int:
    migrate.upgrade(app.config["DATABASE_URL"])
    print("database is up to date", file=sys.stderr)
    return 0


def _db_check_duplicates(app: Flask, _args: argparse.Namespace) -> int:
    with _factory(app)() as db:
        lines = find_duplicates(db.connection())
    for line in lines:
        print(line)
    print(f"{len(lines)} duplicate group(s)", file=sys.stderr)
    return 1 if lines else 0


def _db_reconcile_counts(app: Flask, args: argparse.Namespace) -> int:
    """A periodic check: the triggers keep the counters exact, this proves it."""
    with session_scope(_factory(app)) as db:
        drifts = list_state.reconcile_counts(db, fix=args.fix)
    for d in drifts:
        action = "fixed" if args.fix else "drift"
        print(
            f"{action}: directory {d.directory_id} {d.resource}: "
            f"counter {d.counted}, actual {d.actual}"
        )
    print(f"{len(drifts)} counter(s) drifted", file=sys.stderr)
    return 1 if drifts and not args.fix else 0


def _base_url(app: Flask, override: str | None) -> str:
    return (override or app.config["BASE_URL"] or "http://127.0.0.1:8000").rstrip("/")


def _create_org(app: Flask, name: str, base_url: str) -> dict[str, Any]:
    pepper = app.config["TOKEN_PEPPER"]
    with session_scope(_factory(app)) as db:
        actor = Actor("system", "cli")
        org = orgs.create_org(db, name, actor=actor)
        scim = tokens.create_token(db, org, "scim", pepper=pepper, actor=actor)
        mgmt = tokens.create_token(db, org, "management", pepper=pepper, actor=actor)
        return {
            "org_id": org.id,
            "scim_base_url": f"{base_url}/scim/v2",
            "scim_token": scim.secret,
            "management_key": mgmt.secret,
        }


def _print_org(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(info))
        return
    print(f"Organization:    {info['org_id']}")
    print(f"SCIM base URL:   {info['scim_base_url']}")
    print(f"SCIM token:      {info['scim_token']}")
    print(f"Management key:  {info['management_key']}")
    print("The token and key are shown once; store them now.")


def _org_create(app: Flask, args: argparse.Namespace) -> int:
    _print_org(_create_org(app, args.name, _base_url(app, args.base_url)), args.json)
    return 0


def _token_create(app: Flask, args: argparse.Namespace) -> int:
    with session_scope(_factory(app)) as db:
        org = orgs.get_org(db, args.org)
        issued = tokens.create_token(
            db, org, args.kind, pepper=app.config["TOKEN_PEPPER"], actor=Actor("system", "cli")
        )
    if args.json:
        print(json.dumps({"token_id": issued.id, "kind": issued.kind, "token": issued.secret}))
    else:
        print(f"{issued.kind} token {issued.id}: {issued.secret}")
    return 0


def _token_list(app: Flask, args: argparse.Namespace) -> int:
    with session_scope(_factory(app)) as db:
        for token in tokens.list_tokens(db, orgs.get_org(db, args.org)):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            print(
                f"{token.id}  {token.kind:<10}  {token.prefix}…  "
                f"created {token.created_at:%Y-%m-%d %H:%M}  last used {used}  {state}"
            )
    return 0


def _token_revoke(app: Flask, args: argparse.Namespace) -> int:
    with session_scope(_factory(app)) as db:
        tokens.revoke_token(db, args.token_id, actor=Actor("system", "cli"))
    print(f"revoked {args.token_id}")
    return 0


def _serve(app: Flask, args: argparse.Namespace) -> int:
    migrate.upgrade(app.config["DATABASE_URL"])
    base_url = app.config["BASE_URL"] or f"http://{args.host}:{args.port}"
    if args.bootstrap:
        with session_scope(_factory(app)) as db:
            empty = not db.scalar(select(func.count()).select_from(Organization))
        if empty:
            print("First start: created an organisation. Paste these into Okta or Entra ID:")
            _print_org(_create_org(app, "Default organization", base_url.rstrip("/")), False)
            sys.stdout.flush()
    from scim_server.server import run_gunicorn

    run_gunicorn(args.host, args.port, args.workers)
    return 0
