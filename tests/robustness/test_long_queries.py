"""Long GET filters on the live server (``scim-server serve``): an IdP's 100-id OR filter
works through GET, a longer query is a SCIM 414 pointing at POST /.search (never the
transport's HTML error), and the same filter through POST /.search works.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests

from tests.live_server import Live
from tests.live_server import live_server
from tests.live_server import throwaway_database

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with throwaway_database(spec) as url, live_server(url, workers=2) as server:
        yield server


def _ids_filter(ids: list[str]) -> str:
    return " or ".join(f'id eq "{i}"' for i in ids)


def test_a_100_id_or_filter_works_through_get(live):
    headers = {"Authorization": f"Bearer {live.token}", "Content-Type": "application/scim+json"}
    ids = []
    for n in range(3):
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"or{n}@x.example",
        }
        created = requests.post(f"{live.base_url}/Users", json=body, headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    wanted = ids + [str(uuid.uuid4()) for _ in range(97)]
    query = urlencode({"filter": _ids_filter(wanted)})
    assert len(query) > 4094  # gunicorn's old request-line limit
    response = requests.get(f"{live.base_url}/Users?{query}", headers=headers, timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert sorted(r["id"] for r in response.json()["Resources"]) == sorted(ids)


def test_past_the_query_limit_is_a_scim_414_and_search_still_works(live):
    headers = {"Authorization": f"Bearer {live.token}", "Content-Type": "application/scim+json"}
    # 240 userName terms (a filter of ids that long nests past the 500-level limit)
    text = " or ".join(
        f'userName eq "first.last.{uuid.uuid4().hex[:20]}@subsidiary.example.com"'
        for _ in range(240)
    )
    query = urlencode({"filter": text})
    assert 16 * 1024 < len(query) < 64 * 1024  # above the app's limit, below the worker's
    response = requests.get(f"{live.base_url}/Users?{query}", headers=headers, timeout=10)
    assert response.status_code == 414, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/scim+json")
    assert "POST /Users/.search" in response.json()["detail"]
    assert len(response.content) < 1000
    searched = requests.post(
        f"{live.base_url}/Users/.search",
        json={"schemas": [SEARCH], "filter": text},
        headers=headers,
        timeout=10,
    )
    assert searched.status_code == 200, searched.text[:300]
