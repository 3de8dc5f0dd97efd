"""/metrics under real gunicorn workers: counters from every worker, whichever answers.

Also shows GUNICORN_CMD_ARGS reaching gunicorn (``--workers 3`` over serve's ``--workers 2``).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import requests

from tests.live_server import live_server
from tests.live_server import throwaway_database

TOKEN = "live-metrics-token-0123456789"
REQUESTS = 40
WANTED = {"route": "/scim/v2/Users", "method": "GET", "status": "200"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    multiproc = tmp_path_factory.mktemp("multiproc")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCIM_METRICS_TOKEN", TOKEN)
        patch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc))
        patch.setenv("GUNICORN_CMD_ARGS", "--workers 3")
        with throwaway_database(spec) as url, live_server(url, workers=2) as server:
            yield server, multiproc


def _children(pid: int) -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if re.search(rf"^PPid:\s+{pid}$", text, re.M):
            found.add(int(status.parent.name))
    return found


def _count(base: str) -> float:
    root = base.removesuffix("/scim/v2")
    response = requests.get(
        f"{root}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    for line in response.text.splitlines():
        if not line.startswith("scim_http_requests_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
        if labels == WANTED:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_gunicorn_cmd_args_sets_the_worker_count(live):
    """The server answers once one worker is up; on a busy machine the others may still
    be forking, so wait (bounded) for the count GUNICORN_CMD_ARGS asked for."""
    server, _ = live
    deadline = time.monotonic() + 20
    while len(_children(server.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_children(server.pid)) == 3


def test_every_scrape_sums_the_requests_of_all_workers(live):
    server, multiproc = live
    headers = {"Authorization": f"Bearer {server.token}", "Connection": "close"}
    before = _count(server.base_url)
    for _ in range(REQUESTS):
        # A new connection each time, so the kernel spreads them over the workers.
        response = requests.get(f"{server.base_url}/Users?count=1", headers=headers, timeout=10)
        assert response.status_code == 200
    writers = {p.stem.rsplit("_", 1)[1] for p in multiproc.glob("counter_*.db")}
    assert len(writers) >= 2, "the requests all reached one worker; nothing to sum"
    for _ in range(6):  # each scrape may land on any worker; all see the same sum
        assert _count(server.base_url) - before == REQUESTS
