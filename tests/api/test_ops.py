"""/healthz, /readyz and /metrics through the app, on the suite's backend.

Multiprocess /metrics across real gunicorn workers is in tests/live/test_metrics_live.py.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from scim_server import create_app
from tests.conftest import PEPPER
from tests.scim_client import USER
from tests.scim_client import assert_api_error

METRICS_TOKEN = "metrics-token-for-tests-0123456789"
UNREACHABLE = "postgresql+psycopg://scim:scim@127.0.0.1:1/scim?connect_timeout=2"


@pytest.fixture
def app_overrides() -> dict:
    return {"METRICS_TOKEN": METRICS_TOKEN}


def _metrics(client) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def _sample(text_format: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when the series does not exist yet."""
    for line in text_format.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_healthz_answers_without_credentials_or_database():
    app = create_app({"DATABASE_URL": UNREACHABLE, "TOKEN_PEPPER": PEPPER, "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_unreachable():
    app = create_app({"DATABASE_URL": UNREACHABLE, "TOKEN_PEPPER": PEPPER, "TESTING": True})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "database_unreachable"
    assert response.headers["Retry-After"] == "5"
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_is_503_until_migrations_are_applied(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    response = (
        create_app({"DATABASE_URL": url, "TOKEN_PEPPER": PEPPER}).test_client().get("/readyz")
    )
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "migrations_pending"
    assert "scim-server db upgrade" in body["detail"]


def test_readyz_is_503_when_the_schema_is_behind(client, db):
    db.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "migrations_pending"


def test_metrics_is_off_without_a_configured_token(connection, database_url):
    app = create_app({"DATABASE_URL": database_url, "TOKEN_PEPPER": PEPPER})
    response = app.test_client().get("/metrics", headers={"Authorization": "Bearer x"})
    assert_api_error(response, 404, "not_found")
    assert "SCIM_METRICS_TOKEN" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", METRICS_TOKEN]
)
def test_metrics_needs_its_token(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert_api_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "scim_http_requests_total" not in response.get_data(as_text=True)


def test_metrics_count_requests_by_route_template_method_and_status(client, scim):
    route = "/scim/v2/Users/<scim_id>"
    before = _metrics(client)
    created = scim.post("/Users", {"schemas": [USER], "userName": "m@example.com"})
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    assert scim.get(f"/Users/{user_id}").status_code == 200
    assert scim.get(f"/Users/{user_id}").status_code == 200
    assert scim.get("/Users/no-such-id").status_code == 404
    assert client.get("/no/such/path/at/all").status_code == 404
    after = _metrics(client)

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("scim_http_requests_total", route=route, method="GET", status="200") == 2
    assert grew("scim_http_requests_total", route=route, method="GET", status="404") == 1
    assert grew("scim_http_requests_total", route="/scim/v2/Users", method="POST", status="201")
    assert grew("scim_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert grew("scim_http_request_duration_seconds_count", route=route, method="GET") == 3
    assert user_id not in after and "no-such-id" not in after and "/no/such" not in after


def test_metrics_count_an_unknown_method_as_other_not_as_a_series_of_its_own(client):
    before = _metrics(client)
    for n in range(3):
        client.open("/no/such/path", method=f"XYZ{n}")
    after = _metrics(client)
    grown = _sample(
        after, "scim_http_requests_total", route="<unmatched>", method="OTHER", status="404"
    ) - _sample(
        before, "scim_http_requests_total", route="<unmatched>", method="OTHER", status="404"
    )
    assert grown == 3
    assert "XYZ" not in after


def test_metrics_business_gauges_follow_the_database(client, scim):
    before = _metrics(client)
    for name in ("g1@example.com", "g2@example.com"):
        body = {"schemas": [USER], "userName": name}
        assert scim.post("/Users", body).status_code == 201
    inactive = {"schemas": [USER], "userName": "g3@example.com", "active": False}
    assert scim.post("/Users", inactive).status_code == 201
    after = _metrics(client)
    labels = {"directory_state": "active", "admin_override": "none"}
    assert _sample(after, "scim_members", **labels) - _sample(before, "scim_members", **labels) == 2
    off = {"directory_state": "inactive", "admin_override": "none"}
    assert _sample(after, "scim_members", **off) - _sample(before, "scim_members", **off) == 1
    assert _sample(after, "scim_seats_used") - _sample(before, "scim_seats_used") == 2
    assert _sample(after, "scim_organizations") >= 1
