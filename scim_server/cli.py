"""The ``scim-server`` command line (docs/api.md §5)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from scim_server import cli_log
from scim_server import config
from scim_server import create_app
from scim_server.db import is_unavailable
from scim_server.db import make_engine
from scim_server.db import session_scope
from scim_server.services.audit import Actor
from scim_server.services.errors import NotFound
from scim_server.services.organizations import orgs
from scim_server.services.organizations import tokens
from scim_server.storage import list_state
from scim_server.storage import migrate
from scim_server.storage import wal_checkpoints
from scim_server.storage.duplicates import find_duplicates
from scim_server.storage.models import Organization


class CliError(Exception):
    """A failure the operator can fix; printed as one ``error:`` line, exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "config":
            return _config_check(args)
        settings = config.collect()
        found = config.problems(settings)
        if found:
            raise CliError("configuration: " + "; ".join(found))
        if args.handler is _serve:
            from scim_server.server import prepare_multiprocess_dir

            prepare_multiprocess_dir()
            # Serve releases the database itself before gunicorn forks; the workers leave
            # through this frame too, and must not touch what the arbiter held.
            return int(_serve(create_app(), args) or 0)
        if args.handler is not _db_upgrade:
            _require_migrated(settings["DATABASE_URL"])
        already = wal_checkpoints.running()
        app = create_app()
        try:
            return int(args.handler(app, args) or 0)
        finally:  # a command's process ends here; an in-process caller's goes on
            _close_engine(app)
            wal_checkpoints.stop(wal_checkpoints.running() - already)
    except (CliError, config.ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except NotFound as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    except Exception as error:
        if not is_unavailable(error):
            raise
        print(f"error: the database does not answer: {_first_line(error)}", file=sys.stderr)
        return 1


def _close_engine(app: Flask) -> None:
    """Close the app's pooled connections: before gunicorn forks, where nothing of
    SQLite's may be in use, and when a command is done (closing the last connection
    checkpoints the log by itself). With them goes the WAL checkpointer the command
    started (storage/wal_checkpoints.py), so that no thread of a command outlives it in a
    process that calls ``main`` and goes on."""
    engine = app.extensions.get("scim_engine")
    if engine is not None:
        engine.dispose()


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database)


def _migration_problem(url: str) -> str | None:
    """Why commands cannot run on this database yet, or None when it is migrated."""
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        return (
            f"no database at {file.resolve()} (SCIM_DATABASE_URL={url}); "
            "run `scim-server db upgrade` to create it"
        )
    engine = make_engine(url, checkpoint_thread=False)
    try:
        with engine.connect() as connection:
            at_head = migrate.is_at_head(connection)
    finally:
        engine.dispose()
    if not at_head:
        return "the database schema is not up to date; run `scim-server db upgrade`"
    return None


def _require_migrated(url: str) -> None:
    problem = _migration_problem(url)
    if problem:
        raise CliError(problem)


def _version() -> str:
    try:
        return metadata.version("scim_server")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scim-server", description=__doc__)
    parser.add_argument("--version", action="version", version=f"scim-server {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="serve with gunicorn; applies migrations on SQLite, needs `db upgrade` first on "
        "PostgreSQL; GUNICORN_CMD_ARGS tunes gunicorn (README 'Running in production')",
    )
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
    olist = org_sub.add_parser("list", help="list organisations: id, name, state, created")
    olist.add_argument("--json", action="store_true")
    olist.set_defaults(handler=_org_list)

    cfg = sub.add_parser(
        "config", help="configuration (README 'Configuration' lists every setting)"
    )
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfg_sub.add_parser(
        "check",
        help="report every configuration problem in one run: bad values, unsafe settings "
        "for a public bind, an unreachable or unmigrated database (exit 1 on any problem)",
    )
    check.add_argument(
        "--host",
        default="0.0.0.0",
        help="the address serve will bind; unsafe settings are warned about beyond loopback",
    )
    check.set_defaults(handler=_config_check)

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
            f"counter {d.counted}, actual {d.actual}, {d.shards_off} shard(s) off"
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


def _org_list(app: Flask, args: argparse.Namespace) -> int:
    with session_scope(_factory(app)) as db:
        rows = [
            {
                "org_id": org.id,
                "name": org.name,
                "active": org.active,
                "created_at": org.created_at.isoformat(timespec="seconds"),
            }
            for org in orgs.list_orgs(db)
        ]
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        state = "active" if row["active"] else "inactive"
        print(f"{row['org_id']}  {state:<8}  created {row['created_at']}  {row['name']}")
    print(f"{len(rows)} organisation(s)", file=sys.stderr)
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """Every problem at once, so one run fixes a deployment instead of one per restart."""
    settings = config.collect()
    found = [f"problem: {p}" for p in config.problems(settings)]
    url = settings["DATABASE_URL"]
    if not any("SCIM_DATABASE_URL" in line for line in found):
        try:
            problem = _migration_problem(url)
        except Exception as error:
            if not is_unavailable(error):
                raise
            problem = f"the database does not answer: {_first_line(error)}"
        if problem:
            found.append(f"problem: {problem}")
    warned = [f"warning: {w}" for w in config.warnings(settings, args.host)]
    for line in (*found, *warned):
        print(line)
    print(
        f"{len(found)} problem(s), {len(warned)} warning(s) for a bind on {args.host}",
        file=sys.stderr,
    )
    return 1 if found else 0


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
                f"created {token.created_at:%Y-%m-%d %H:%M}  last used {used}  "
                f"pepper {token.pepper_kid or 'unknown'}  {state}"
            )
    return 0


def _token_revoke(app: Flask, args: argparse.Namespace) -> int:
    with session_scope(_factory(app)) as db:
        tokens.revoke_token(db, args.token_id, actor=Actor("system", "cli"))
    print(f"revoked {args.token_id}")
    return 0


def _serve(app: Flask, args: argparse.Namespace) -> int:
    """SQLite (one machine, `make run`) is migrated here; PostgreSQL, shared by many app
    processes, is migrated once by `scim-server db upgrade` before they start."""
    url = app.config["DATABASE_URL"]
    if make_url(url).get_backend_name() == "sqlite":
        migrate.upgrade(url)
    else:
        _require_migrated(url)
    for warning in config.warnings(app.config, args.host):
        print(f"WARNING: {warning}", file=sys.stderr)
    base_url = app.config["BASE_URL"] or f"http://{args.host}:{args.port}"
    if args.bootstrap:
        with session_scope(_factory(app)) as db:
            empty = not db.scalar(select(func.count()).select_from(Organization))
        if empty:
            print("First start: created an organisation. Paste these into Okta or Entra ID:")
            _print_org(_create_org(app, "Default organization", base_url.rstrip("/")), False)
            sys.stdout.flush()
    from scim_server.server import run_gunicorn

    # This process becomes the arbiter: nothing of SQLite's may be in use at its forks.
    _close_engine(app)
    wal_checkpoints.stop_all()
    run_gunicorn(args.host, args.port, args.workers)
    return 0
