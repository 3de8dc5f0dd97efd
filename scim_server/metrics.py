"""Prometheus metrics: request counts and latencies per route, summed across workers.

gunicorn runs several worker processes and a scrape reaches one of them, so every worker
writes its samples to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode) and the worker that answers ``/metrics`` adds up all the files.
``scim-server serve`` creates that directory before any worker starts and gunicorn's
``child_exit`` hook retires the files of a worker that died (both in
``scim_server/server.py``). Without the variable (tests, the SDK, a single
process) the samples live in this process's default registry.

Labels are the route *template* (``/scim/v2/Users/<resource_id>``, never the id), the
method (HTTP's own methods; any other is ``OTHER``) and the status, so the number of series
is bounded by the routes, not by the users or by what a client sends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import REGISTRY
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from scim_server.errors import route_template
from scim_server.storage.ops_stats import MemberCounts

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by scim_server/server.py
# A request that matched no route (a 404 for an unknown path) is counted under this label,
# so scanners probing random paths cannot create one series per path.
UNMATCHED = "<unmatched>"
# The method label takes the methods HTTP defines; any other token a client sends (an
# unauthenticated ``XYZ1 /``, ``XYZ2 /`` …) is counted as OTHER, not as a series of its own.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "OTHER"

REQUESTS = Counter(
    "scim_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ("route", "method", "status"),
)
LATENCY = Histogram(
    "scim_http_request_duration_seconds",
    "Time from the request reaching the app to the response leaving it.",
    ("route", "method"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def init_app(app: Flask) -> None:
    """Time and count every request of ``app``."""
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    route = route_template() if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
    count, latency = _series(route, method, response.status_code)
    count.inc()
    if started is not None:
        latency.observe(time.perf_counter() - started)
    return response


@lru_cache(maxsize=1024)
def _series(route: str, method: str, status: int) -> tuple[Any, Any]:
    """The two series of a (route, method, status), looked up once: ``labels()`` checks
    and locks on every call. Bounded like the series themselves: routes, methods, statuses."""
    return REQUESTS.labels(route, method, str(status)), LATENCY.labels(route, method)


def exposition(members: MemberCounts) -> Response:
    """The text format: every worker's request metrics plus the business gauges."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    business = CollectorRegistry()
    business.register(_BusinessGauges(members))
    body = generate_latest(registry) + generate_latest(business)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


class _BusinessGauges(Collector):
    """Members by lifecycle state and seats in use, read from the database at scrape time
    (one grouped count; gauges kept in worker memory would disagree between workers)."""

    def __init__(self, members: MemberCounts) -> None:
        self.members = members

    def collect(self) -> Iterable[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "scim_members",
            "Current memberships by directory state and admin override, all organisations.",
            labels=("directory_state", "admin_override"),
        )
        for (directory_state, admin_override), count in sorted(self.members.by_state.items()):
            by_state.add_metric((directory_state, admin_override), count)
        yield by_state
        yield GaugeMetricFamily(
            "scim_seats_used",
            "Memberships that count as a seat (docs/lifecycle.md), all organisations.",
            value=self.members.seats_used,
        )
        yield GaugeMetricFamily(
            "scim_organizations", "Organisations on this server.", value=self.members.organizations
        )
