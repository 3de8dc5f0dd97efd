"""The servers under benchmark: started on free ports, stopped afterwards, memory read."""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(cmd: list[str], env: dict[str, str], ready: str) -> Iterator[int]:
    """Start a server, wait until ``ready`` answers, yield its pid, stop it."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            parts = urlsplit(ready)
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{cmd[0]} exited: {log.read().decode()[-2000:]}")
                try:
                    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
                    conn.request("GET", parts.path)
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{cmd[0]} did not answer {ready} in 60 s") from None
                    time.sleep(0.2)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rss_mib(root: int) -> tuple[float, int]:
    """Resident memory of a process and all its descendants (MiB, process count)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        parent[int(proc.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss[int(proc.name)] = int(fields.get("VmRSS", "0 kB").split()[0])
    tree = {root}
    grew = True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree) / 1024, len(tree & rss.keys())


@dataclass
class Target:
    name: str
    base: str  # the SCIM base URL (…/scim/v2 or …/v2)
    token: str | None
    pid: int
    database_url: str = ""
    org_id: str = ""


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "scim-server"), *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"scim-server {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def prepare_ours(database_url: str, port: int) -> dict[str, str]:
    """Migrate a fresh database and create one organisation; its SCIM URL and token."""
    env = {"SCIM_DATABASE_URL": database_url}
    cli("db", "upgrade", env=env)
    created = json.loads(
        cli("org", "create", "Bench", "--json", "--base-url", f"http://127.0.0.1:{port}", env=env)
    )
    return {"base": created["scim_base_url"], "token": created["scim_token"], **created}


@contextmanager
def ours(database_url: str, workers: int, serve: list[str] | None = None) -> Iterator[Target]:
    """Our server on ``database_url``: ``scim-server serve`` unless ``serve`` is given."""
    port = free_port()
    info = prepare_ours(database_url, port)
    cmd = serve or [str(BIN / "scim-server"), "serve", "--port", str(port)]
    cmd = [c.format(port=port) for c in cmd] + (
        ["--workers", str(workers)] if serve is None else []
    )
    ready = f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig"
    with serving(cmd, {"SCIM_DATABASE_URL": database_url}, ready) as pid:
        yield Target("ours", info["base"], info["token"], pid, database_url, info["org_id"])


@contextmanager
def peer(executable: str) -> Iterator[Target]:
    """scim2-server on a free port with a static bearer token."""
    port = free_port()
    token = uuid.uuid4().hex
    cmd = [executable, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token]
    with serving(cmd, {}, f"http://127.0.0.1:{port}/v2/ServiceProviderConfig") as pid:
        yield Target("peer", f"http://127.0.0.1:{port}/v2", token, pid)


@contextmanager
def ceiling(rows: int, workers: int, database: str | None = None) -> Iterator[Target]:
    """scripts/bench_ceiling.py on ``database`` (a PostgreSQL database), or a SQLite file."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(ROOT / "scripts" / "bench_ceiling.py"),
            "--port",
            str(port),
            "--database",
            database or f"sqlite:///{tmp}/rows.db",
            "--rows",
            str(rows),
            "--workers",
            str(workers),
        ]
        with serving(cmd, {}, f"http://127.0.0.1:{port}/hello") as pid:
            yield Target("ceiling", f"http://127.0.0.1:{port}", None, pid)


def throwaway_postgres(server_url: str) -> AbstractContextManager[str]:
    """A new database on that PostgreSQL server, dropped afterwards (the tests' own helper)."""
    sys.path.insert(0, str(ROOT))
    from tests.live_server import throwaway_database

    return throwaway_database(server_url)
