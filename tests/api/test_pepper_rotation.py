"""Rotating SCIM_TOKEN_PEPPER: tokens and invitation links issued under the old pepper keep
working while it is listed in SCIM_TOKEN_PEPPERS_RETIRED, until revoked; new ones use the new
pepper, and each token records which pepper (key id) hashed it."""

from __future__ import annotations

import pytest

from scim_server import secrets
from scim_server.services.audit import Actor
from scim_server.services.organizations import orgs
from scim_server.services.organizations import tokens
from scim_server.storage.models import ApiToken
from tests.conftest import PEPPER
from tests.conftest import PLATFORM_KEY
from tests.conftest import build_app
from tests.scim_client import Admin

NEW = "the-new-pepper-after-rotation"


@pytest.fixture
def make_app(connection, database_url):
    def build(pepper: str, retired: str | None = None):
        overrides = {"TOKEN_PEPPER": pepper, "TOKEN_PEPPERS_RETIRED": retired}
        return build_app(connection, database_url, overrides).test_client()

    return build


def _scim_status(client, token: str) -> int:
    response = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    return int(response.status_code)


def _admin_status(client, org) -> int:
    return int(
        Admin(client, org.management_key, org.id)
        .call("GET", f"/organizations/{org.id}")
        .status_code
    )


def test_old_tokens_fail_after_a_change_unless_their_pepper_is_retired(make_app, org):
    rotated = make_app(NEW)
    assert _scim_status(rotated, org.token) == 401
    assert _admin_status(rotated, org) == 401
    with_retired = make_app(NEW, f"some-older-pepper,{PEPPER}")
    assert _scim_status(with_retired, org.token) == 200
    assert _admin_status(with_retired, org) == 200


def test_new_tokens_use_the_new_pepper_and_record_its_key_id(make_app, org, db):
    organization = orgs.get_org(db, org.id)
    issued = tokens.create_token(db, organization, "scim", pepper=NEW, actor=Actor.system())
    db.commit()
    assert _scim_status(make_app(NEW), issued.secret) == 200
    assert _scim_status(make_app(PEPPER), issued.secret) == 401  # not the other way round
    kids = {row.kind: row.pepper_kid for row in db.query(ApiToken).filter_by(org_id=org.id)}
    assert secrets.pepper_id(PEPPER) in kids.values()
    assert db.get(ApiToken, issued.id).pepper_kid == secrets.pepper_id(NEW)
    assert secrets.pepper_id(NEW) != secrets.pepper_id(PEPPER)
    assert NEW not in secrets.pepper_id(NEW)


def test_a_revoked_old_token_stays_revoked_with_its_pepper_retired(make_app, org, db):
    (row,) = db.query(ApiToken).filter_by(org_id=org.id, kind="scim").all()
    tokens.revoke_token(db, row.id, actor=Actor.system())
    db.commit()
    assert _scim_status(make_app(NEW, PEPPER), org.token) == 401


def test_an_invitation_link_from_before_the_change_still_opens(make_app, org):
    old = make_app(PEPPER)
    body = {"email": "rotated@example.com", "role": "viewer"}
    created = Admin(old, org.management_key, org.id).call(
        "POST", f"/organizations/{org.id}/invitations", body
    )
    assert created.status_code == 201, created.get_json()
    link = created.get_json()["token"]
    accept = {"token": link, "user": {}}
    refused = Admin(make_app(NEW), PLATFORM_KEY).call("POST", "/invitations/accept", accept)
    assert (
        refused.status_code == 404 and refused.get_json()["error"]["code"] == "invitation_invalid"
    )
    opened = Admin(make_app(NEW, PEPPER), PLATFORM_KEY).call("POST", "/invitations/accept", accept)
    assert opened.status_code == 200, opened.get_json()
    assert opened.get_json()["outcome"] == "accepted"
