"""Every response carries X-Request-Id; every request leaves one structured log line."""

from __future__ import annotations

import json
import logging

import pytest

from scim_server.log_format import formatter


def test_the_proxy_request_id_is_echoed_and_recorded(scim, admin):
    response = scim.post(
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "rid@x.com"},
        headers={"X-Request-Id": "proxy-123:abc"},
    )
    assert response.status_code == 201
    assert response.headers["X-Request-Id"] == "proxy-123:abc"
    feed = admin.call("GET", f"/organizations/{admin.org_id}/events?type=user.created")
    assert feed.get_json()["events"][0]["request_id"] == "proxy-123:abc"


@pytest.mark.parametrize("bad", ["a" * 65, "tab\tbed", "<script>", "sp ace", "", 'quote"d'])
def test_an_unacceptable_request_id_is_replaced(scim, bad):
    response = scim.get("/Users", headers={"X-Request-Id": bad})
    echoed = response.headers["X-Request-Id"]
    assert echoed != bad and len(echoed) == 32 and echoed.isalnum()


def test_every_kind_of_response_has_a_request_id(client, scim, admin):
    responses = [
        scim.get("/Users"),
        scim.get("/Users/missing"),
        client.get("/scim/v2/Users"),  # 401
        client.get("/scim/v2/Nowhere"),
        client.get("/scim/v2/ServiceProviderConfig"),
        admin.call("GET", f"/organizations/{admin.org_id}"),
        admin.call("GET", "/organizations/missing"),
        client.get("/api/v1/openapi.json"),
        client.get("/scim/v2/Users?" + "x" * 20000, headers=scim.headers),  # 414
    ]
    ids = [r.headers.get("X-Request-Id") for r in responses]
    assert all(ids), [(r.status_code, i) for r, i in zip(responses, ids, strict=True)]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("app_overrides", [{"LOG_FORMAT": "json"}])
def test_one_json_line_per_request_with_its_fields(scim, org, capsys):
    capsys.readouterr()
    ok = scim.get("/Users")
    failed = scim.post("/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["request_id"] == ok.headers["X-Request-Id"]
    assert first["org_id"] == org.id and first["token_id"]
    assert (first["method"], first["path"], first["status"]) == ("GET", "/scim/v2/Users", 200)
    scim.get("/Users/ann@example.com")
    (missing,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert missing["path"] == "/scim/v2/Users/<scim_id>" and missing["status"] == 404
    assert isinstance(first["duration_ms"], int)
    assert second["status"] == 400 and second["scim_type"] == "invalidValue"
    assert second["detail"] == failed.get_json()["detail"]
    assert second["level"] == "INFO" and second["logger"] == "scim_server.request"


def test_text_lines_on_a_terminal():
    record = logging.LogRecord(
        "scim_server.request", logging.INFO, "", 0, "GET /x 200 3ms", (), None
    )
    record.request_id = "r1"
    text = formatter("auto", is_terminal=True).format(record)
    assert text.endswith("INFO GET /x 200 3ms request_id=r1")
    assert json.loads(formatter("auto", is_terminal=False).format(record))["request_id"] == "r1"
