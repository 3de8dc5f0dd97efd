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


def test_version_prints_the_package_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"scim-server {version('scim_server')}"


def test_org_list_shows_every_organisation(cli_db, capsys):
    first = json.loads(run(capsys, "org", "create", "First", "--json"))
    second = json.loads(run(capsys, "org", "create", "Second", "--json"))
    listing = json.loads(run(capsys, "org", "list", "--json"))
    assert {(o["org_id"], o["name"], o["active"]) for o in listing} == {
        (first["org_id"], "First", True),
        (second["org_id"], "Second", True),
    }
    text = run(capsys, "org", "list")
    assert first["org_id"] in text and "Second" in text
    assert first["scim_token"] not in text  # never secrets


def test_commands_on_a_missing_database_fail_in_one_line_and_create_nothing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCIM_DATABASE_URL", "sqlite:///var/scim.db")
    assert main(["org", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: no database at ")
    assert "scim-server db upgrade" in err
    assert not (tmp_path / "var").exists()


def test_commands_on_an_unmigrated_database_fail_in_one_line(tmp_path, monkeypatch, capsys):
    import sqlite3

    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("SCIM_DATABASE_URL", f"sqlite:///{path}")
    assert main(["org", "create", "Too early"]) == 1
    err = capsys.readouterr().err
    assert err == "error: the database schema is not up to date; run `scim-server db upgrade`\n"


def test_an_unreachable_database_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv(
        "SCIM_DATABASE_URL", "postgresql+psycopg://scim:scim@127.0.0.1:1/scim?connect_timeout=2"
    )
    assert main(["org", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: the database does not answer: ")


def test_bad_configuration_is_one_line_naming_every_key(cli_db, monkeypatch, capsys):
    monkeypatch.setenv("SCIM_MAX_PAGE_SIZE", "0")
    monkeypatch.setenv("SCIM_SQLITE_SYNCHRONOUS", "OFF")
    assert main(["org", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: configuration: ")
    assert "SCIM_MAX_PAGE_SIZE" in err and "SCIM_SQLITE_SYNCHRONOUS" in err


def test_config_check_reports_every_problem_in_one_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCIM_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("SCIM_MAX_PATCH_OPERATIONS", "-1")
    monkeypatch.setenv("SCIM_BASE_URL", "scim.example.com")
    monkeypatch.setenv("SCIM_PROXY_FIX_HOPS", "many")
    assert main(["config", "check", "--host", "0.0.0.0"]) == 1
    out = capsys.readouterr().out.splitlines()
    problems = [line for line in out if line.startswith("problem: ")]
    assert len(problems) == 4, out
    joined = "\n".join(out)
    for fragment in ("SCIM_MAX_PATCH_OPERATIONS", "SCIM_BASE_URL", "SCIM_PROXY_FIX_HOPS"):
        assert fragment in joined
    assert "no database at" in joined
    assert any(line.startswith("warning: SCIM_TOKEN_PEPPER") for line in out)
    assert not (tmp_path / "none.db").exists()


def test_config_check_passes_a_good_configuration(cli_db, monkeypatch, capsys):
    monkeypatch.setenv("SCIM_TOKEN_PEPPER", "a-private-pepper")
    monkeypatch.setenv("SCIM_BASE_URL", "https://scim.example.com")
    assert main(["config", "check"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "0 problem(s), 0 warning(s)" in captured.err


def test_serve_hands_gunicorn_a_process_without_checkpoint_threads(cli_db, monkeypatch, capsys):
    """The bootstrap writes through an engine whose connections start a WAL checkpointer;
    gunicorn forks every worker from this process, so none may still run at the fork."""
    import os
    from pathlib import Path

    from scim_server import server
    from scim_server.storage import wal_checkpoints

    key = (os.getpid(), str(Path(cli_db.removeprefix("sqlite:///")).resolve()))
    seen: list[bool] = []

    def fake_gunicorn(host: str, port: int, workers: int) -> None:
        seen.append(key in wal_checkpoints._running)

    monkeypatch.setattr(server, "run_gunicorn", fake_gunicorn)
    assert main(["serve", "--bootstrap", "--port", "18999"]) == 0
    assert "SCIM token" in capsys.readouterr().out
    assert seen == [False]


def test_a_command_leaves_no_checkpoint_thread_behind(cli_db, capsys):
    """A command's engine starts a WAL checkpointer; a caller that goes on after ``main``
    (a test run, a script) keeps no thread of it, nor its log lines on stderr."""
    import os
    from pathlib import Path

    from scim_server.storage import wal_checkpoints

    key = (os.getpid(), str(Path(cli_db.removeprefix("sqlite:///")).resolve()))
    run(capsys, "org", "create", "Acme")
    assert key not in wal_checkpoints._running


def test_a_command_leaves_a_checkpointer_it_did_not_start(cli_db, capsys):
    """The calling process already checkpoints the file for an app of its own: the
    command's end leaves that checkpointer running."""
    from pathlib import Path

    from scim_server.storage import wal_checkpoints

    path = str(Path(cli_db.removeprefix("sqlite:///")).resolve())
    wal_checkpoints.ensure_running(path)
    try:
        run(capsys, "org", "create", "Acme")
        assert path in wal_checkpoints.running()
    finally:
        wal_checkpoints.stop([path])
    assert path not in wal_checkpoints.running()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12: fork with threads running
def test_serve_forks_workers_that_inherit_no_database_connection(tmp_path, monkeypatch, capsys):
    """SQLite's state of a connection open across a fork is the parent's: the worker would
    skip its own shared-memory lock. The bootstrap's connection is closed before the fork.
    """
    import os

    from scim_server import server

    db = tmp_path / "cli.db"
    monkeypatch.setenv("SCIM_DATABASE_URL", f"sqlite:///{db}")
    inherited: list[list[str]] = []

    def fake_gunicorn(host: str, port: int, workers: int) -> None:
        r, w = os.pipe()
        pid = os.fork()  # as gunicorn's arbiter forks a worker
        if pid == 0:
            os.close(r)
            mine = []
            for fd in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                except OSError:
                    continue
                if target.startswith(str(db)):
                    mine.append(target.removeprefix(str(tmp_path)))
            os.write(w, "\n".join(mine).encode())
            os._exit(0)
        os.close(w)
        inherited.append([s for s in os.read(r, 10000).decode().split("\n") if s])
        os.waitpid(pid, 0)

    monkeypatch.setattr(server, "run_gunicorn", fake_gunicorn)
    assert main(["serve", "--bootstrap", "--port", "18998"]) == 0
    capsys.readouterr()
    assert inherited == [[]]
