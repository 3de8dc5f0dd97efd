"""The Okta/Entra-shaped workload, the ceiling, worker classes, and 1,000,000 users."""

import contextlib
import hashlib
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from bench_http import GROUP_SCHEMA
from bench_http import LEVELS
from bench_http import PAGE
from bench_http import PATCH_OP
from bench_http import USER_SCHEMA
from bench_http import Client
from bench_http import Stats
from bench_http import Task
from bench_http import Turns
from bench_http import Wrong
from bench_http import expect
from bench_http import line
from bench_http import merged
from bench_http import run_blocks
from bench_http import run_tasks
from bench_targets import BIN
from bench_targets import Target
from bench_targets import ceiling
from bench_targets import free_port
from bench_targets import ours
from bench_targets import prepare_ours
from bench_targets import rss_mib
from bench_targets import serving
from bench_targets import throwaway_postgres

# --------------------------------------------------------------------------- the workload


def user_name(n: int) -> str:
    return f"user{n}@bench.example"


def new_user(n: int) -> dict[str, Any]:
    """What Okta and Entra POST: userName, externalId, name, one work email, active."""
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name(n),
        "externalId": f"ext-{n}",
        "active": True,
        "displayName": f"User {n}",
        "name": {"givenName": "User", "familyName": str(n)},
        "emails": [{"value": user_name(n), "type": "work", "primary": True}],
    }


def active_patch(value: bool) -> dict[str, Any]:
    """Entra's shape: capitalised op, the boolean as a string."""
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": str(value)}],
    }


def member_patch(op: str, member: str) -> dict[str, Any]:
    operation: dict[str, Any] = (
        {"op": "add", "path": "members", "value": [{"value": member}]}
        if op == "add"
        else {"op": "remove", "path": f'members[value eq "{member}"]'}
    )
    return {"schemas": [PATCH_OP], "Operations": [operation]}


@dataclass
class Sizes:
    users: int
    requests: int  # per phase and concurrency level
    budget_s: float = 0  # per phase and level; 0 = no limit


@dataclass
class Result:
    """One target's figures: (phase, concurrency) -> Stats, or the reason the phase failed."""

    target: str
    stats: dict[tuple[str, int], Stats | str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rss_mib: float = 0.0
    processes: int = 0


PHASES = [
    "POST /Users",
    "GET /Users?filter=userName eq",
    "GET /Users/{id}",
    "PATCH active false/true",
    "list walk, page of 100",
    "group add/remove one member",
    "GET group excludedAttributes=members",
]


# Timed blocks per phase at concurrency 1 when targets take turns (``Turns``). At 8, one:
# eight clients starting together at every block meet the peer's listen backlog of 5 (its
# wsgiref server answers HTTP/1.0, so every request reconnects), and a dropped connect
# waits a second for the kernel's retry, once per block (measured: 91 /s in ten blocks,
# 224 in four, 775 in one).
BLOCKS = 10


class Workload:
    """The same requests, in the same order, against one SCIM target.

    With ``turns``, every timed phase runs in ``BLOCKS`` blocks and the turn passes to the
    next target after each, so the targets of one run are measured side by side in time.
    """

    def __init__(
        self, target: Target, sizes: Sizes, result: Result, turns: Turns | None = None
    ) -> None:
        self.t = target
        self.sizes = sizes
        self.result = result
        self.turns = turns
        self.ids: dict[int, str] = {}
        self.rng = random.Random(20_000)
        self.client = Client(target.base, target.token)
        self.group_id = ""
        self.members: list[int] = []
        self.spares: list[int] = []

    def measure(
        self,
        phase: str,
        tasks_for: Callable[[int], list[Task]],
        check: Callable[[Stats], str | None] | None = None,
    ) -> None:
        """Time ``tasks_for(level)`` at each concurrency level; ``check`` runs untimed after."""
        name = self.result.target
        for level in LEVELS:
            try:
                tasks = tasks_for(level)
                blocks = BLOCKS if self.turns and level == 1 else 1
                budget = self.sizes.budget_s
                stats = run_blocks(
                    self.t.base, self.t.token, tasks, level, budget, blocks, self.hand_on
                )
                problem = check(stats) if check else None
                if problem:
                    raise Wrong(problem)
            except Wrong as exc:
                self.result.stats[(phase, level)] = f"WRONG: {exc}"
                print(f"  {name}: {phase} C={level}: WRONG: {exc}", file=sys.stderr, flush=True)
                continue
            self.result.stats[(phase, level)] = stats
            print(f"  {name}: {phase} C={level}: {line(stats)}", flush=True)

    def hand_on(self) -> None:
        """After a timed block: the next target's turn, then ours again."""
        if self.turns is not None:
            self.turns.pass_on(self.result.target)
            self.turns.take(self.result.target)

    # ---- POST, then the rest of the directory through the same endpoint
    def post(self, n: int) -> Task:
        def task(client: Client) -> None:
            body = expect(*client.call("POST", "/Users", new_user(n)), 201, "POST /Users")
            if body.get("userName") != user_name(n) or not body.get("id"):
                raise Wrong(f"POST /Users returned {str(body)[:200]}")
            self.ids[n] = body["id"]

        return task

    def phase_post(self) -> None:
        r = self.sizes.requests
        next_n = iter(range(10**9))
        self.measure("POST /Users", lambda level: [self.post(next(next_n)) for _ in range(r)])
        rest = [self.post(n) for n in range(2 * r, self.sizes.users)]
        started = time.perf_counter()
        run_tasks(self.t.base, self.t.token, rest, 8)
        self.result.notes.append(
            f"{self.sizes.users:,} users created through POST /Users in "
            f"{time.perf_counter() - started + sum(self.timed('POST /Users')):.0f} s"
        )
        if len(self.ids) != self.sizes.users:
            raise Wrong(f"created {len(self.ids)} users, expected {self.sizes.users}")

    def timed(self, phase: str) -> list[float]:
        return [
            s.seconds
            for (p, _), s in self.result.stats.items()
            if p == phase and isinstance(s, Stats)
        ]

    def pick(self) -> int:
        return self.rng.randrange(self.sizes.users)

    # ---- lookups
    def phase_filter(self) -> None:
        def lookup(n: int) -> Task:
            def task(client: Client) -> None:
                status, body = client.call(
                    "GET", "/Users", query={"filter": f'userName eq "{user_name(n)}"'}
                )
                body = expect(status, body, 200, "filter")
                found = body.get("Resources") or []
                if body.get("totalResults") != 1 or [u.get("id") for u in found] != [self.ids[n]]:
                    raise Wrong(f"filter userName eq {user_name(n)}: {str(body)[:200]}")

            return task

        self.measure(
            PHASES[1], lambda level: [lookup(self.pick()) for _ in range(self.sizes.requests)]
        )

    def phase_get(self) -> None:
        def get(n: int) -> Task:
            def task(client: Client) -> None:
                body = expect(*client.call("GET", f"/Users/{self.ids[n]}"), 200, "GET user")
                if body.get("id") != self.ids[n] or body.get("userName") != user_name(n):
                    raise Wrong(f"GET /Users/{self.ids[n]}: {str(body)[:200]}")

            return task

        self.measure(
            PHASES[2], lambda level: [get(self.pick()) for _ in range(self.sizes.requests)]
        )

    # ---- Entra's deactivate / reactivate
    def set_active(self, n: int, value: bool) -> Task:
        def task(client: Client) -> None:
            status, body = client.call("PATCH", f"/Users/{self.ids[n]}", active_patch(value))
            expect(status, body, (200, 204), "PATCH active")
            if status == 200 and body.get("active") is not value:
                raise Wrong(f"PATCH active {value}: answered active={body.get('active')!r}")

        return task

    def read_active(self, n: int) -> Any:
        body = expect(*self.client.call("GET", f"/Users/{self.ids[n]}"), 200, "GET user")
        return body.get("active")

    def phase_patch(self) -> None:
        # Untimed probe: the change must be visible to a later GET (a 204 proves nothing).
        probe = self.pick()
        for value in (False, True):
            self.set_active(probe, value)(self.client)
            if self.read_active(probe) is not value:
                self.result.stats[(PHASES[3], 1)] = f"WRONG: PATCH active {value} not stored"
                return
        pairs = self.sizes.requests // 2

        def tasks(level: int) -> list[Task]:
            chosen = self.rng.sample(range(self.sizes.users), pairs)
            return [self.set_active(n, v) for n in chosen for v in (False, True)]

        self.measure(PHASES[3], tasks)
        inactive = [
            n for n in self.rng.sample(range(self.sizes.users), 20) if not self.read_active(n)
        ]
        if inactive:
            self.result.notes.append(f"after PATCH false/true, users left inactive: {inactive}")

    # ---- list walk
    def phase_walk(self) -> None:
        total = self.sizes.users
        expected = set(self.ids.values())
        seen: set[str] = set()

        def page(start: int) -> Task:
            def task(client: Client) -> None:
                query = {"startIndex": start, "count": PAGE}
                body = expect(*client.call("GET", "/Users", query=query), 200, "list")
                got = [u["id"] for u in body.get("Resources") or []]
                if body.get("totalResults") != total or len(got) != min(PAGE, total - start + 1):
                    raise Wrong(
                        f"page startIndex={start}: totalResults={body.get('totalResults')}"
                        f" (expected {total}), {len(got)} resources"
                    )
                seen.update(got)

            return task

        def tasks(level: int) -> list[Task]:
            seen.clear()
            return [page(start) for start in range(1, total + 1, PAGE)]

        def check(stats: Stats) -> str | None:
            if seen == expected or (stats.cut and seen <= expected):
                return None
            return (
                f"the walk missed {len(expected - seen)} users, saw {len(seen - expected)} others"
            )

        self.measure(PHASES[4], tasks, check)

    # ---- a large group
    def build_group(self) -> None:
        spare_count = 2 * (self.sizes.requests // 2) + 1
        self.members = list(range(self.sizes.users - spare_count))
        self.spares = list(range(self.sizes.users - spare_count, self.sizes.users))
        body = expect(
            *self.client.call(
                "POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Everyone"}
            ),
            201,
            "POST /Groups",
        )
        self.group_id = body["id"]
        started = time.perf_counter()
        for i in range(0, len(self.members), 1000):
            batch = [{"value": self.ids[n]} for n in self.members[i : i + 1000]]
            patch = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": batch}],
            }
            expect(
                *self.client.call("PATCH", f"/Groups/{self.group_id}", patch),
                (200, 204),
                "add members",
            )
        self.result.notes.append(
            f"group of {len(self.members):,} members built by PATCH add (1,000 per request) "
            f"in {time.perf_counter() - started:.0f} s"
        )

    def member_ids(self) -> set[str]:
        body = expect(*self.client.call("GET", f"/Groups/{self.group_id}"), 200, "GET group")
        return {m["value"] for m in body.get("members") or []}

    def phase_group(self) -> None:
        self.build_group()
        everyone = {self.ids[n] for n in self.members}
        if self.member_ids() != everyone:
            self.result.stats[(PHASES[5], 1)] = "WRONG: the group does not hold its members"
            return
        # Untimed probe: an added member must really be there, and gone after remove.
        spare = self.ids[self.spares[-1]]
        for op, want in (("add", everyone | {spare}), ("remove", everyone)):
            expect(
                *self.client.call("PATCH", f"/Groups/{self.group_id}", member_patch(op, spare)),
                (200, 204),
                f"{op} member",
            )
            if self.member_ids() != want:
                self.result.stats[(PHASES[5], 1)] = f"WRONG: {op} of one member not stored"
                return

        def change(op: str, n: int) -> Task:
            def task(client: Client) -> None:
                status, body = client.call(
                    "PATCH", f"/Groups/{self.group_id}", member_patch(op, self.ids[n])
                )
                expect(status, body, (200, 204), f"group {op}")

            return task

        half = self.sizes.requests // 2
        pools = {1: self.spares[:half], 8: self.spares[half : 2 * half]}
        self.measure(
            PHASES[5],
            lambda level: [change(op, n) for n in pools[level] for op in ("add", "remove")],
        )
        if self.member_ids() != everyone:
            self.result.notes.append("WRONG: after add/remove pairs the group changed")
            self.result.stats[(PHASES[5], 8)] = "WRONG: members differ after add/remove pairs"

    def phase_group_get(self) -> None:
        def task(client: Client) -> None:
            query = {"excludedAttributes": "members"}
            body = expect(
                *client.call("GET", f"/Groups/{self.group_id}", query=query), 200, "GET group"
            )
            if body.get("id") != self.group_id or body.get("displayName") != "Everyone":
                raise Wrong(f"GET group: {str(body)[:200]}")
            if body.get("members"):
                raise Wrong("GET group excludedAttributes=members returned members")

        self.measure(PHASES[6], lambda level: [task] * self.sizes.requests)

    def warm(self) -> None:
        """Untimed: every worker has served a request (imports, schemas, pools) before timing."""

        def task(client: Client) -> None:
            expect(*client.call("GET", "/Users", query={"count": 1}), 200, "warm-up")

        run_tasks(self.t.base, self.t.token, [task] * 32, 8)

    def run(self) -> Result:
        """Every phase in order; with ``turns``, inside this target's turns."""
        name = self.result.target
        if self.turns is not None:
            self.turns.take(name)
        try:
            return self._phases()
        finally:
            if self.turns is not None:
                self.turns.leave(name)

    def _phases(self) -> Result:
        self.warm()
        for step in (
            self.phase_post,
            self.phase_filter,
            self.phase_get,
            self.phase_patch,
            self.phase_walk,
            self.phase_group,
            self.phase_group_get,
        ):
            step()
        self.result.rss_mib, self.result.processes = rss_mib(self.t.pid)
        self.client.close()
        return self.result


def run_ceiling(sizes: Sizes, workers: int, database: str | None = None) -> Result:
    """The ceiling's endpoints at every level, on ``database`` or a SQLite file."""
    result = Result("ceiling")
    with ceiling(sizes.users, workers, database) as target:
        rng = random.Random(1)

        def hello(client: Client) -> None:
            body = expect(*client.call("GET", "/hello"), 200, "hello")
            if body != {"hello": "world"}:
                raise Wrong(f"hello: {body}")

        def row(n: int) -> Task:
            def task(client: Client) -> None:
                body = expect(*client.call("GET", "/row", query={"name": user_name(n)}), 200, "row")
                if body.get("id") != n:
                    raise Wrong(f"row {n}: {body}")

            return task

        added = iter(range(sizes.users, sys.maxsize))

        def add_row(client: Client) -> None:
            n = next(added)
            body = {"name": f"new{n}@bench.example", "display": f"New {n}"}
            created = expect(*client.call("POST", "/row", body), 201, "insert row")
            if created.get("name") != body["name"] or not isinstance(created.get("id"), int):
                raise Wrong(f"insert row {n}: {created}")

        created = iter(range(sizes.users, sys.maxsize))

        def create(client: Client) -> None:
            n = next(created)
            body = expect(*client.call("POST", "/create", new_user(n)), 201, "create floor")
            if body.get("userName") != user_name(n) or not body.get("id"):
                raise Wrong(f"create floor {n}: {str(body)[:200]}")

        for level in LEVELS:
            result.stats[("hello", level)] = run_tasks(
                target.base, None, [hello] * sizes.requests, level
            )
            print(f"  Flask hello C={level}: {line(result.stats[('hello', level)])}", flush=True)
            tasks = [row(rng.randrange(sizes.users)) for _ in range(sizes.requests)]
            result.stats[("row", level)] = run_tasks(target.base, None, tasks, level)
            print(f"  ORM row C={level}: {line(result.stats[('row', level)])}", flush=True)
            result.stats[("insert", level)] = run_tasks(
                target.base, None, [add_row] * sizes.requests, level
            )
            print(f"  ORM insert C={level}: {line(result.stats[('insert', level)])}", flush=True)
            result.stats[("create", level)] = run_tasks(
                target.base, None, [create] * sizes.requests, level
            )
            print(f"  create floor C={level}: {line(result.stats[('create', level)])}", flush=True)
        result.rss_mib, result.processes = rss_mib(target.pid)
    return result


# --------------------------------------------------------------------------- worker classes

WORKER_CLASSES = {
    "sync": ["-k", "sync"],
    "gthread (4 threads)": ["-k", "gthread", "--threads", "4", "--keep-alive", "30"],
    **{
        f"BufferingWorker ({n} thread{'s' if n > 1 else ''})": [
            *("-k", "scim_server.worker.BufferingWorker"),
            *("--threads", str(n), "--keep-alive", "30"),
        ]
        for n in (1, 2, 4)
    },
}


@dataclass
class Directory:
    """A SQLite database already holding an organisation and its users, to serve again."""

    url: str
    base: str
    token: str
    ids: dict[int, str]


def gunicorn_cmd(options: list[str], port: int) -> list[str]:
    """gunicorn on wsgi:app with `scim-server serve`'s settings except the worker class."""
    return [
        str(BIN / "gunicorn"),
        *options,
        *("--workers", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60"),
        *("--graceful-timeout", "10", "--access-logfile", "-", "wsgi:app"),
    ]


def seed_sqlite(url: str, sizes: Sizes) -> Directory:
    """A fresh directory of ``sizes.users`` users, created through POST (sync workers)."""
    port = free_port()
    info = prepare_ours(url, port)
    ready = f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig"
    with serving(gunicorn_cmd(WORKER_CLASSES["sync"], port), {"SCIM_DATABASE_URL": url}, ready):
        target = Target("ours", info["scim_base_url"], info["scim_token"], 0)
        load = Workload(target, Sizes(sizes.users, 0), Result("seed"))
        started = time.perf_counter()
        run_tasks(target.base, target.token, [load.post(n) for n in range(sizes.users)], 8)
        print(f"  seeded {sizes.users:,} users in {time.perf_counter() - started:.0f} s")
    return Directory(url, target.base, info["scim_token"], load.ids)


def workers_compare(sizes: Sizes, directory: Directory, rounds: int = 3) -> dict[str, Result]:
    """Our server on one SQLite directory under each gunicorn worker class: GET and PATCH.

    The classes take turns, ``rounds`` times, each round with a share of the requests, so a
    neighbour's load on a shared machine falls on every class alike rather than on one.
    """
    results = {label: Result(label) for label in WORKER_CLASSES}
    share = Sizes(sizes.users, max(10, sizes.requests // rounds), sizes.budget_s)
    for _ in range(rounds):
        for label, options in WORKER_CLASSES.items():
            port = free_port()
            base = urlsplit(directory.base)._replace(netloc=f"127.0.0.1:{port}").geturl()
            ready = f"http://127.0.0.1:{port}/scim/v2/ServiceProviderConfig"
            env = {"SCIM_DATABASE_URL": directory.url}
            with serving(gunicorn_cmd(options, port), env, ready) as pid:
                print(f" worker class {label}", flush=True)
                one = Result(label)
                work = Workload(Target("ours", base, directory.token, pid), share, one)
                work.ids = directory.ids
                work.warm()
                work.phase_get()
                work.phase_patch()
                merge(results[label], one, rss_mib(pid))
    return results


def merge(total: Result, one: Result, memory: tuple[float, int]) -> None:
    """Add one round's figures to the class's: requests, time and latencies pooled."""
    for key, stats in one.stats.items():
        before = total.stats.get(key)
        if isinstance(stats, str) or isinstance(before, str):
            total.stats[key] = stats if isinstance(stats, str) else before  # type: ignore[assignment]
        elif before is None:
            total.stats[key] = stats
        else:
            cpu = before.client_cpu_us * before.requests + stats.client_cpu_us * stats.requests
            total.stats[key] = Stats(
                before.requests + stats.requests,
                before.seconds + stats.seconds,
                before.latencies_ms + stats.latencies_ms,
                cpu / (before.requests + stats.requests),
                before.cut or stats.cut,
            )
    total.rss_mib = max(total.rss_mib, memory[0])
    total.processes = memory[1]


# --------------------------------------------------------------------------- 1,000,000 users

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
    return str(uuid.UUID(hashlib.md5(f"s{n}".encode()).hexdigest()))


def cursors_at_the_ends(client: Client, target: Target, total: int) -> tuple[str, str]:
    """An empty cursor (page 1) and the cursor of the last page of GET /Users (RFC 9865).

    Reaching the end by walking a million users would take a thousand requests, so the
    end cursor is the one the server would have issued there: the first page's cursor
    re-signed, with the server's default key, at the id before the last page.
    """
    from sqlalchemy import create_engine
    from sqlalchemy import text

    from scim_server.config import DEFAULTS
    from scim_server.scim import cursor

    body = expect(*client.call("GET", "/Users", query={"cursor": "", "count": PAGE}), 200, "p1")
    engine = create_engine(target.database_url)
    with engine.connect() as conn:
        directory = conn.execute(
            text("SELECT id FROM directories WHERE org_id = :o"), {"o": target.org_id}
        ).scalar_one()
        before_last = conn.execute(
            text(
                "SELECT id FROM scim_users WHERE directory_id = :d AND deleted_at IS NULL "
                "ORDER BY id LIMIT 1 OFFSET :k"
            ),
            {"d": directory, "k": total - PAGE - 1},
        ).scalar_one()
    engine.dispose()
    key = cursor.derive_key(DEFAULTS["TOKEN_PEPPER"])
    query = cursor.fingerprint("User", None, None, False)
    cursor.decode(key, body["nextCursor"], scope=directory, query=query, timeout=3600)
    end = cursor.encode(key, directory, query, cursor.Position("next", (before_last,)))
    return "", end


def load_set_based(target: Target, users: int, members: int) -> float:
    """Seed users 1..users and a group of the first ``members`` in a few statements."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(target.database_url)
    started = time.perf_counter()
    with engine.begin() as conn:
        directory: str = conn.execute(
            text("SELECT id FROM directories WHERE org_id = :o"), {"o": target.org_id}
        ).scalar_one()
        for statement in LOAD:
            conn.execute(
                text(statement),
                {"n": users, "org": target.org_id, "dir": directory, "members": members},
            )
    # Steady state, as autovacuum keeps a live database: statistics and visibility map.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


WARM = 6  # untimed requests before each phase: whole pairs (deactivate, reactivate)
SCALE_MIN_REQUESTS = 4 * (WARM + 2 * BLOCKS)  # a list phase (a quarter) fills every block


def in_blocks(tasks: list[Task], blocks: int) -> list[list[Task]]:
    """``tasks`` cut into ``blocks`` consecutive slices of whole pairs (a deactivation
    and its reactivation, an add and its remove), as even as pairs allow; an odd last task
    goes with the last slice."""
    pairs, rest = divmod(len(tasks) // 2, blocks)
    out, start = [], 0
    for block in range(blocks):
        size = 2 * (pairs + (block < rest))
        out.append(tasks[start : start + size])
        start += size
    out[-1] = out[-1] + tasks[start:]
    return out


@dataclass
class Scale:
    """One directory size, served and loaded, with its timed requests by phase."""

    target: Target
    result: Result
    cases: dict[str, list[Task]]


def at_scales(server_url: str, sizes: list[tuple[int, int]], requests: int) -> list[Result]:
    """Single requests and list pages at each (users, group members) size, PostgreSQL, 4
    workers, C=1: every size loaded and served at once, then each phase measured in
    ``BLOCKS`` blocks per size taking turns (the first size alternating), so that the
    ratio of two sizes compares requests made within seconds of each other, not minutes
    apart on a machine whose speed drifts."""
    with contextlib.ExitStack() as stack:
        scales = [_scale(stack, server_url, users, members, requests) for users, members in sizes]
        for name in scales[0].cases:
            for scale in scales:  # warm the workers, with whole pairs
                run_tasks(scale.target.base, scale.target.token, scale.cases[name][:WARM], 1)
            blocks = [in_blocks(scale.cases[name][WARM:], BLOCKS) for scale in scales]
            parts: dict[int, list[Stats]] = {i: [] for i in range(len(scales))}
            failed: dict[int, str] = {}
            for block in range(BLOCKS):
                order = list(range(len(scales)))
                for i in order if block % 2 == 0 else order[::-1]:
                    if i in failed:
                        continue
                    try:
                        target = scales[i].target
                        parts[i].append(run_tasks(target.base, target.token, blocks[i][block], 1))
                    except Wrong as exc:
                        failed[i] = f"WRONG: {exc}"
            for i, scale in enumerate(scales):
                scale.result.stats[(name, 1)] = failed.get(i) or merged(parts[i])
                stats = scale.result.stats[(name, 1)]
                print(f"  {scale.result.target}: {name}: {line(stats)}", flush=True)
        for scale in scales:
            scale.result.rss_mib, scale.result.processes = rss_mib(scale.target.pid)
    return [scale.result for scale in scales]


def _scale(
    stack: contextlib.ExitStack, server_url: str, users: int, members: int, requests: int
) -> Scale:
    """A throw-away database of ``users`` and a ``members`` group, served by 4 workers
    (both closed with ``stack``), and the requests each phase times on it."""
    result = Result(f"{users:,}")
    url = stack.enter_context(throwaway_postgres(server_url))
    target = stack.enter_context(ours(url, 4))
    seconds = load_set_based(target, users, members)
    result.notes.append(f"loaded {users:,} users, {members:,} members in {seconds:.0f} s")
    rng = random.Random(users)

    def pick() -> int:
        return rng.randint(1, users)

    work = Workload(target, Sizes(users, requests), result)
    spares = [
        expect(*work.client.call("POST", "/Users", new_user(users + 1 + i)), 201, "spare")["id"]
        for i in range(requests // 2)
    ]
    total = users + len(spares)

    def lookup(client: Client) -> None:
        n = pick()
        query = {"filter": f'userName eq "{user_name(n)}"'}
        body = expect(*client.call("GET", "/Users", query=query), 200, "filter")
        if [u["id"] for u in body.get("Resources") or []] != [scim_id(n)]:
            raise Wrong(f"filter {user_name(n)}: {str(body)[:200]}")

    def get(client: Client) -> None:
        n = pick()
        body = expect(*client.call("GET", f"/Users/{scim_id(n)}"), 200, "GET user")
        if body.get("userName") != user_name(n):
            raise Wrong(f"GET user {n}: {str(body)[:200]}")

    def patch(n: int, value: bool) -> Task:
        def task(client: Client) -> None:
            status, body = client.call("PATCH", f"/Users/{scim_id(n)}", active_patch(value))
            expect(status, body, (200, 204), "PATCH active")
            if status == 200 and body.get("active") is not value:
                raise Wrong(f"PATCH active {value}: {body.get('active')!r}")

        return task

    def page(start: int) -> Task:
        def task(client: Client) -> None:
            query = {"startIndex": start, "count": PAGE}
            body = expect(*client.call("GET", "/Users", query=query), 200, "list")
            got = len(body.get("Resources") or [])
            if body.get("totalResults") != total or got != min(PAGE, total - start + 1):
                raise Wrong(f"page {start}: totalResults {body.get('totalResults')}, {got}")

        return task

    def member(op: str, member_id: str) -> Task:
        def task(client: Client) -> None:
            status, body = client.call("PATCH", "/Groups/g-big", member_patch(op, member_id))
            expect(status, body, (200, 204), f"group {op}")

        return task

    def group_get(client: Client) -> None:
        query = {"excludedAttributes": "members"}
        body = expect(*client.call("GET", "/Groups/g-big", query=query), 200, "GET group")
        if body.get("id") != "g-big" or body.get("members"):
            raise Wrong(f"GET group: {str(body)[:200]}")

    first_cursor, end_cursor = cursors_at_the_ends(work.client, target, total)

    def cursor_page(token: str, last: bool) -> Task:
        def task(client: Client) -> None:
            query = {"cursor": token, "count": PAGE}
            body = expect(*client.call("GET", "/Users", query=query), 200, "cursor page")
            got = len(body.get("Resources") or [])
            if body.get("totalResults") != total or got != PAGE:
                raise Wrong(f"cursor page: totalResults {body.get('totalResults')}, {got}")
            if ("nextCursor" in body) == last:
                raise Wrong(f"cursor page: nextCursor {'on' if last else 'missing from'} it")

        return task

    newcomer = iter(range(users + 10_000, users + 10**8))
    cases: dict[str, list[Task]] = {
        "GET /Users?filter=userName eq": [lookup] * requests,
        "GET /Users/{id}": [get] * requests,
        "PATCH active false/true": [
            patch(n, v)
            for n in rng.sample(range(1, users + 1), requests // 2)
            for v in (False, True)
        ],
        "group add/remove one member": [member(op, s) for s in spares for op in ("add", "remove")],
        "GET group excludedAttributes=members": [group_get] * requests,
        "list page 1": [page(1)] * (requests // 4),
        "list page at the middle": [page(max(1, total // 2))] * (requests // 4),
        "list last page": [page(max(1, total - PAGE + 1))] * (requests // 4),
        "cursor page 1": [cursor_page(first_cursor, False)] * (requests // 4),
        "cursor page at the end": [cursor_page(end_cursor, True)] * (requests // 4),
        "POST /Users": [work.post(next(newcomer)) for _ in range(requests)],
    }
    return Scale(target, result, cases)
