"""Secrets at rest and in logs (docs/lifecycle.md §4.1 and §4.2: only a keyed hash is stored, never
the plaintext; §5.1 item 7; docs/api.md §5: `token list` never shows the secret).

Every SCIM token, management key and invitation token the server hands out is searched
for in every column of every table (found by reflection, so new tables are covered too),
in the event feed and in everything logged at DEBUG while they were issued and used.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import MetaData
from sqlalchemy import select
from sqlalchemy import update

from scim_server.storage.models import Invitation
from scim_server.storage.models import User
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim

INVITATION = re.compile(r"^[0-9a-f-]{36}\.([A-Za-z0-9_-]{43})$")


def _parts(secret: str) -> list[str]:
    """The secret and its random part: ``<uuid>.<secret>`` or ``<prefix>_<random>``."""
    found = INVITATION.match(secret)
    if found:
        return [secret, found.group(1)]
    prefix, _, rest = secret.partition("_")
    return [secret, rest] if rest and len(rest) >= 32 else [secret]


def _scan_database(db) -> tuple[dict[str, list[str]], set[str]]:
    """Every value of every column of every table, as text, by ``table.column``."""
    metadata = MetaData()
    metadata.reflect(bind=db.connection())
    values: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        for row in db.execute(select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                values.setdefault(f"{table.name}.{column}", []).append(text)
    return values, set(metadata.tables)


def _log_text(caplog) -> str:
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("scim_server", "sqlalchemy", "werkzeug", "flask", "gunicorn", "alembic"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_issued_secret_is_stored_or_logged(client, org, other_org, db, logs):
    issued: list[str] = [org.token, org.management_key, other_org.token, other_org.management_key]
    platform = Admin(client, PLATFORM_KEY)
    admin = Admin(client, org.management_key, org.id)
    scim = Scim(client, org.token)

    # more SCIM tokens and management keys, through the API
    created = platform.call("POST", "/organizations", {"name": "Initech"})
    assert created.status_code == 201, created.get_json()
    issued += [created.get_json()["scim_token"], created.get_json()["management_key"]]
    initech = created.get_json()["id"]

    # use every credential, rightly and wrongly
    assert scim.get("/Users").status_code == 200
    assert Scim(client, created.get_json()["scim_token"]).get("/Users").status_code == 200
    assert admin.call("GET", f"/organizations/{org.id}/members").status_code == 200
    assert Admin(client, org.token).call("GET", f"/organizations/{org.id}").status_code == 401
    assert Scim(client, org.management_key).get("/Users").status_code == 401
    assert (
        Admin(client, org.management_key).call("GET", f"/organizations/{initech}").status_code
        == 404
    )

    # invitations: create, resend, accept, mismatch, wrong secret, expired, revoked
    tokens = {}
    for email in ("bob@acme.com", "carol@acme.com", "dave@acme.com", "erin@acme.com"):
        response = admin.call(
            "POST",
            f"/organizations/{org.id}/invitations",
            {"email": email, "role": "viewer", "scope": {"countries": ["FR"]}},
        )
        assert response.status_code == 201, response.get_json()
        tokens[email] = response.get_json()
    issued += [t["token"] for t in tokens.values()]
    resent = admin.call(
        "POST", f"/organizations/{org.id}/invitations/{tokens['bob@acme.com']['id']}/resend"
    )
    assert resent.status_code == 200
    assert resent.get_json()["token"] != tokens["bob@acme.com"]["token"]
    issued.append(resent.get_json()["token"])

    accept = "/invitations/accept"
    assert (
        platform.call("POST", accept, {"token": tokens["bob@acme.com"]["token"]}).status_code == 404
    )  # the rotated-out link
    joined = platform.call("POST", accept, {"token": resent.get_json()["token"], "user": {}})
    assert joined.status_code == 200
    alice = User(email="alice@acme.com", email_normalized="alice@acme.com", email_verified=True)
    db.add(alice)
    db.commit()
    mismatch = platform.call(
        "POST", accept, {"token": tokens["carol@acme.com"]["token"], "user": {"id": alice.id}}
    )
    assert mismatch.status_code == 403
    carol = tokens["carol@acme.com"]["token"]
    wrong = carol[:-1] + ("A" if carol[-1] != "A" else "B")
    assert platform.call("POST", accept, {"token": wrong}).status_code == 404
    db.execute(
        update(Invitation)
        .where(Invitation.id == tokens["dave@acme.com"]["id"])
        .values(expires_at=datetime(2020, 1, 1))
    )
    db.commit()
    assert (
        platform.call("POST", accept, {"token": tokens["dave@acme.com"]["token"]}).status_code
        == 410
    )
    admin.call(
        "POST", f"/organizations/{org.id}/invitations/{tokens['erin@acme.com']['id']}/revoke"
    )
    assert (
        platform.call("POST", accept, {"token": tokens["erin@acme.com"]["token"]}).status_code
        == 404
    )
    scim.create_user("frank@acme.com")

    needles = sorted({part for secret in issued for part in _parts(secret)}, key=len)
    assert len(needles) >= 2 * len(issued) - 1

    # 1. the database: every column of every table
    values, tables = _scan_database(db)
    assert {"api_tokens", "invitations", "events", "users", "sessions"} <= tables
    invitation_ids = values["invitations.id"]
    assert tokens["carol@acme.com"]["id"] in invitation_ids  # the scan sees the rows
    assert len(values["api_tokens.token_hash"]) >= 6
    leaks = [
        (column, needle[:12] + "…")
        for column, texts in values.items()
        for text in texts
        for needle in needles
        if needle in text
    ]
    assert leaks == []

    # 2. the event feeds, as served
    for key, org_id in ((org.management_key, org.id), (PLATFORM_KEY, initech)):
        feed = Admin(client, key).call("GET", f"/organizations/{org_id}/events?limit=1000")
        assert feed.status_code == 200
        text = feed.get_data(as_text=True)
        assert "invitation" in text or org_id == initech
        assert [n[:12] for n in needles if n in text] == []

    # 3. the invitation listing never shows a secret again
    listing = admin.call("GET", f"/organizations/{org.id}/invitations").get_data(as_text=True)
    assert [n[:12] for n in needles if n in listing] == []

    # 4. the logs
    logged = _log_text(logs)
    assert logs.records, "nothing was logged: the capture is not working"
    assert [n[:12] for n in needles if n in logged] == []
    assert PLATFORM_KEY not in logged


def test_the_scan_would_find_a_plaintext_secret(client, org, db):
    """The scanner itself can fail: a secret written in plain text is found."""
    scim = Scim(client, org.token)
    user_id = scim.create_user("planted@acme.com")[PRODUCT]["userId"]
    db.execute(update(User).where(User.id == user_id).values(name=f"note {org.token} end"))
    db.commit()
    values, _ = _scan_database(db)
    hits = [c for c, texts in values.items() for t in texts if org.token in t]
    assert hits == ["users.name"]
    assert any(_parts(org.token)[-1] in t for t in values["users.name"])
