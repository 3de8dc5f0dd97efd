"""The default worker runs each request in its I/O loop (scim_server/worker.py): pipelined
requests on one connection are each answered, in order, and a response larger than a
socket buffer arrives whole while other clients are served."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest
import requests

from tests.live_server import Live
from tests.live_server import live_server
from tests.live_server import throwaway_database

COPIES = 100


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with throwaway_database(spec) as url, live_server(url, workers=1) as server:
        yield server


def _address(live: Live) -> tuple[str, str, int]:
    host_port, path = live.base_url.split("//", 1)[1].split("/", 1)
    host, port = host_port.rsplit(":", 1)
    return "/" + path, host, int(port)


def _read_responses(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Read ``count`` Content-Length responses off one connection."""
    reader = sock.makefile("rb")
    out = []
    for _ in range(count):
        status = int(reader.readline().split()[1])
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        out.append((status, reader.read(length)))
    return out


def test_pipelined_requests_are_answered_in_order(live: Live) -> None:
    prefix, host, port = _address(live)
    auth = f"Authorization: Bearer {live.token}\r\n"
    paths = ["/ResourceTypes/User", "/Users?count=1", "/ResourceTypes/Group", "/Nope"]
    wire = "".join(f"GET {prefix}{p} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n" for p in paths)
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(wire.encode())
        answers = _read_responses(sock, len(paths))
    assert [status for status, _ in answers] == [200, 200, 200, 404]
    assert json.loads(answers[0][1])["id"] == "User"
    assert json.loads(answers[1][1])["totalResults"] == 0
    assert json.loads(answers[2][1])["id"] == "Group"


def test_a_large_response_arrives_whole_while_others_are_served(live: Live) -> None:
    prefix, host, port = _address(live)
    request = f"GET {prefix}/Schemas HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, port), timeout=10) as slow_reader:
        slow_reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        # 100 responses of ~22 KB queued on a reader that reads nothing yet: more than the
        # socket buffers and than waitress's 1 MB in-memory output buffer.
        slow_reader.sendall(request * COPIES)
        other = requests.get(f"{live.base_url}/ServiceProviderConfig", timeout=5)
        assert other.status_code == 200
        answers = _read_responses(slow_reader, COPIES)
    assert [status for status, _ in answers] == [200] * COPIES
    sizes = {len(body) for _, body in answers}
    assert len(sizes) == 1 and sizes.pop() * COPIES > 2 * 1024 * 1024, sizes
    assert all(json.loads(body)["totalResults"] >= 3 for _, body in answers)
