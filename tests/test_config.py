"""Settings: the README table matches config.py, secrets stay strings, warnings for public binds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scim_server import config
from scim_server import create_app
from scim_server.cli import main
from tests.conftest import build_app
from tests.scim_client import USER

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_settings() -> set[str]:
    text = README.read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `SCIM_")]
    return {name for row in rows for name in re.findall(r"`SCIM_([A-Z_]+)`", row.split("|")[1])}


def test_readme_lists_exactly_the_settings_config_defines():
    assert _readme_settings() == set(config.DEFAULTS)


def test_secrets_and_urls_are_read_verbatim_numbers_are_parsed():
    settings = config.from_environment(
        {
            "SCIM_TOKEN_PEPPER": "12345",
            "SCIM_PLATFORM_KEY": "true",
            "SCIM_METRICS_TOKEN": "[1, 2]",
            "SCIM_MAX_PAGE_SIZE": "200",
            "SCIM_ECHO_SQL": "false",
            "OTHER": "1",
        }
    )
    assert settings == {
        "TOKEN_PEPPER": "12345",
        "PLATFORM_KEY": "true",
        "METRICS_TOKEN": "[1, 2]",
        "MAX_PAGE_SIZE": 200,
        "ECHO_SQL": False,
    }


def test_a_numeric_pepper_from_the_environment_starts_the_app(monkeypatch, database_url):
    monkeypatch.setenv("SCIM_TOKEN_PEPPER", "987654321")
    app = create_app({"DATABASE_URL": database_url})
    assert app.config["TOKEN_PEPPER"] == "987654321"


def test_validate_names_every_bad_key_at_once():
    settings = {**config.DEFAULTS, "MAX_PAGE_SIZE": 0, "DB_MAX_OVERFLOW": -1, "TOKEN_PEPPER": ""}
    with pytest.raises(config.ConfigError) as error:
        config.validate(settings)
    for key in ("SCIM_MAX_PAGE_SIZE", "SCIM_DB_MAX_OVERFLOW", "SCIM_TOKEN_PEPPER"):
        assert key in str(error.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"])
def test_no_warnings_on_a_loopback_bind(host):
    assert config.warnings(config.DEFAULTS, host) == []


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "scim.internal"])
def test_development_pepper_and_missing_base_url_warn_on_a_public_bind(host):
    found = config.warnings(config.DEFAULTS, host)
    assert [w.split(" ", 1)[0] for w in found] == ["SCIM_TOKEN_PEPPER", "SCIM_BASE_URL"]
    configured = {**config.DEFAULTS, "TOKEN_PEPPER": "mine", "BASE_URL": "https://s.example"}
    assert config.warnings(configured, host) == []


def test_serve_prints_the_warnings_before_starting(tmp_path, monkeypatch, capsys):
    started: list[tuple[str, int, int]] = []
    monkeypatch.setattr("scim_server.server.run_gunicorn", lambda *args: started.append(args))
    monkeypatch.setenv("SCIM_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.delenv("SCIM_TOKEN_PEPPER", raising=False)
    monkeypatch.delenv("SCIM_BASE_URL", raising=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert "WARNING: SCIM_TOKEN_PEPPER is the built-in development pepper" in err
    assert "WARNING: SCIM_BASE_URL is unset" in err
    assert started == [("0.0.0.0", 8123, 2)]
    assert (tmp_path / "serve.db").exists()  # SQLite: serve migrated it


def _location(app, org_headers: dict[str, str], headers: dict[str, str]) -> str:
    response = app.test_client().post(
        "/scim/v2/Users",
        json={"schemas": [USER], "userName": f"p{len(headers)}@example.com"},
        headers={**org_headers, **headers},
    )
    assert response.status_code == 201, response.get_json()
    return str(response.headers["Location"])


@pytest.mark.parametrize("hops", [0, 1])
def test_forwarded_headers_are_trusted_only_with_proxy_fix_hops(
    connection, database_url, org, hops
):
    app = build_app(connection, database_url, {"PROXY_FIX_HOPS": hops})
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "scim.example.com"}
    location = _location(app, org.headers, forwarded)
    if hops:
        assert location.startswith("https://scim.example.com/scim/v2/Users/")
    else:
        assert location.startswith("http://localhost/scim/v2/Users/")
