"""Side-by-side benchmark: our server, the reference peer and the ceiling, in one run.

    make bench-quick                      # 2,000 users, a few minutes
    make bench                            # 20,000 users
    make bench BENCH_ARGS='--million'     # also 1,000 vs 1,000,000 users on PostgreSQL

(``scripts/bench.sh`` starts a throw-away PostgreSQL cluster and the peer's venv, then runs
this file.) One Okta/Entra-shaped workload is sent through HTTP to every target:

* ``sqlite``: ``scim-server serve`` on SQLite, as ``make run`` serves (2 workers);
* ``postgresql``: ``scim-server serve --workers 4`` on PostgreSQL;
* ``peer``: ``scim2-server`` (PyPI, in memory, one process), pinned in scripts/bench.sh;
* ``ceiling``: a bare Flask "hello", a one-row SQLAlchemy lookup and insert, and a SCIM
  create's rows in raw Core, under the same gunicorn settings (scripts/bench_ceiling.py):
  on SQLite with 2 workers, and with ``--database`` also on PostgreSQL with 4 workers, so
  each of our stores is set against what its own stack can answer at most.

The SCIM targets are served at once and take turns (``bench_http.Turns``): every phase is
timed in blocks, one target's block at a time, so a machine whose speed drifts slows them
alike. Phases, each at concurrency 1 and 8 (one keep-alive connection per client thread): POST
/Users, GET /Users?filter=userName eq, GET /Users/{id}, PATCH active false/true (Entra's
shape), a list walk (startIndex pages of 100 over the whole directory), one-member
add/remove on a large group, GET group with excludedAttributes=members. Every response is
checked (the right user, the right count, the member really added), so a fast wrong answer
fails its phase instead of winning it. The ``workers`` part (in ``--only``, on by default)
serves the same SQLite directory again under gunicorn's ``sync``, ``gthread`` and our
``BufferingWorker`` for GET and PATCH. ``--million`` seeds PostgreSQL set-based at 1,000 and
1,000,000 users with a 100,000-member group and times the single requests and list pages at
both sizes, one at a time.

Results go to stdout and, with --markdown, into the generated blocks of docs/benchmark.md;
the hand-written text around those blocks is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_http import Turns
from bench_report import million_block
from bench_report import side_by_side_block
from bench_report import workers_block
from bench_report import write_block
from bench_targets import Target
from bench_targets import ours
from bench_targets import peer
from bench_targets import throwaway_postgres
from bench_workload import BLOCKS
from bench_workload import SCALE_MIN_REQUESTS
from bench_workload import Directory
from bench_workload import Result
from bench_workload import Sizes
from bench_workload import Workload
from bench_workload import at_scales
from bench_workload import run_ceiling
from bench_workload import seed_sqlite
from bench_workload import workers_compare

# --------------------------------------------------------------------------- main

SERVED = {
    "sqlite": "ours on SQLite (scim-server serve, 2 workers)",
    "postgresql": "ours on PostgreSQL (scim-server serve --workers 4)",
    "peer": "scim2-server",
}


def side_by_side(targets: dict[str, Target], sizes: Sizes) -> dict[str, Workload]:
    """The workload against every target, all of them up at once and taking turns
    (``bench_http.Turns``): one thread per target, one target busy at a time."""
    if not targets:
        return {}
    turns = Turns(list(targets))
    works = {name: Workload(t, sizes, Result(name), turns) for name, t in targets.items()}
    print(
        f"side by side, taking turns every {BLOCKS}th of a phase: "
        + "; ".join(f"{name} = {SERVED[name]}" for name in targets),
        flush=True,
    )
    failures: list[BaseException] = []

    def drive(work: Workload) -> None:
        try:
            work.run()
        except BaseException as exc:  # re-raised below, after every thread has ended
            failures.append(exc)

    threads = [threading.Thread(target=drive, args=(w,)) for w in works.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return works


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (scripts/bench.sh gives one)")
    parser.add_argument("--peer", help="the scim2-server executable (scripts/bench.sh gives one)")
    parser.add_argument("--quick", action="store_true", help="2,000 users, 200 requests")
    parser.add_argument("--users", type=int, help="users per side-by-side target (20,000)")
    parser.add_argument("--requests", type=int, help="requests per phase and concurrency (1,000)")
    parser.add_argument(
        "--only",
        default="sqlite,postgresql,peer,ceiling,workers",
        help="comma-separated parts to run (default: all of them)",
    )
    parser.add_argument(
        "--budget", type=float, help="seconds per phase and level before stopping (60; quick 20)"
    )
    parser.add_argument("--million", action="store_true", help="also 1,000 vs 1,000,000 users")
    parser.add_argument("--million-users", type=int, default=1_000_000)
    parser.add_argument("--million-members", type=int, default=100_000)
    parser.add_argument("--million-requests", type=int, default=200)
    parser.add_argument("--markdown", type=Path, help="the file of generated blocks to update")
    parser.add_argument("--command", default="", help="the command to print in the report")
    parser.add_argument(
        "--provisioning-log",
        choices=("on", "off"),
        default="on",
        help="serve with SCIM_PROVISIONING_LOG on (the default) or off; "
        "scripts/bench_log.py compares the two",
    )
    args = parser.parse_args()
    os.environ["SCIM_PROVISIONING_LOG"] = "true" if args.provisioning_log == "on" else "false"
    sizes = Sizes(
        args.users or (2_000 if args.quick else 20_000),
        args.requests or (200 if args.quick else 1_000),
        args.budget if args.budget is not None else (20 if args.quick else 60),
    )
    command = args.command or " ".join(["scripts/bench.py", *sys.argv[1:]])
    parts = set(args.only.split(","))
    if "postgresql" in parts and not args.database:
        parser.error("the postgresql part needs --database (run scripts/bench.sh)")
    if "peer" in parts and not args.peer:
        parser.error("the peer part needs --peer (run scripts/bench.sh)")
    if args.million and not args.database:
        parser.error("--million needs --database (run scripts/bench.sh)")
    if args.million and args.million_requests < SCALE_MIN_REQUESTS:
        parser.error(f"--million-requests must be at least {SCALE_MIN_REQUESTS}")
    if sizes.users < 2 * sizes.requests + sizes.requests + 2 or sizes.requests < 10:
        parser.error("--users must be at least 3 × --requests + 2, --requests at least 10")
    load_before = f"{os.getloadavg()[0]:.1f}"
    results: dict[str, Result] = {}
    started = time.perf_counter()

    directory: Directory | None = None
    workers: dict[str, Result] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        with contextlib.ExitStack() as servers:
            targets: dict[str, Target] = {}
            if "sqlite" in parts:
                targets["sqlite"] = servers.enter_context(ours(url, 2))
            if "postgresql" in parts:
                pg_url = servers.enter_context(throwaway_postgres(args.database))
                targets["postgresql"] = servers.enter_context(ours(pg_url, 4))
            if "peer" in parts:
                targets["peer"] = servers.enter_context(peer(args.peer))
            works = side_by_side(targets, sizes)
            results.update({name: work.result for name, work in works.items()})
        if "sqlite" in works:
            t = targets["sqlite"]
            directory = Directory(url, t.base, t.token or "", works["sqlite"].ids)
        if "workers" in parts:
            # Served again after the side by side, so the worker classes see the same
            # directory; measured here, reported after the side by side.
            print("worker classes (SQLite)", flush=True)
            workers = workers_compare(sizes, directory or seed_sqlite(url, sizes))
    if "ceiling" in parts:
        print("ceiling on SQLite, 2 workers (Flask hello, one-row SQLAlchemy)", flush=True)
        results["ceiling"] = run_ceiling(sizes, 2)
        if args.database:
            print("ceiling on PostgreSQL, 4 workers", flush=True)
            with throwaway_postgres(args.database) as pg_rows:
                results["ceiling-pg"] = run_ceiling(sizes, 4, pg_rows)
    if results:
        block = side_by_side_block(
            results, sizes, command, (load_before, f"{os.getloadavg()[0]:.1f}")
        )
        print(block)
        if args.markdown:
            write_block(args.markdown, "side-by-side", block)
    if "workers" in parts:
        block = workers_block(workers, sizes, command)
        print(block)
        if args.markdown:
            write_block(args.markdown, "workers", block)
    if args.million:
        sizes = [
            (1_000, min(args.million_members, 1_000)),
            (args.million_users, args.million_members),
        ]
        small, large = at_scales(args.database, sizes, args.million_requests)
        block = million_block(small, large, command)
        print(block)
        if args.markdown:
            write_block(args.markdown, "million", block)
    print(f"benchmark took {time.perf_counter() - started:.0f} s", flush=True)
    everything = [*results.values(), *workers.values()]
    wrong = any(isinstance(s, str) for r in everything for s in r.stats.values())
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
