"""The Python API on its own database, without the HTTP app: it commits for real, reads
its pepper from the configuration, and the README's example runs as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from scim_server import create_app
from scim_server.sdk import ProvisioningError
from scim_server.sdk import Services
from scim_server.storage import migrate
from tests.scim_client import Admin

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Calling the services from your own code"
PEPPER = "standalone-pepper"
PLATFORM_KEY = "standalone-platform-key"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sdk') / 'sdk.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    with Services({"DATABASE_URL": database_url, "TOKEN_PEPPER": PEPPER}) as built:
        yield built


@pytest.fixture
def http(database_url: str) -> Iterator[Admin]:
    """The server on the same database, as another process would run it."""
    app = create_app(
        {"DATABASE_URL": database_url, "TOKEN_PEPPER": PEPPER, "PLATFORM_KEY": PLATFORM_KEY}
    )
    yield Admin(app.test_client(), PLATFORM_KEY)
    app.extensions["scim_engine"].dispose()


def test_links_cross_between_python_and_http_with_one_pepper(services, http):
    org = services.create_organization("Standalone")
    made_here = services.invite(org.id, "ada@acme.com", acting_user="key")
    accepted = http.call("POST", "/invitations/accept", {"token": made_here.token})
    assert accepted.status_code == 200, accepted.get_json()  # the invitation was committed
    made_there = http.call("POST", f"/organizations/{org.id}/invitations", {"email": "bo@acme.com"})
    assert made_there.status_code == 201, made_there.get_json()
    assert services.accept_invitation(made_there.get_json()["token"]).outcome == "accepted"


def test_another_pepper_cannot_accept_the_servers_links(services, database_url):
    org = services.create_organization("Peppered")
    issued = services.invite(
        org.id, "cy@acme.com", acting_user="key"
    )  # the database outlives each test
    stranger = Services({"DATABASE_URL": database_url, "TOKEN_PEPPER": "another"})
    with stranger, pytest.raises(ProvisioningError, check=lambda e: e.code == "invitation_invalid"):
        stranger.accept_invitation(issued.token)
    assert services.accept_invitation(issued.token).outcome == "accepted"


def test_a_bad_configuration_is_refused_at_construction():
    with pytest.raises(ValueError, match="SCIM_TOKEN_PEPPER"):
        Services({"DATABASE_URL": "sqlite://", "TOKEN_PEPPER": ""})


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the section holds one runnable example"
    return str(blocks[0])


def test_the_readme_example_runs(capsys):
    exec(compile(readme_example(), str(README), "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out
    assert "send this link: /invitations/accept?token=" in printed
    assert "refused: membership_disabled" in printed
    assert "invitation.accepted" in printed
