"""SCIM authentication and its one-second read cache (scim_server/auth.py).

The contract: a revoked token is refused by the very next write on every worker, and by
every read within ``READ_CREDENTIALS_SECONDS``; a read within that second of another by
the same token runs no authentication statement. The clock is the module's
``time.monotonic``, moved forward by the test instead of sleeping.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from scim_server import auth
from scim_server.services.audit import Actor
from scim_server.services.organizations import tokens
from tests.conftest import OrgFixture
from tests.scim_client import Scim
from tests.sql_statements import statements_during


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(auth.time, "monotonic", fake)
    return fake


def _revoke_scim_token(db: Session, org: OrgFixture) -> None:
    found = tokens.find_token(db, org.token, "scim", pepper="test-pepper")
    assert found is not None
    tokens.revoke_token(db, found.id, actor=Actor.system())
    db.commit()


def _auth_statements(connection, action) -> list[str]:
    return [s for s in statements_during(connection, action) if "FROM api_tokens" in s]


def test_a_read_within_the_second_reuses_the_credentials(scim: Scim, connection, clock):
    user = scim.create_user()
    path = f"/Users/{user['id']}"
    assert len(_auth_statements(connection, lambda: scim.get(path))) == 1
    clock.now += auth.READ_CREDENTIALS_SECONDS / 2
    assert _auth_statements(connection, lambda: scim.get(path)) == []
    clock.now += auth.READ_CREDENTIALS_SECONDS
    assert len(_auth_statements(connection, lambda: scim.get(path))) == 1


def test_writes_always_authenticate(scim: Scim, connection, clock):
    user = scim.create_user()
    path, ops = f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": True}]
    scim.get(path)
    assert len(_auth_statements(connection, lambda: scim.patch(path, ops))) == 1


def test_revocation_stops_writes_at_once_and_reads_within_the_bound(
    scim: Scim, db: Session, org: OrgFixture, clock
):
    user = scim.create_user()
    path = f"/Users/{user['id']}"
    assert scim.get(path).status_code == 200
    _revoke_scim_token(db, org)
    ops = [{"op": "replace", "path": "displayName", "value": "Late"}]
    assert scim.patch(path, ops).status_code == 401
    clock.now += auth.READ_CREDENTIALS_SECONDS
    assert scim.get(path).status_code == 401


def test_an_unknown_token_is_never_remembered(client, scim: Scim, clock):
    user = scim.create_user()
    stranger = Scim(client, "not-a-token")
    assert stranger.get(f"/Users/{user['id']}").status_code == 401
    assert stranger.get(f"/Users/{user['id']}").status_code == 401
