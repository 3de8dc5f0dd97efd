"""Benchmark: does a single-resource request cost the same at 1,000 and at N users?

    make bench                      # 1,000 vs 100,000 users, a 100,000-member group
    .venv/bin/python scripts/bench.py --database URL --users 1000000 --requests 300

For each size it builds a fresh PostgreSQL database (set-based INSERT … SELECT from
generate_series, so loading a million users takes a minute, not an hour), serves it with
``scim-server serve`` (2 gunicorn workers), sends the requests an IdP sends, one at a
time, and reports median and p95 latency per request kind, plus the workers' memory.
Results go to stdout and, with --markdown, to a file (docs/benchmark.md).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live_server import Live  # noqa: E402
from tests.live_server import live_server  # noqa: E402
from tests.live_server import throwaway_database  # noqa: E402

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

LOAD = [
    # people, memberships and SCIM views, all keyed by the number n
    """INSERT INTO users (id, email, email_normalized, email_verified, created_at)
       SELECT 'u-' || n, 'user' || n || '@bench.example', 'user' || n || '@bench.example',
              false, now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO memberships (id, org_id, user_id, source, directory_state, admin_override,
              link_state, role_id, access_epoch, created_at, updated_at)
       SELECT 'm-' || n, :org, 'u-' || n, 'scim', 'active', 'none', 'linked',
              'builtin-member', 0, now(), now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO scim_users (id, directory_id, membership_id, user_name, external_id,
              display_name, attributes, version, created_at, updated_at)
       SELECT md5('s' || n)::uuid::text, :dir, 'm-' || n, 'user' || n || '@bench.example',
              'ext-' || n, 'User ' || n,
              jsonb_build_object('name', jsonb_build_object('givenName', 'User',
                  'familyName', n::text),
                  'emails', jsonb_build_array(jsonb_build_object('value',
                  'user' || n || '@bench.example', 'type', 'work', 'primary', true))),
              1, now(), now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO scim_user_values (scim_user_id, attribute, value, value_lower, type,
              "primary", element)
       SELECT md5('s' || n)::uuid::text, 'emails', 'user' || n || '@bench.example',
              'user' || n || '@bench.example', 'work', true,
              jsonb_build_object('value', 'user' || n || '@bench.example', 'type', 'work',
                                 'primary', true)
       FROM generate_series(1, :n) AS n""",
    """INSERT INTO scim_groups (id, directory_id, display_name, attributes, version,
              created_at, updated_at)
       VALUES ('g-big', :dir, 'Everyone', '{}'::jsonb, 1, now(), now())""",
    """INSERT INTO group_members (group_id, member_id, member_type, added_at)
       SELECT 'g-big', md5('s' || n)::uuid::text, 'User', now()
       FROM generate_series(1, :members) AS n""",
]


def scim_id(n: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"s{n}".encode()).hexdigest()))


def load(live: Live, users: int, members: int) -> float:
    engine = create_engine(live.database_url)
    started = time.perf_counter()
    with engine.begin() as conn:
        directory = conn.execute(
            text("SELECT id FROM directories WHERE org_id = :o"), {"o": live.org_id}
        ).scalar_one()
        for statement in LOAD:
            conn.execute(
                text(statement),
                {"n": users, "org": live.org_id, "dir": directory, "members": members},
            )
    # Steady state, as autovacuum keeps a live database: statistics and visibility map.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def rss_mib(pid: int) -> float:
    """Resident memory of the gunicorn arbiter and its workers."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if proc.name == str(pid) or fields.get("PPid", "").strip() == str(pid):
            total += int(fields.get("VmRSS", "0 kB").split()[0])
    return total / 1024


def timed(n: int, call: Callable[[int], requests.Response], expect: int) -> list[float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        response = call(i)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != expect:
            raise RuntimeError(
                f"{response.request.method} {response.url}: "
                f"{response.status_code} {response.text[:300]}"
            )
    return samples


def scenarios(live: Live, users: int, rng: random.Random) -> dict[str, Callable[[int], Any]]:
    http = requests.Session()
    http.headers.update(
        {"Authorization": f"Bearer {live.token}", "Content-Type": "application/scim+json"}
    )
    base = live.base_url
    pick = lambda: rng.randint(1, users)  # noqa: E731
    newcomer = iter(range(users + 1, users + 10**7))
    # Users outside the big group, to add and remove one at a time.
    spares = [
        http.post(
            f"{base}/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"spare{i}@bench.example",
            },
        ).json()["id"]
        for i in range(3)
    ]

    def member_change(i: int) -> requests.Response:
        op = "add" if i % 2 == 0 else "remove"
        spare = spares[(i // 2) % len(spares)]
        body = (
            {"op": "add", "path": "members", "value": [{"value": spare}]}
            if op == "add"
            else {"op": "remove", "path": f'members[value eq "{spare}"]'}
        )
        return http.patch(
            f"{base}/Groups/g-big", json={"schemas": [PATCH_OP], "Operations": [body]}
        )

    return {
        "filter userName eq": lambda i: http.get(
            f"{base}/Users", params={"filter": f'userName eq "USER{pick()}@bench.example"'}
        ),
        "filter externalId eq": lambda i: http.get(
            f"{base}/Users", params={"filter": f'externalId eq "ext-{pick()}"'}
        ),
        "filter emails.value eq": lambda i: http.get(
            f"{base}/Users",
            params={"filter": f'emails[type eq "work"].value eq "user{pick()}@bench.example"'},
        ),
        "GET /Users/{id}": lambda i: http.get(f"{base}/Users/{scim_id(pick())}"),
        "PATCH user displayName": lambda i: http.patch(
            f"{base}/Users/{scim_id(pick())}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"n{i}"}],
            },
        ),
        "PATCH user active false/true": lambda i: http.patch(
            f"{base}/Users/{scim_id(pick())}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "value": {"active": i % 2 == 1}}],
            },
        ),
        "POST user": lambda i: http.post(
            f"{base}/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"user{next(newcomer)}@bench.example",
            },
        ),
        "group add/remove one member": member_change,
        "GET group excludedAttributes=members": lambda i: http.get(
            f"{base}/Groups/g-big", params={"excludedAttributes": "members"}
        ),
        "list page 1 (count=100)": lambda i: http.get(
            f"{base}/Users", params={"startIndex": 1, "count": 100}
        ),
        "list page at the middle": lambda i: http.get(
            f"{base}/Users", params={"startIndex": max(1, users // 2), "count": 100}
        ),
        "list last page": lambda i: http.get(
            f"{base}/Users", params={"startIndex": max(1, users - 99), "count": 100}
        ),
    }


EXPECT = {"POST user": 201, "group add/remove one member": 204}


def run(spec: str, users: int, members: int, requests_per: int) -> dict[str, Any]:
    rng = random.Random(users)
    with throwaway_database(spec) as url, live_server(url, workers=2) as live:
        seconds = load(live, users, members)
        before = rss_mib(live.pid)
        results = {}
        for name, call in scenarios(live, users, rng).items():
            timed(5, call, EXPECT.get(name, 200))  # warm the workers' caches
            samples = timed(requests_per, call, EXPECT.get(name, 200))
            results[name] = (statistics.median(samples), statistics.quantiles(samples, n=20)[18])
        after = rss_mib(live.pid)
    return {
        "users": users,
        "members": members,
        "load_s": seconds,
        "results": results,
        "rss_before": before,
        "rss_after": after,
    }


def report(small: dict[str, Any], large: dict[str, Any]) -> str:
    lines = [
        "# Benchmark",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `scripts/bench.py` on this project's "
        "2-core machine: PostgreSQL 15 (throw-away cluster, fsync off), `scim-server serve` "
        "with 2 gunicorn workers, one request at a time over loopback.",
        "",
        f"Sizes: {small['users']:,} users vs {large['users']:,} users; the big group has "
        f"{large['members']:,} members (loaded in {large['load_s']:.0f} s).",
        "",
        f"| request | median @ {small['users']:,} | p95 @ {small['users']:,} | "
        f"median @ {large['users']:,} | p95 @ {large['users']:,} |",
        "|---|---|---|---|---|",
    ]
    for name, (med, p95) in small["results"].items():
        big_med, big_p95 = large["results"][name]
        lines.append(
            f"| {name} | {med:.1f} ms | {p95:.1f} ms | {big_med:.1f} ms | {big_p95:.1f} ms |"
        )
    lines += [
        "",
        f"Server memory (arbiter + workers, RSS): {small['rss_before']:.0f} → "
        f"{small['rss_after']:.0f} MiB at {small['users']:,} users; {large['rss_before']:.0f}"
        f" → {large['rss_after']:.0f} MiB at {large['users']:,} users.",
        "",
        "List pages must report an exact `totalResults` and accept any `startIndex`, so they "
        "count and skip over the live-listing index (index-only, no joins); that part grows "
        "with the directory. Every single-resource request is an indexed lookup.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (server to use)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--group-members", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    small = run(args.database, args.small, min(args.small, args.group_members), args.requests)
    large = run(args.database, args.users, min(args.users, args.group_members), args.requests)
    text_report = report(small, large)
    print(text_report)
    if args.markdown:
        args.markdown.write_text(text_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
