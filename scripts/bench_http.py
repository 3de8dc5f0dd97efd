"""The benchmark's HTTP client and timer: keep-alive connections, C threads, checked answers."""

import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LEVELS = (1, 8)
PAGE = 100


class Wrong(Exception):
    """A response that is not the right answer: the phase fails instead of being timed."""


# --------------------------------------------------------------------------- HTTP client


class Client:
    """One keep-alive HTTP/1.1 connection on a bare socket (reopened when the server closes it).

    Half the CPU of ``http.client`` per request (measured against Flask hello: ~90 vs ~180
    µs), so the client stays a small share of every figure. It understands exactly what the
    servers under test send: Content-Length, chunked, or a body up to the close (HTTP/1.0).
    """

    def __init__(self, base: str, token: str | None) -> None:
        parts = urlsplit(base)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.prefix = parts.path.rstrip("/")
        self.sock: socket.socket | None = None
        self.reader: Any = None
        self.fixed = f"Host: {self.address[0]}:{self.address[1]}\r\n"
        self.fixed += "Accept: application/scim+json, application/json\r\n"
        if token:
            self.fixed += f"Authorization: Bearer {token}\r\n"

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        url = self.prefix + path
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        data = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {url} HTTP/1.1\r\n{self.fixed}"
        if body is not None:
            head += f"Content-Type: application/scim+json\r\nContent-Length: {len(data)}\r\n"
        request = (head + "\r\n").encode() + data
        for attempt in (1, 2):
            reused = self.sock is not None
            try:
                status, raw = self._exchange(request)
                break
            except (ConnectionError, EOFError):
                # A keep-alive connection the server had already closed: once more, fresh.
                self.close()
                if attempt == 2 or not reused:
                    raise
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def connect(self) -> None:
        """Open the connection now (``call`` opens it on first use otherwise)."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=300)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")

    def _exchange(self, request: bytes) -> tuple[int, bytes]:
        self.connect()
        assert self.sock is not None
        self.sock.sendall(request)
        status_line = self.reader.readline()
        if not status_line:
            raise EOFError("connection closed before the response")
        version, status = status_line.split(b" ", 2)[:2]
        headers: dict[bytes, bytes] = {}
        while True:
            line = self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
        if b"content-length" in headers:
            raw = self.reader.read(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            raw = self._chunked()
        else:
            raw = self.reader.read()
            headers[b"connection"] = b"close"
        connection = headers.get(b"connection", b"").lower()
        if connection == b"close" or (version == b"HTTP/1.0" and connection != b"keep-alive"):
            self.close()
        return int(status), raw

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.reader.readline().split(b";")[0], 16)
            if size == 0:
                while self.reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.reader.read(size))
            self.reader.readline()

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
        self.sock = None


def expect(status: int, body: Any, want: int | tuple[int, ...], what: str) -> Any:
    wanted = want if isinstance(want, tuple) else (want,)
    if status not in wanted:
        raise Wrong(f"{what}: HTTP {status}, expected {wanted}: {str(body)[:300]}")
    return body


# --------------------------------------------------------------------------- timing

Task = Callable[[Client], None]


@dataclass
class Stats:
    requests: int
    seconds: float
    latencies_ms: list[float]
    client_cpu_us: float  # this process's CPU per request: the client's own cost
    cut: bool = False  # stopped at the time budget before every task ran

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def run_tasks(
    base: str, token: str | None, tasks: list[Task], concurrency: int, budget_s: float = 0
) -> Stats:
    """Run ``tasks`` on ``concurrency`` threads, each with its own connection.

    Each thread takes a contiguous slice of an even length, so paired tasks (deactivate then
    reactivate the same user, add then remove the same member) stay in order on one thread.
    With ``budget_s``, threads stop taking tasks (after a whole pair) once it is spent, so a
    peer that needs seconds per request does not hold the run for an hour.
    """
    size = 2 * math.ceil(len(tasks) / concurrency / 2)
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    latencies: list[list[float]] = [[] for _ in chunks]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(chunks) + 1)
    cut: list[bool] = []
    deadline = [math.inf]

    def worker(index: int) -> None:
        client = Client(base, token)
        # Connected before the clock starts: the figures are of keep-alive requests, and a
        # server with a short listen backlog (the peer's wsgiref: 5) drops some of eight
        # simultaneous connects, which the kernel retries a second later.
        client.connect()
        barrier.wait()
        try:
            for position, task in enumerate(chunks[index]):
                if position % 2 == 0 and time.perf_counter() > deadline[0]:
                    cut.append(True)
                    break
                started = time.perf_counter()
                task(client)
                latencies[index].append((time.perf_counter() - started) * 1000)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(chunks))]
    for thread in threads:
        thread.start()
    cpu = time.process_time()
    barrier.wait()
    started = time.perf_counter()
    if budget_s:
        deadline[0] = started + budget_s
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if errors:
        raise errors[0]
    flat = [x for chunk in latencies for x in chunk]
    return Stats(len(flat), seconds, flat, cpu / max(1, len(flat)) * 1e6, bool(cut))


def run_blocks(
    base: str,
    token: str | None,
    tasks: list[Task],
    concurrency: int,
    budget_s: float,
    blocks: int,
    between: Callable[[], None],
) -> Stats:
    """``run_tasks`` over ``blocks`` slices of ``tasks`` (even lengths, so pairs stay
    whole), calling ``between()`` after each: the figures are those of the slices together.
    The time budget is shared out evenly; a slice cut by its share ends the run."""
    size = 2 * math.ceil(len(tasks) / blocks / 2)
    parts: list[Stats] = []
    for start in range(0, len(tasks), size):
        share = budget_s / blocks if budget_s else 0
        parts.append(run_tasks(base, token, tasks[start : start + size], concurrency, share))
        between()
        if parts[-1].cut:
            break
    return merged(parts)


def merged(parts: list[Stats]) -> Stats:
    """The figures of timed slices of one phase taken together."""
    requests = sum(p.requests for p in parts)
    return Stats(
        requests,
        sum(p.seconds for p in parts),
        [x for p in parts for x in p.latencies_ms],
        sum(p.client_cpu_us * p.requests for p in parts) / max(1, requests),
        any(p.cut for p in parts),
    )


class Turns:
    """One target at a time, in rotation: ``take`` waits for a target's turn and
    ``pass_on`` hands it to the next one.

    The side-by-side targets are all up at once, each driven by its own thread, and hand
    the turn on after every timed block (and hold it through their untimed work), so only
    one of them is ever busy and each phase of each target is measured within seconds of
    the others'. Measured one target after another, minutes apart, a machine whose speed
    drifts (a shared VM) moved the ratios by a third between two runs.
    """

    def __init__(self, names: list[str]) -> None:
        self._order = list(names)
        self._turn = 0
        self._changed = threading.Condition()

    def take(self, name: str) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._order[self._turn] == name)

    def pass_on(self, name: str) -> None:
        with self._changed:
            self._turn = (self._order.index(name) + 1) % len(self._order)
            self._changed.notify_all()

    def leave(self, name: str) -> None:
        """``name`` is done (or failed): the rotation goes on without it."""
        with self._changed:
            index = self._order.index(name)
            self._order.pop(index)
            if self._turn > index:
                self._turn -= 1
            self._turn = self._turn % len(self._order) if self._order else 0
            self._changed.notify_all()


def line(stats: Stats | str) -> str:
    if isinstance(stats, str):
        return stats
    return (
        f"{stats.rps:7.1f}/s  p50 {stats.pct(50):6.1f}  p95 {stats.pct(95):6.1f}  "
        f"p99 {stats.pct(99):6.1f} ms  (client {stats.client_cpu_us:.0f} µs CPU/req)"
    )
