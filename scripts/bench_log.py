"""What the provisioning log costs: POST /Users and PATCH active, with the log on and off.

    .venv/bin/python scripts/bench_log.py                       # SQLite, 2 workers
    .venv/bin/python scripts/bench_log.py --database postgresql+psycopg://…/postgres

The same workload as scripts/bench.py (its POST and PATCH phases, at concurrency 1 and 8)
against ``scim-server serve`` with ``SCIM_PROVISIONING_LOG`` true and false, alternating
``--rounds`` times on fresh databases so that a noisy machine hits both sides alike; each
cell is the median over rounds. ``scripts/bench.py --provisioning-log off`` runs the whole
benchmark without the log.

On a busy machine the HTTP runs drift more than the log costs; ``--in-process`` measures
the server side alone: two apps on one database file (log on, log off) through Flask's test
client, alternating in small batches so that any drift hits both alike, and reports the
mean and median time per request of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import AbstractContextManager
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bench_http import LEVELS
from bench_http import Stats
from bench_targets import ours
from bench_targets import throwaway_postgres
from bench_workload import PHASES
from bench_workload import Result
from bench_workload import Sizes
from bench_workload import Workload

MEASURED = (PHASES[0], PHASES[3])  # POST /Users, PATCH active false/true


def one_run(url: str, workers: int, sizes: Sizes, log_on: bool) -> dict[tuple[str, int], Stats]:
    os.environ["SCIM_PROVISIONING_LOG"] = "true" if log_on else "false"
    with ours(url, workers) as target:
        work = Workload(target, sizes, Result("ours"))
        work.warm()
        work.phase_post()
        work.phase_patch()
    return {k: v for k, v in work.result.stats.items() if isinstance(v, Stats)}


def database(server: str | None, tmp: str, n: int) -> AbstractContextManager[str]:
    if server:
        return throwaway_postgres(server)
    return nullcontext(f"sqlite:///{tmp}/log-{n}.db")


def in_process(url: str, requests: int, batch: int = 20) -> None:
    """Interleaved A/B of POST /Users and PATCH active on the Flask test client."""
    import time
    import uuid

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from scim_server import create_app
    from scim_server.storage import migrate
    from tests.conftest import PEPPER
    from tests.conftest import make_org

    migrate.upgrade(url)
    settings = {"DATABASE_URL": url, "TOKEN_PEPPER": PEPPER}
    apps = {on: create_app({**settings, "PROVISIONING_LOG": on}) for on in (True, False)}
    with apps[True].extensions["scim_sessionmaker"]() as db:
        org = make_org(db, "Bench")
    headers = {"Authorization": f"Bearer {org.token}", "Content-Type": "application/scim+json"}
    clients = {on: app.test_client() for on, app in apps.items()}
    times: dict[tuple[str, bool], list[float]] = {}

    def timed(phase: str, on: bool, method: str, path: str, body: dict[str, object]) -> Any:
        started = time.perf_counter()
        response = clients[on].open(path, method=method, json=body, headers=headers)
        times.setdefault((phase, on), []).append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.get_data(as_text=True)
        return response

    user = "urn:ietf:params:scim:schemas:core:2.0:User"
    op = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    for _ in range(requests // batch):
        for on in (True, False):
            for _ in range(batch):
                name = f"{uuid.uuid4().hex}@example.com"
                body = {"schemas": [user], "userName": name, "active": True}
                created = timed("POST /Users", on, "POST", "/scim/v2/Users", body).get_json()
                for value in (False, True):
                    ops = {
                        "schemas": [op],
                        "Operations": [{"op": "replace", "path": "active", "value": value}],
                    }
                    timed("PATCH active", on, "PATCH", f"/scim/v2/Users/{created['id']}", ops)
    print(f"\nin-process, {url.split(':')[0]}, {requests} POST and {2 * requests} PATCH per side")
    print(f"{'phase':<16}{'mean off':>10}{'mean on':>10}{'p50 off':>10}{'p50 on':>10}{'cost':>8}")
    for phase in ("POST /Users", "PATCH active"):
        off, on = times[(phase, False)], times[(phase, True)]
        cost = (statistics.mean(on) - statistics.mean(off)) / statistics.mean(off) * 100
        print(
            f"{phase:<16}{statistics.mean(off):>8.2f}ms{statistics.mean(on):>8.2f}ms"
            f"{statistics.median(off):>8.2f}ms{statistics.median(on):>8.2f}ms{cost:>7.1f}%"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL; SQLite if not given")
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--in-process", action="store_true", help="server time only, A/B")
    args = parser.parse_args()
    if args.in_process:  # --database is then a database to use as it is (migrated first)
        with tempfile.TemporaryDirectory() as tmp:
            in_process(args.database or f"sqlite:///{tmp}/log.db", args.requests)
        return 0
    sizes = Sizes(args.users, args.requests, 60)
    workers = 4 if args.database else 2
    runs: dict[bool, list[dict[tuple[str, int], Stats]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for log_on in (True, False):
                print(f"round {n + 1}: log {'on' if log_on else 'off'}", flush=True)
                with database(args.database, tmp, 2 * n + log_on) as url:
                    runs[log_on].append(one_run(url, workers, sizes, log_on))
    backend = "PostgreSQL" if args.database else "SQLite"
    print(
        f"\n{backend}, {workers} workers, {args.requests} requests per cell, median of "
        f"{args.rounds} round(s)"
    )
    print(
        f"{'phase':<28}{'C':>3}{'req/s off':>11}{'req/s on':>10}{'p50 off':>9}"
        f"{'p50 on':>8}{'cost':>8}"
    )
    for phase in MEASURED:
        for level in LEVELS:
            off = [r[(phase, level)] for r in runs[False] if (phase, level) in r]
            on = [r[(phase, level)] for r in runs[True] if (phase, level) in r]
            rps_off = statistics.median(s.rps for s in off)
            rps_on = statistics.median(s.rps for s in on)
            p50_off = statistics.median(s.pct(50) for s in off)
            p50_on = statistics.median(s.pct(50) for s in on)
            cost = (rps_off - rps_on) / rps_off * 100
            print(
                f"{phase:<28}{level:>3}{rps_off:>11.0f}{rps_on:>10.0f}{p50_off:>8.1f}ms"
                f"{p50_on:>6.1f}ms{cost:>7.1f}%"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
