"""The command line of docs/api.md §5, run in-process on a fresh SQLite database."""

from __future__ import annotations

import json

import pytest

from scim_server import create_app
from scim_server.cli import main


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SCIM_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def run(capsys, *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_org_create_json_gives_working_credentials(cli_db, capsys):
    info = json.loads(run(capsys, "org", "create", "Acme", "--json"))
    assert set(info) == {"org_id", "scim_base_url", "scim_token", "management_key"}
    assert info["scim_base_url"].endswith("/scim/v2")
    client = create_app({"DATABASE_URL": cli_db}).test_client()
    scim = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {info['scim_token']}"})
    assert scim.status_code == 200
    admin = client.get(
        f"/api/v1/organizations/{info['org_id']}",
        headers={"Authorization": f"Bearer {info['management_key']}"},
    )
    assert admin.get_json()["name"] == "Acme"


def test_token_rotation_create_list_revoke(cli_db, capsys):
    info = json.loads(run(capsys, "org", "create", "Rotate", "--json"))
    new = json.loads(
        run(capsys, "token", "create", "--org", info["org_id"], "--kind", "scim", "--json")
    )
    listing = run(capsys, "token", "list", "--org", info["org_id"])
    assert new["token_id"] in listing
    assert new["token"] not in listing and info["scim_token"] not in listing  # never secrets
    run(capsys, "token", "revoke", new["token_id"])
    assert "revoked" in run(capsys, "token", "list", "--org", info["org_id"])
    client = create_app({"DATABASE_URL": cli_db}).test_client()
    revoked = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {new['token']}"})
    assert revoked.status_code == 401
    still = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {info['scim_token']}"})
    assert still.status_code == 200
    # the token just used shows when; the one never used says so
    lines = run(capsys, "token", "list", "--org", info["org_id"]).splitlines()
    first = next(line for line in lines if line.startswith(lines[0].split()[0]))
    assert "last used 20" in first
    assert "last used never" in next(line for line in lines if new["token_id"] in line)


def test_unknown_org_is_an_error_not_a_traceback(cli_db, capsys):
    assert main(["token", "list", "--org", "nope"]) == 1
    assert "No organization nope" in capsys.readouterr().err


def test_db_reconcile_counts_reports_then_fixes_drift(cli_db, capsys):
    import sqlite3

    info = json.loads(run(capsys, "org", "create", "Counted", "--json"))
    client = create_app({"DATABASE_URL": cli_db}).test_client()
    headers = {"Authorization": f"Bearer {info['scim_token']}"}
    for name in ("a@example.com", "b@example.com"):
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}
        assert client.post("/scim/v2/Users", json=body, headers=headers).status_code == 201
    assert main(["db", "reconcile-counts"]) == 0
    assert "0 counter(s) drifted" in capsys.readouterr().err
    with sqlite3.connect(cli_db.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "UPDATE scim_live_counts SET live = live + 3 WHERE rowid = "
            "(SELECT min(rowid) FROM scim_live_counts WHERE resource = 'User')"
        )
    assert main(["db", "reconcile-counts"]) == 1
    assert "counter 5, actual 2" in capsys.readouterr().out
    assert main(["db", "reconcile-counts", "--fix"]) == 0
    assert "fixed" in capsys.readouterr().out
    assert main(["db", "reconcile-counts"]) == 0
    total = client.get("/scim/v2/Users", headers=headers).get_json()["totalResults"]
    assert total == 2
