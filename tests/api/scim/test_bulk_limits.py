"""Bulk limits (RFC 7644 §3.7.4): advertised in /ServiceProviderConfig and enforced."""

from __future__ import annotations

import io
import json

import pytest

from tests.api.scim.test_bulk import BULK_REQUEST
from tests.api.scim.test_bulk import bulk
from tests.api.scim.test_bulk import new_user
from tests.scim_client import assert_scim_error


@pytest.fixture
def app_overrides():
    return {"BULK_MAX_OPERATIONS": 3, "BULK_MAX_PAYLOAD_BYTES": 2000}


def test_limits_are_advertised(scim):
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["bulk"] == {"supported": True, "maxOperations": 3, "maxPayloadSize": 2000}


def test_too_many_operations_is_413_and_runs_nothing(scim):
    response = bulk(scim, [new_user(f"u{i}") for i in range(4)])
    body = assert_scim_error(response, 413, "tooMany")
    assert "maxOperations is 3" in body["detail"]
    assert scim.filter_users('userName eq "u0@example.com"')["totalResults"] == 0


def test_too_large_payload_is_413(scim):
    operations = [new_user("big", title="x" * 2100)]
    response = bulk(scim, operations)
    body = assert_scim_error(response, 413, "tooLarge")
    assert "maxPayloadSize is 2,000" in body["detail"]


def test_payload_limit_counts_bytes_without_content_length(scim):
    body = json.dumps(
        {"schemas": [BULK_REQUEST], "Operations": [new_user("big", title="é" * 1100)]}
    )
    response = scim.client.post(
        "/scim/v2/Bulk",
        input_stream=io.BytesIO(body.encode()),
        headers={
            **scim.headers,
            "Content-Type": "application/scim+json",
            "Transfer-Encoding": "chunked",
        },
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.request.content_length is None
    assert_scim_error(response, 413, "tooLarge")
