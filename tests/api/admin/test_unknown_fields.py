"""Unknown fields on every management write are 400 and change nothing (docs/api.md §1,
"Round trips"): a misspelt setting such as ``sso_requird`` must never answer 200 and be
dropped. Every POST, PUT and PATCH of the OpenAPI document is probed with an extra field.

A route with an id in its path may answer 404 for the placeholder id before it reads the
body; the resources behind those ids are probed with real ids in test_round_trip.py and
test_scim_tokens.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import scim_server
from tests.conftest import PLATFORM_KEY
from tests.scim_client import Admin

DOCUMENT = json.loads((Path(scim_server.__file__).parent / "openapi.json").read_text())


def write_operations() -> list[tuple[str, str, bool]]:
    """(method, path, platform only) for every management write."""
    return [
        (method.upper(), path, op.get("security") == [{"platformKey": []}])
        for path, ops in DOCUMENT["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
        if method in ("post", "put", "patch")
    ]


def test_every_write_is_probed():
    assert len(write_operations()) >= 25


@pytest.mark.parametrize(("method", "path", "platform_only"), write_operations())
def test_an_unknown_field_is_a_400_and_changes_nothing(client, org, method, path, platform_only):
    key = PLATFORM_KEY if platform_only else org.management_key
    who = Admin(client, key, org.id)
    events = len(Admin(client, PLATFORM_KEY, org.id).events()["events"])
    url = re.sub(r"\{org_id\}", org.id, path.removeprefix("/api/v1"))
    has_other_id = bool(re.search(r"\{[a-z_]+\}", url))
    url = re.sub(r"\{[a-z_]+\}", "x", url)
    # the one field some routes check before anything else, so the unknown one is reached
    sent = (
        {"confirm": True, "bogus_field": 1} if url.endswith("/disconnect") else {"bogus_field": 1}
    )
    response = who.call(method, url, sent)
    answer = response.get_json() or {}
    if has_other_id and response.status_code == 404:
        pass
    else:
        assert response.status_code == 400, answer
        assert answer["error"]["code"] == "validation_error", answer
        assert "bogus_field" in answer["error"]["message"], answer
    assert len(Admin(client, PLATFORM_KEY, org.id).events()["events"]) == events
