"""The benchmark's ratio table (scripts/bench_report.py): each phase is held against the
ceiling endpoint of its own kind, on its own store, and the ceiling against the peer."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from bench_http import Stats  # noqa: E402
from bench_report import ratios_table  # noqa: E402
from bench_workload import PHASES  # noqa: E402
from bench_workload import Result  # noqa: E402


def _rps(value: float) -> Stats:
    return Stats(requests=int(value), seconds=1.0, latencies_ms=[1.0], client_cpu_us=0.0)


def _row(table: list[str], phase: str, level: int) -> list[str]:
    line = next(r for r in table if r.startswith(f"| {phase} | {level} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][2:]


def test_each_phase_is_held_against_its_own_kind_of_ceiling_on_its_own_store() -> None:
    post, get, patch = PHASES[0], PHASES[2], PHASES[3]
    results = {
        "sqlite": Result(
            "sqlite", {(post, 1): _rps(300), (get, 1): _rps(800), (patch, 1): _rps(400)}
        ),
        "postgresql": Result("postgresql", {(get, 1): _rps(500)}),
        "peer": Result("peer", {(post, 1): _rps(500), (get, 1): _rps(400), (patch, 1): _rps(800)}),
    }
    ceilings = {
        "ceiling": Result(
            "ceiling",
            {("create", 1): _rps(1000), ("row", 1): _rps(1600), ("insert", 1): _rps(2000)},
        ),
        "ceiling-pg": Result("ceiling", {("row", 1): _rps(1000)}),
    }
    table = ratios_table({**results, **ceilings}, ceilings)

    # ours ÷ peer, ours ÷ its ceiling, ceiling ÷ peer
    assert _row(table, post, 1) == ["0.60×", "–", "0.30×", "–", "2.00×", "–"]
    assert _row(table, get, 1) == ["2.00×", "1.25×", "0.50×", "0.50×", "4.00×", "2.50×"]
    assert _row(table, patch, 1) == ["0.50×", "–", "0.20×", "–", "2.50×", "–"]
