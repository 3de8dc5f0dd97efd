"""Slow and idle clients against the live server (``scim-server serve``, 2 workers).

Clients that dribble a request line, trickle a body or connect and send nothing must not
take the service from everyone else: other clients keep getting answers within a second
(the gunicorn ``sync`` worker fails this with four such sockets; docs/benchmark.md).
Each scenario is bounded in time and talks only to the loopback server it started.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator

import pytest
import requests

from tests.live_server import Live
from tests.live_server import live_server
from tests.live_server import throwaway_database

# Enough slow sockets to pin every thread of both workers (2 x 4) several times over.
SLOW_SOCKETS = 24
DURATION = 4.0
DRIP_INTERVAL = 0.2


@pytest.fixture(scope="module", params=[None, 4], ids=["loop", "4-threads"])
def live(request: pytest.FixtureRequest) -> Iterator[Live]:
    """The default worker (requests run by its I/O loop) and a pool of 4 threads each."""
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with throwaway_database(spec) as url, live_server(url, 2, request.param) as server:
        yield server


def _address(live: Live) -> tuple[str, int]:
    host_port = live.base_url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


def _drip(address: tuple[str, int], data: bytes, deadline: float) -> None:
    """Send ``data`` one byte at a time until the deadline (or the server hangs up)."""
    with socket.create_connection(address, timeout=DURATION + 5) as sock:
        for i in range(len(data)):
            if time.monotonic() >= deadline:
                return
            try:
                sock.send(data[i : i + 1])
            except OSError:
                return
            time.sleep(DRIP_INTERVAL)


def _dribble_request_line(address: tuple[str, int], deadline: float, _token: str) -> None:
    _drip(address, b"GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n" * 4, deadline)


def _trickle_body(address: tuple[str, int], deadline: float, token: str) -> None:
    head = (
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/scim+json\r\n"
        "Content-Length: 4096\r\n\r\n"
    ).encode()
    _drip(address, head + b"{" * 4096, deadline)


def _hold_idle(address: tuple[str, int], deadline: float, _token: str) -> None:
    with socket.create_connection(address, timeout=DURATION + 5):
        time.sleep(max(0.0, deadline - time.monotonic()))


Attack = Callable[[tuple[str, int], float, str], None]


def _served_latencies(live: Live, attack: Attack) -> list[float]:
    """Start the slow sockets, then time ordinary requests while they are held."""
    deadline = time.monotonic() + DURATION
    address = _address(live)
    threads = [
        threading.Thread(target=attack, args=(address, deadline, live.token), daemon=True)
        for _ in range(SLOW_SOCKETS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # every slow socket is connected and has started sending
    latencies: list[float] = []
    while time.monotonic() < deadline - 0.3:
        started = time.monotonic()
        try:
            response = requests.get(
                f"{live.base_url}/ServiceProviderConfig",
                headers={"Authorization": f"Bearer {live.token}"},
                timeout=5,
            )
            ok = response.status_code == 200
        except requests.RequestException:
            ok = False
        latencies.append(time.monotonic() - started if ok else float("inf"))
        time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=DURATION + 5)
    return latencies


@pytest.mark.parametrize(
    "attack",
    [_dribble_request_line, _trickle_body, _hold_idle],
    ids=["dribbled-request-line", "trickled-body", "idle-connections"],
)
def test_slow_clients_leave_others_served_within_a_second(live: Live, attack: Attack) -> None:
    latencies = _served_latencies(live, attack)
    assert len(latencies) >= 10, f"only {len(latencies)} requests got through in {DURATION} s"
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
