"""schemathesis over ``scim_server/openapi.json`` against the live server: no 5xx, ever.

Every operation of the document gets generated requests (bounded: ``EXAMPLES`` each, so the
run stays well under a minute) with real credentials, the live organisation's id in
``{org_id}`` and ``X-Acting-User: key``, so that the fuzz reaches the views and services
instead of stopping at 401/404. New routes are covered as soon as the document lists them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import settings

import scim_server
from tests.live_server import Live
from tests.live_server import live_server
from tests.live_server import throwaway_database

EXAMPLES = 5
PLATFORM_KEY = "schemathesis-platform-key"
DOCUMENT = json.loads((Path(scim_server.__file__).parent / "openapi.json").read_text())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SCIM_PLATFORM_KEY", PLATFORM_KEY)
        with throwaway_database(spec) as url, live_server(url, workers=2) as server:
            yield server


def _root(live: Live) -> str:
    return live.base_url.split("/scim/", 1)[0]


def _headers(case, live: Live) -> dict[str, str]:
    schemes = {
        name for entry in case.operation.definition.raw.get("security", []) for name in entry
    }
    if "scimToken" in schemes:
        key = live.token
    elif schemes == {"platformKey"}:
        key = PLATFORM_KEY
    else:
        key = live.management_key
    headers = {"Authorization": f"Bearer {key}"} if schemes else {}
    names = {
        p.get("$ref", "").rsplit("/", 1)[-1]
        for p in case.operation.definition.raw.get("parameters", [])
    }
    if "ActingUser" in names:
        headers["X-Acting-User"] = "key"
    return headers


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, live):
    if case.path_parameters and "org_id" in case.path_parameters:
        case.path_parameters["org_id"] = live.org_id
    response = case.call(base_url=_root(live), headers=_headers(case, live), timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
