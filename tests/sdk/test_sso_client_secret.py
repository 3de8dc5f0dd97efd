"""The OIDC client secret reaches the host product only through the Python API, decrypted
for its own handshake; no HTTP route returns it (tests/api/admin/test_sso_protocol_config.py)."""

from __future__ import annotations

import pytest

from scim_server.sdk import NotFound
from scim_server.sdk import Services
from tests.certificates import make_pem


@pytest.fixture
def services(app) -> Services:
    return Services.from_app(app)


def create(admin, config: dict) -> str:
    body = {"name": "IdP", "protocol_config": config}
    response = admin.call("POST", f"/organizations/{admin.org_id}/sso-connections", body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def test_the_host_reads_the_decrypted_secret(services, admin, org):
    oidc = {
        "protocol": "oidc",
        "issuer": "https://login.example.com",
        "client_id": "c",
        "client_secret": "very-secret",
    }
    connection_id = create(admin, oidc)
    assert services.sso_client_secret(org.id, connection_id) == "very-secret"


def test_none_for_saml_and_not_found_for_another_org(services, admin, org, other_org):
    saml = {
        "preset": "okta",
        "entity_id": "urn:x",
        "sso_url": "https://idp.example/sso",
        "certificates": [make_pem()],
    }
    connection_id = create(admin, saml)
    assert services.sso_client_secret(org.id, connection_id) is None
    with pytest.raises(NotFound):
        services.sso_client_secret(other_org.id, connection_id)
