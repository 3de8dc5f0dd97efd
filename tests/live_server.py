"""Run the real server (``scim-server serve``: gunicorn, several workers) on a fresh database.

Used by the concurrency tests and by ``scripts/conformance-live.sh``:

    python -m tests.live_server --database sqlite -- CMD ... {base_url} ... {token} ...
    python -m tests.live_server --database postgresql+psycopg://… -- CMD …

creates a throw-away database (a temporary SQLite file, or a new PostgreSQL database on
that server), an organisation through the CLI, serves it, runs CMD with ``{base_url}``
and ``{token}`` filled in, then stops the server and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Live:
    base_url: str
    token: str
    database_url: str
    pid: int = 0  # the gunicorn arbiter, for memory readings
    management_key: str = ""
    org_id: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def throwaway_database(spec: str) -> Iterator[str]:
    """A new empty database: a temp SQLite file, or CREATE DATABASE on a PostgreSQL server."""
    if spec == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/live.db"
        return
    name = f"scim_live_{uuid.uuid4().hex[:10]}"
    admin = create_engine(spec, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(spec).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def live_server(database_url: str, workers: int = 2, threads: int | None = None) -> Iterator[Live]:
    """``threads``: a pool of request threads per worker instead of the default loop."""
    env = {**os.environ, "SCIM_DATABASE_URL": database_url}
    if threads is not None:
        env["GUNICORN_CMD_ARGS"] = f"--threads {threads}"
    cli = str(BIN / "scim-server")
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    created = subprocess.run(
        [cli, "org", "create", "Live test", "--json", "--base-url", base],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(created.stdout)
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(f"{base}/scim/v2/ServiceProviderConfig", server, log)
            yield Live(
                info["scim_base_url"],
                info["scim_token"],
                database_url,
                server.pid,
                info["management_key"],
                info["org_id"],
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: object) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)  # type: ignore[attr-defined]
            raise RuntimeError(f"server exited: {log.read().decode()[-2000:]}")  # type: ignore[attr-defined]
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"]
    with throwaway_database(args.database) as url, live_server(url, args.workers) as live:
        filled = [c.format(base_url=live.base_url, token=live.token) for c in command]
        return subprocess.run(filled).returncode


if __name__ == "__main__":
    sys.exit(main())
