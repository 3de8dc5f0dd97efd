"""Sign-in races with real parallel requests against ``scim-server serve`` (gunicorn,
several workers) on the database ``SCIM_TEST_DATABASE_URL`` names, else SQLite.

docs/lifecycle.md §3.3 (two first logins at once), §4.5–§4.6 (concurrent accepts of
one link): correctness rests on unique constraints and a CAS, never on read-then-write,
so every race ends with one user, one identity, one membership and one ``accepted``.
"""

from __future__ import annotations

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy import text

from tests.live_server import live_server
from tests.live_server import throwaway_database

PARALLEL = 12
WORKERS = 4
PLATFORM = f"platform-{uuid.uuid4().hex}"
ISSUER = "https://idp.race.example"


@dataclass(frozen=True)
class LiveOrg:
    root: str
    org_id: str
    management_key: str
    domain: str


@pytest.fixture(scope="module")
def live():
    spec = os.environ.get("SCIM_TEST_DATABASE_URL") or "sqlite"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SCIM_PLATFORM_KEY", PLATFORM)
        with throwaway_database(spec) as url, live_server(url, workers=WORKERS) as server:
            yield server


@pytest.fixture(scope="module")
def database(live):
    engine = create_engine(live.database_url)
    yield engine
    engine.dispose()


def _http(key: str) -> requests.Session:
    session = requests.Session()
    # the key acts as itself on admin routes (docs/api.md §1, "Acting person")
    session.headers.update({"Authorization": f"Bearer {key}", "X-Acting-User": "key"})
    return session


@pytest.fixture
def platform() -> requests.Session:
    return _http(PLATFORM)


def _root(live) -> str:
    return live.base_url.removesuffix("/").removesuffix("/scim/v2")


def new_org(live, platform: requests.Session, domain: str) -> LiveOrg:
    root = _root(live)
    created = platform.post(
        f"{root}/api/v1/organizations", json={"name": f"Race {domain}"}, timeout=30
    )
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    claimed = platform.post(
        f"{root}/api/v1/organizations/{org_id}/domains", json={"domain": domain}, timeout=30
    )
    assert claimed.status_code == 201, claimed.text
    verified = platform.post(
        f"{root}/api/v1/organizations/{org_id}/domains/{domain}/verify",
        json={"method": "manual", "reason": "race test"},
        timeout=30,
    )
    assert verified.status_code == 200, verified.text
    return LiveOrg(root, org_id, created.json()["management_key"], domain)


def new_connection(org: LiveOrg) -> str:
    response = _http(org.management_key).post(
        f"{org.root}/api/v1/organizations/{org.org_id}/sso-connections",
        json={"name": "Okta", "jit_enabled": True},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def invite(org: LiveOrg, email: str, role: str = "viewer") -> dict:
    response = _http(org.management_key).post(
        f"{org.root}/api/v1/organizations/{org.org_id}/invitations",
        json={"email": email, "role": role},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def members(org: LiveOrg, email: str) -> list[dict]:
    response = _http(org.management_key).get(
        f"{org.root}/api/v1/organizations/{org.org_id}/members",
        params={"email": email},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["members"]


def invitation(org: LiveOrg, invitation_id: str) -> dict:
    response = _http(org.management_key).get(
        f"{org.root}/api/v1/organizations/{org.org_id}/invitations", timeout=30
    )
    assert response.status_code == 200, response.text
    [found] = [i for i in response.json()["invitations"] if i["id"] == invitation_id]
    return found


def rows(database, sql: str, **params) -> int:
    with database.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def all_at_once(fn, n: int = PARALLEL) -> list[requests.Response]:
    """Run ``fn(i)`` in n threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i: int) -> requests.Response:
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def error_code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def test_case_31_parallel_first_logins_of_one_subject_give_one_user(live, platform, database):
    org = new_org(live, platform, f"jit-{uuid.uuid4().hex[:8]}.example")
    connection = new_connection(org)
    email = f"new.person@{org.domain}"
    claims = {"iss": ISSUER, "sub": f"sub-{uuid.uuid4()}", "email": email, "email_verified": True}

    responses = all_at_once(
        lambda i: platform.post(
            f"{org.root}/api/v1/sso/login",
            json={"connection_id": connection, "claims": claims},
            timeout=60,
        )
    )
    assert [r.status_code for r in responses] == [200] * PARALLEL, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert len({b["user_id"] for b in bodies}) == 1
    assert len({b["membership_id"] for b in bodies}) == 1
    assert sum(b["created_user"] for b in bodies) == 1
    assert sum(b["provisioned"] for b in bodies) == 1
    assert len({b["session"]["id"] for b in bodies}) == PARALLEL
    for body in bodies[:3]:
        state = platform.get(f"{org.root}/api/v1/sessions/{body['session']['id']}", timeout=30)
        assert state.json() == {"valid": True, "reason": None}

    [member] = members(org, email)
    assert member["user_id"] == bodies[0]["user_id"] and member["source"] == "jit"
    assert rows(database, "SELECT count(*) FROM users WHERE email_normalized = :e", e=email) == 1
    assert (
        rows(
            database,
            "SELECT count(*) FROM sso_identities WHERE issuer = :i AND subject = :s",
            i=ISSUER,
            s=claims["sub"],
        )
        == 1
    )
    assert (
        rows(
            database,
            "SELECT count(*) FROM memberships WHERE org_id = :o AND user_id = :u",
            o=org.org_id,
            u=bodies[0]["user_id"],
        )
        == 1
    )


def _existing_account(live, platform, email: str) -> str:
    """A verified account, made by signing up through an invitation in another org."""
    elsewhere = new_org(live, platform, f"elsewhere-{uuid.uuid4().hex[:8]}.example")
    token = invite(elsewhere, email)["token"]
    joined = platform.post(
        f"{elsewhere.root}/api/v1/invitations/accept", json={"token": token, "user": {}}, timeout=30
    )
    assert joined.status_code == 200, joined.text
    return joined.json()["user_id"]


def test_case_36_parallel_accepts_by_the_same_person_accept_once(live, platform, database):
    org = new_org(live, platform, f"inv-{uuid.uuid4().hex[:8]}.example")
    email = f"bob@{org.domain}"
    bob = _existing_account(live, platform, email)
    sent = invite(org, email)

    responses = all_at_once(
        lambda i: platform.post(
            f"{org.root}/api/v1/invitations/accept",
            json={"token": sent["token"], "user": {"id": bob}},
            timeout=60,
        )
    )
    outcomes = []
    for response in responses:
        assert response.status_code < 500, response.text
        if response.status_code == 200:
            outcomes.append(response.json()["outcome"])
        else:
            outcomes.append(error_code(response))
    assert outcomes.count("accepted") == 1, outcomes
    assert set(outcomes) <= {"accepted", "already_member", "invitation_invalid"}, outcomes

    [member] = members(org, email)
    assert member["user_id"] == bob and member["role"]["name"] == "viewer"
    state = invitation(org, sent["id"])
    assert state["status"] == "accepted" and state["accepted_user_id"] == bob
    assert (
        rows(
            database,
            "SELECT count(*) FROM memberships WHERE org_id = :o AND user_id = :u",
            o=org.org_id,
            u=bob,
        )
        == 1
    )


def test_parallel_sign_up_accepts_of_one_token_create_one_user(live, platform, database):
    org = new_org(live, platform, f"signup-{uuid.uuid4().hex[:8]}.example")
    email = f"carol@{org.domain}"
    sent = invite(org, email)

    responses = all_at_once(
        lambda i: platform.post(
            f"{org.root}/api/v1/invitations/accept",
            json={"token": sent["token"], "user": {"name": f"Carol {i}"}},
            timeout=60,
        )
    )
    outcomes = []
    for response in responses:
        assert response.status_code < 500, response.text
        outcomes.append(
            response.json()["outcome"] if response.status_code == 200 else error_code(response)
        )
    assert outcomes.count("accepted") == 1, outcomes
    assert set(outcomes) <= {"accepted", "invitation_invalid", "login_required"}, outcomes
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert winner["created_user"] is True

    [member] = members(org, email)
    assert member["user_id"] == winner["user_id"]
    assert rows(database, "SELECT count(*) FROM users WHERE email_normalized = :e", e=email) == 1
    assert invitation(org, sent["id"])["status"] == "accepted"


def test_jit_racing_an_invitation_sign_up_never_duplicates(live, platform, database):
    org = new_org(live, platform, f"mixed-{uuid.uuid4().hex[:8]}.example")
    connection = new_connection(org)
    email = f"dana@{org.domain}"
    sent = invite(org, email)
    claims = {"iss": ISSUER, "sub": f"sub-{uuid.uuid4()}", "email": email, "email_verified": True}

    def either(i: int) -> requests.Response:
        if i % 2:
            return platform.post(
                f"{org.root}/api/v1/sso/login",
                json={"connection_id": connection, "claims": claims},
                timeout=60,
            )
        return platform.post(
            f"{org.root}/api/v1/invitations/accept",
            json={"token": sent["token"], "user": {}},
            timeout=60,
        )

    responses = all_at_once(either)
    assert all(r.status_code < 500 for r in responses), [r.text for r in responses]
    user_ids = {r.json()["user_id"] for r in responses if r.status_code == 200}
    assert len(user_ids) == 1, [r.text for r in responses]
    [member] = members(org, email)
    assert member["user_id"] in user_ids
    assert rows(database, "SELECT count(*) FROM users WHERE email_normalized = :e", e=email) == 1
    assert (
        rows(
            database,
            "SELECT count(*) FROM memberships WHERE org_id = :o AND user_id = :u",
            o=org.org_id,
            u=member["user_id"],
        )
        == 1
    )
