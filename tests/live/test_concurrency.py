"""Real parallel requests against ``scim-server serve`` (gunicorn, 2 workers).

Uniqueness is the database's job: parallel creates of one userName give one 201 and
409s — never a 500, never a duplicate — and parallel member adds lose nothing.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.live_server import live_server
from tests.live_server import throwaway_database
from tests.scim_client import GROUP
from tests.scim_client import PATCH_OP
from tests.scim_client import PRODUCT
from tests.scim_client import USER

PARALLEL = 12


@pytest.fixture(scope="module")
def live():
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with throwaway_database(spec) as url, live_server(url, workers=2) as server:
        yield server


def _session(live) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {live.token}", "Content-Type": "application/scim+json"}
    )
    return session


def _parallel(fn, n=PARALLEL):
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def test_parallel_creates_of_one_user_name_give_one_201_and_409s(live):
    http = _session(live)
    name = f"race-{uuid.uuid4().hex[:8]}@example.com"

    def create(i):
        body = {
            "schemas": [USER],
            "userName": name if i % 2 else name.upper(),
            "externalId": f"ext-{i}",
        }
        return http.post(f"{live.base_url}/Users", json=body, timeout=30)

    responses = _parallel(create)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (PARALLEL - 1), [r.text for r in responses]
    assert all(r.json()["scimType"] == "uniqueness" for r in responses if r.status_code == 409)
    found = http.get(f"{live.base_url}/Users", params={"filter": f'userName eq "{name}"'}).json()
    assert found["totalResults"] == 1


def test_parallel_group_creates_with_one_name_give_one_group(live):
    http = _session(live)
    name = f"race-group-{uuid.uuid4().hex[:8]}"
    responses = _parallel(
        lambda i: http.post(
            f"{live.base_url}/Groups", timeout=30, json={"schemas": [GROUP], "displayName": name}
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * (PARALLEL - 1)


def test_parallel_member_adds_lose_nothing(live):
    http = _session(live)
    users = [
        http.post(
            f"{live.base_url}/Users",
            timeout=30,
            json={"schemas": [USER], "userName": f"m-{uuid.uuid4().hex[:8]}@example.com"},
        ).json()["id"]
        for _ in range(PARALLEL)
    ]
    group = http.post(
        f"{live.base_url}/Groups",
        timeout=30,
        json={"schemas": [GROUP], "displayName": f"parallel-{uuid.uuid4().hex[:8]}"},
    ).json()

    def add(i):
        return http.patch(
            f"{live.base_url}/Groups/{group['id']}",
            timeout=30,
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": users[i]}]}],
            },
        )

    assert {r.status_code for r in _parallel(add)} == {204}
    body = http.get(f"{live.base_url}/Groups/{group['id']}").json()
    assert sorted(m["value"] for m in body["members"]) == sorted(users)


def test_parallel_patches_of_one_user_serialise(live):
    http = _session(live)
    user = http.post(
        f"{live.base_url}/Users",
        timeout=30,
        json={"schemas": [USER], "userName": f"p-{uuid.uuid4().hex[:8]}@example.com"},
    ).json()

    def add_phone(i):
        return http.patch(
            f"{live.base_url}/Users/{user['id']}",
            timeout=30,
            json={
                "schemas": [PATCH_OP],
                "Operations": [
                    {"op": "add", "path": "phoneNumbers", "value": [{"value": f"+1555000{i:04d}"}]}
                ],
            },
        )

    assert {r.status_code for r in _parallel(add_phone)} == {200}
    body = http.get(f"{live.base_url}/Users/{user['id']}").json()
    assert len(body["phoneNumbers"]) == PARALLEL  # no PATCH overwrote another


def _second_org(live) -> dict:
    """Another organisation on the live server's database, through the CLI."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).parent / "scim-server")
    env = {**os.environ, "SCIM_DATABASE_URL": live.database_url}
    made = subprocess.run(
        [cli, "org", "create", "Second", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(made.stdout)


def test_two_orgs_creating_one_new_person_at_once_both_succeed(live):
    """A race on the global email must not become a false 409 in the other org."""
    other = _second_org(live)
    email = f"both-{uuid.uuid4().hex[:8]}@example.com"
    tokens = [live.token, other["scim_token"]] * 3

    def create(i):
        body = {
            "schemas": [USER],
            "userName": f"{i}-{email}",
            "emails": [{"value": email, "primary": True}],
        }
        return requests.post(
            f"{live.base_url}/Users",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )

    responses = _parallel(create, n=len(tokens))
    statuses = [r.status_code for r in responses]
    assert 500 not in statuses, [r.text for r in responses]
    for token in (live.token, other["scim_token"]):
        mine = [r for t, r in zip(tokens, responses, strict=True) if t == token]
        assert sorted(r.status_code for r in mine) == [201, 409, 409]  # one member per org
    person = {r.json()[PRODUCT]["userId"] for r in responses if r.status_code == 201}
    assert len(person) == 1  # the same person in both organisations


def test_parallel_invitations_never_overshoot_the_seat_limit(live):
    other = _second_org(live)
    admin = requests.Session()
    admin.headers["Authorization"] = f"Bearer {other['management_key']}"
    admin.headers["X-Acting-User"] = "key"  # docs/api.md §1, "Acting person"
    api = live.base_url.replace("/scim/v2", "/api/v1") + f"/organizations/{other['org_id']}"
    limit = 3
    # The platform key is not configured on this server; set the limit in the database.
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(live.database_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE organizations SET seat_limit = :n WHERE id = :o"),
            {"n": limit, "o": other["org_id"]},
        )
    engine.dispose()
    responses = _parallel(
        lambda i: admin.post(
            f"{api}/invitations",
            timeout=30,
            json={"email": f"inv{i}-{uuid.uuid4().hex[:6]}@example.com", "role": "member"},
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert 500 not in statuses, [r.text for r in responses]
    assert statuses.count(201) == limit
    assert admin.get(f"{api}/seats").json()["used"] == limit
