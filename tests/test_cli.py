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


def test_unknown_org_is_an_error_not_a_traceback(cli_db, capsys):
    assert main(["token", "list", "--org", "nope"]) == 1
    assert "No organization nope" in capsys.readouterr().err
