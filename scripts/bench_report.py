"""docs/benchmark.md: the generated tables, written between markers that keep the prose."""

import os
import re
from datetime import UTC
from datetime import datetime
from pathlib import Path

from bench_http import LEVELS
from bench_http import Stats
from bench_workload import PHASES
from bench_workload import Result
from bench_workload import Sizes

# --------------------------------------------------------------------------- the report


def fmt_rps(stats: Stats | str | None) -> str:
    if stats is None:
        return "–"
    if isinstance(stats, str):
        return "**wrong**"
    return f"{stats.rps:,.0f} /s"


def fmt_lat(stats: Stats | str | None) -> str:
    if not isinstance(stats, Stats):
        return "–"
    cut = f" (n={stats.requests}, time budget)" if stats.cut else ""
    return f"{stats.pct(50):.1f} / {stats.pct(95):.1f} / {stats.pct(99):.1f}{cut}"


def ratio(a: Stats | str | None, b: Stats | str | None) -> str:
    if not isinstance(a, Stats) or not isinstance(b, Stats) or not b.rps:
        return "–"
    return f"{a.rps / b.rps:.2f}×"


WRITES = (PHASES[0], PHASES[3], PHASES[5])  # POST, PATCH active, group member change
CEILINGS = (
    ("hello", "Flask hello"),
    ("row", "one-row SQLAlchemy lookup"),
    ("insert", "one-row SQLAlchemy insert + commit"),
    ("create", "a SCIM create's rows on our schema, raw Core, no SCIM logic"),
)


def side_by_side_block(
    results: dict[str, Result], sizes: Sizes, command: str, load: tuple[str, str]
) -> str:
    names = [n for n in ("sqlite", "postgresql", "peer") if n in results]
    heads = {
        "sqlite": "ours, SQLite, 2 workers",
        "postgresql": "ours, PostgreSQL, 4 workers",
        "peer": "scim2-server",
    }
    out = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}` "
        f"({sizes.users:,} users, {sizes.requests:,} requests per phase and concurrency; "
        f"{os.cpu_count()} CPUs; load average {load[0]} before, {load[1]} after).",
        "",
    ]
    if names:
        out += scim_targets_table(results, names, heads)
    ceilings = {k: results[k] for k in ("ceiling", "ceiling-pg") if k in results}
    if names and ("peer" in results or ceilings):
        out += ratios_table(results, ceilings)
    if ceilings:
        out += ceiling_table(ceilings)
        out += [client_note(ceilings.get("ceiling") or next(iter(ceilings.values()))), ""]
    notes = [f"{heads.get(n, n)}: {note}" for n in names for note in results[n].notes]
    wrong = [
        f"{heads.get(n, n)}, {phase} C={level}: {s}"
        for n in names
        for (phase, level), s in results[n].stats.items()
        if isinstance(s, str)
    ]
    if wrong:
        out += ["Phases that answered wrongly (not timed):", ""] + [f"- {w}" for w in wrong] + [""]
    if notes:
        out += ["Notes:", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(out)


def scim_targets_table(
    results: dict[str, Result], names: list[str], heads: dict[str, str]
) -> list[str]:
    """Throughput and latency of every SCIM target, phase by phase, and their memory."""
    out = [
        "Throughput, and latency p50 / p95 / p99 in ms (a list-walk request is one page of "
        "100; a group change is one add or one remove):",
        "",
        "| phase | C | "
        + " | ".join(f"{heads[n]}" for n in names)
        + " | "
        + " | ".join(f"{heads[n]} p50/p95/p99" for n in names)
        + " |",
        "|---|---|" + "---|" * (2 * len(names)),
    ]
    for phase in PHASES:
        for level in LEVELS:
            cells = [fmt_rps(results[n].stats.get((phase, level))) for n in names]
            lats = [fmt_lat(results[n].stats.get((phase, level))) for n in names]
            out.append(f"| {phase} | {level} | " + " | ".join(cells + lats) + " |")
    mem = ", ".join(
        f"{heads[n]} {results[n].rss_mib:.0f} MiB ({results[n].processes} processes)" for n in names
    )
    return out + ["", f"Server memory after the workload (RSS of every server process): {mem}.", ""]


CEILING_HEADS = {"ceiling": "SQLite, 2 workers", "ceiling-pg": "PostgreSQL, 4 workers"}


def ceiling_key(phase: str) -> str:
    """The ceiling endpoint a phase is held against: the create floor for POST, a one-row
    insert for the other writes, a one-row lookup for reads."""
    if phase == PHASES[0]:
        return "create"
    return "insert" if phase in WRITES else "row"


def ratios_table(results: dict[str, Result], ceilings: dict[str, Result]) -> list[str]:
    """Ours ÷ the peer and ÷ our own stack's ceiling; and the ceiling ÷ the peer, which is
    the most any server on this stack could be to the peer on this machine: a target above
    it is out of reach here, whatever the SCIM code does."""
    empty = Result("")

    def stat(name: str, key: tuple[str, int]) -> Stats | str | None:
        return results.get(name, empty).stats.get(key)

    out = [
        "Ratios of throughput (above 1× = faster than the peer). The ceiling is what this "
        "stack answers at most for the same kind of request (the create floor for POST, a "
        "one-row insert for the other writes, a one-row lookup for reads), on the same "
        "store; ceiling ÷ peer is then the most any server built on it could be to the peer "
        "on this machine:",
        "",
        "| phase | C | SQLite ÷ peer | PostgreSQL ÷ peer | SQLite ÷ its ceiling "
        "| PostgreSQL ÷ its ceiling | SQLite ceiling ÷ peer | PostgreSQL ceiling ÷ peer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        for level in LEVELS:
            key = (ceiling_key(phase), level)
            lite, pg, peer = (stat(n, (phase, level)) for n in ("sqlite", "postgresql", "peer"))
            lite_top, pg_top = (stat(n, key) for n in ("ceiling", "ceiling-pg"))
            cells = [
                ratio(lite, peer),
                ratio(pg, peer),
                ratio(lite, lite_top),
                ratio(pg, pg_top),
                ratio(lite_top, peer),
                ratio(pg_top, peer),
            ]
            out.append(f"| {phase} | {level} | " + " | ".join(cells) + " |")
    return out + [""]


def ceiling_table(ceilings: dict[str, Result]) -> list[str]:
    """Each ceiling endpoint on each store, under `scim-server serve`'s gunicorn settings."""
    heads = [CEILING_HEADS[k] for k in ceilings]
    out = [
        "Ceiling, same gunicorn settings as `scim-server serve`, throughput and p50/p95/p99 "
        "ms (client CPU per request in brackets):",
        "",
        "| endpoint | C | " + " | ".join(heads) + " |",
        "|---|---|" + "---|" * len(heads),
    ]
    for key, label in CEILINGS:
        for level in LEVELS:
            cells = []
            for result in ceilings.values():
                s = result.stats.get((key, level))
                cpu = f" ({s.client_cpu_us:.0f} µs)" if isinstance(s, Stats) else ""
                cells.append(f"{fmt_rps(s)}, {fmt_lat(s)}{cpu}")
            out.append(f"| {label} | {level} | " + " | ".join(cells) + " |")
    return out + [""]


def client_note(ceil: Result) -> str:
    """How much of the measurement is the client's own cost, measured against Flask hello."""
    parts = []
    for level in LEVELS:
        s = ceil.stats.get(("hello", level))
        if isinstance(s, Stats) and s.rps:
            wall_us = 1e6 / s.rps * level  # wall time of one request, as each thread saw it
            parts.append(
                f"at C={level} it spends {s.client_cpu_us:.0f} µs of CPU per hello request "
                f"({s.client_cpu_us / wall_us:.0%} of the request's wall time, "
                f"{s.client_cpu_us * s.rps / 1e6:.2f} of a core)"
            )
    return (
        "Client: one keep-alive HTTP/1.1 connection per thread (a bare-socket client), "
        "every response parsed and checked; "
        + "; ".join(parts)
        + ". Every SCIM request costs more than a hello, so "
        "the client's share of any SCIM figure is smaller still; on a machine with few cores "
        "it competes with the servers for CPU at C=8."
    )


def workers_block(results: dict[str, Result], sizes: Sizes, command: str) -> str:
    out = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`; our server on SQLite, "
        f"{sizes.users:,} users, 2 gunicorn workers, keep-alive clients, "
        f"{sizes.requests:,} requests per cell, in 3 rounds in which the classes take turns.",
        "",
        "| worker class | phase | C | throughput | p50/p95/p99 ms | memory |",
        "|---|---|---|---|---|---|",
    ]
    for label, result in results.items():
        for phase in (PHASES[2], PHASES[3]):
            for level in LEVELS:
                s = result.stats.get((phase, level))
                out.append(
                    f"| {label} | {phase} | {level} | {fmt_rps(s)} | {fmt_lat(s)} | "
                    f"{result.rss_mib:.0f} MiB |"
                )
    return "\n".join(out + [""])


def million_block(small: Result, large: Result, command: str) -> str:
    out = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{command}`; PostgreSQL (throw-away "
        "cluster, fsync off), `scim-server serve --workers 4`, one request at a time; users "
        "and the group seeded set-based, every request through HTTP; both sizes served at "
        "once and measured in turns, a tenth of each phase at a time.",
        "",
        f"| request | p50 @ {small.target} | p95 @ {small.target} | p50 @ {large.target} | "
        f"p95 @ {large.target} | p50 ratio |",
        "|---|---|---|---|---|---|",
    ]
    for (name, level), s in small.stats.items():
        big = large.stats.get((name, level))
        if isinstance(s, Stats) and isinstance(big, Stats):
            out.append(
                f"| {name} | {s.pct(50):.1f} ms | {s.pct(95):.1f} ms | {big.pct(50):.1f} ms | "
                f"{big.pct(95):.1f} ms | {big.pct(50) / s.pct(50):.2f}× |"
            )
        else:
            out.append(f"| {name} | {fmt_lat(s)} | | {fmt_lat(big)} | | wrong |")
    out += [
        "",
        f"Server memory (arbiter + 4 workers, RSS): {small.rss_mib:.0f} MiB at {small.target} "
        f"users, {large.rss_mib:.0f} MiB at {large.target} users.",
        "",
    ] + [f"- {note}" for note in small.notes + large.notes]
    return "\n".join(out + [""])


TEMPLATE = """# Benchmark

Generated by `make bench` / `make bench-quick` (`scripts/bench.sh`, `scripts/bench.py`); the
blocks between the `bench:` markers are rewritten by each run, the rest is kept.

## Side by side at the same size

<!-- bench:side-by-side:begin -->
<!-- bench:side-by-side:end -->

## Gunicorn worker classes

<!-- bench:workers:begin -->
<!-- bench:workers:end -->

## 1,000 vs 1,000,000 users

<!-- bench:million:begin -->
<!-- bench:million:end -->

## Interpretation

(hand-written)
"""


def write_block(path: Path, name: str, content: str) -> None:
    """Replace one generated block of ``path``, keeping every hand-written line around it."""
    text = path.read_text() if path.exists() else TEMPLATE
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    if begin not in text:
        text += f"\n{begin}\n{end}\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text, count=1))
