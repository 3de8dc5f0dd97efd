"""The benchmark's rotation (scripts/bench_http.py): targets served side by side take turns,
one busy at a time, so their figures share the machine's state of the moment."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from bench_http import Stats  # noqa: E402
from bench_http import Turns  # noqa: E402
from bench_http import run_blocks  # noqa: E402
from bench_workload import in_blocks  # noqa: E402


def _drive(turns: Turns, name: str, blocks: int, log: list[tuple[str, str]]) -> None:
    turns.take(name)
    try:
        for block in range(blocks):
            log.append((name, f"start {block}"))
            time.sleep(0.002)  # a timed block: nobody else may run meanwhile
            log.append((name, f"end {block}"))
            turns.pass_on(name)
            turns.take(name)
    finally:
        turns.leave(name)


def test_targets_alternate_block_by_block_and_never_overlap() -> None:
    names = ["sqlite", "postgresql", "peer"]
    turns = Turns(names)
    log: list[tuple[str, str]] = []
    blocks = {"sqlite": 3, "postgresql": 3, "peer": 1}  # the peer leaves early
    threads = [
        threading.Thread(target=_drive, args=(turns, n, blocks[n], log)) for n in reversed(names)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)

    starts = [name for name, what in log if what.startswith("start")]
    assert starts == [
        "sqlite",
        "postgresql",
        "peer",
        "sqlite",
        "postgresql",
        "sqlite",
        "postgresql",
    ]
    # Every block ends before the next one starts.
    for (first, what), (second, then) in zip(log, log[1:], strict=False):
        if what.startswith("start"):
            assert (second, then) == (first, what.replace("start", "end"))


def _stats(requests: int, seconds: float, cut: bool = False) -> Stats:
    return Stats(requests, seconds, [seconds / requests * 1000] * requests, 100.0, cut)


def test_blocks_are_even_slices_and_their_figures_add_up(monkeypatch) -> None:
    import bench_http

    slices: list[int] = []

    def fake_run(base, token, tasks, concurrency, budget_s=0):  # noqa: ANN001, ANN202
        slices.append(len(tasks))
        return _stats(len(tasks), len(tasks) / 100)

    monkeypatch.setattr(bench_http, "run_tasks", fake_run)
    handed = []
    stats = run_blocks("http://x", None, [None] * 1000, 8, 60, 4, lambda: handed.append(1))

    assert slices == [250, 250, 250, 250]
    assert len(handed) == 4
    assert (stats.requests, round(stats.seconds, 6), len(stats.latencies_ms)) == (1000, 10.0, 1000)
    assert stats.rps == 100


def test_a_block_cut_by_its_time_budget_ends_the_phase(monkeypatch) -> None:
    import bench_http

    budgets: list[float] = []

    def fake_run(base, token, tasks, concurrency, budget_s=0):  # noqa: ANN001, ANN202
        budgets.append(budget_s)
        return _stats(10, 15.0, cut=len(budgets) == 2)

    monkeypatch.setattr(bench_http, "run_tasks", fake_run)
    stats = run_blocks("http://x", None, [None] * 1000, 1, 60, 4, lambda: None)

    assert budgets == [15, 15]  # the budget shared out, and no third block after the cut
    assert (stats.requests, stats.cut) == (20, True)


def test_a_scale_phase_is_cut_into_blocks_of_whole_pairs() -> None:
    """The million run's phases take turns a block at a time (scripts/bench_workload.py):
    every task runs once, in order, and a deactivation never waits a turn apart from its
    reactivation (nor an add from its remove)."""
    for count in (44, 45, 194, 200, 7):
        tasks = [lambda client, n=n: n for n in range(count)]
        blocks = in_blocks(tasks, 10)
        assert len(blocks) == 10
        assert [t for block in blocks for t in block] == tasks
        sizes = [len(block) for block in blocks]
        assert all(size % 2 == 0 for size in sizes[:-1])
        assert max(sizes[:-1]) - min(sizes[:-1]) <= 2  # as even as whole pairs allow
