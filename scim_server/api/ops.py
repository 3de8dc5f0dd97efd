"""Operations endpoints: liveness, readiness and Prometheus metrics (README "Health and
metrics").

``/healthz`` and ``/readyz`` answer without credentials: a load balancer or orchestrator
probes them and they reveal nothing but up or down. ``/metrics`` needs the bearer token in
``SCIM_METRICS_TOKEN`` and is off (404) without one, because its gauges are business
figures (members, seats, organisations) that must not be readable by anyone who can reach
a public SCIM endpoint; Prometheus sends the token with ``authorization.credentials``.
"""

from __future__ import annotations

import hmac

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from scim_server import metrics
from scim_server.db import get_session
from scim_server.db import is_unavailable
from scim_server.errors import api_error_response
from scim_server.services.errors import ErrorCode
from scim_server.storage import migrate
from scim_server.storage.ops_stats import member_counts

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and serving; touches nothing else (no database, no files)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: the database answers and every migration is applied; else 503."""
    try:
        at_head = migrate.is_at_head(get_session().connection())
    except Exception as error:
        if not is_unavailable(error):
            raise
        return _not_ready("database_unreachable", "The database does not answer.")
    if not at_head:
        return _not_ready(
            "migrations_pending",
            "The database schema is behind this version; run `scim-server db upgrade`.",
        )
    return jsonify({"status": "ready"})


def _not_ready(status: str, detail: str) -> Response:
    response = jsonify({"status": status, "detail": detail})
    response.status_code = 503
    response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    """Request counters and latencies of every worker, and the business gauges."""
    expected: str | None = current_app.config["METRICS_TOKEN"]
    if not expected:
        return api_error_response(
            404, ErrorCode.NOT_FOUND, "/metrics is off; set SCIM_METRICS_TOKEN to enable it."
        )
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        response = api_error_response(
            401, ErrorCode.UNAUTHORIZED, "Send the SCIM_METRICS_TOKEN as a bearer token."
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return metrics.exposition(member_counts(get_session().connection()))
