"""An SSO connection's IdP side through the management API: one shape for every IdP,
validated (PEM certificates parsed, expiry refused, 30-day warning), the OIDC client
secret stored encrypted and never returned, our side's URLs served for the host."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scim_server.services.signin.protocol_config import decrypt_secret
from scim_server.storage.models import Event
from scim_server.storage.models import SsoConnection
from tests.certificates import make_pem
from tests.certificates import metadata_xml
from tests.conftest import PEPPER
from tests.scim_client import assert_api_error


def base(org_id: str) -> str:
    return f"/organizations/{org_id}/sso-connections"


def create(admin, config: dict, name: str = "Okta"):
    return admin.call("POST", base(admin.org_id), {"name": name, "protocol_config": config})


def test_okta_preset_with_pasted_metadata_fills_the_idp_side(admin):
    pem = make_pem(days_left=200)
    response = create(admin, {"preset": "okta", "metadata_xml": metadata_xml(pem)})
    assert response.status_code == 201, response.get_json()
    config = response.get_json()["protocol_config"]
    assert config["protocol"] == "saml"
    assert config["entity_id"] == "http://www.okta.com/exk1"
    assert config["sso_url"] == "https://acme.okta.com/app/sso/saml"
    assert config["claim_mapping"] == {"email": "email", "name": "name", "groups": "groups"}
    [cert] = config["certificates"]
    assert cert["subject"] == "CN=idp.example.com"
    assert cert["expires_in_days"] == 200 and cert["expiring_soon"] is False
    assert len(cert["sha256_fingerprint"]) == 64
    ours = response.get_json()["service_provider"]
    connection_id = response.get_json()["id"]
    assert ours["acs_url"].endswith(f"/sso/{connection_id}/saml/acs")
    fetched = admin.call("GET", f"{base(admin.org_id)}/{connection_id}").get_json()
    assert fetched["protocol_config"] == config


def test_a_certificate_near_expiry_is_flagged_and_an_expired_one_refused(admin, db):
    soon = create(
        admin,
        {
            "preset": "okta",
            "entity_id": "urn:x",
            "sso_url": "https://idp.example/sso",
            "certificates": [make_pem(days_left=10)],
        },
    )
    assert soon.status_code == 201, soon.get_json()
    assert soon.get_json()["protocol_config"]["certificates"][0]["expiring_soon"] is True
    expired = create(
        admin,
        {
            "preset": "okta",
            "entity_id": "urn:x",
            "sso_url": "https://idp.example/sso",
            "certificates": [make_pem(days_left=-2)],
        },
        name="Old",
    )
    body = assert_api_error(expired, 400, "validation_error")
    assert "expired" in body["error"]["message"]
    names = db.scalars(select(SsoConnection.name)).all()
    assert "Old" not in names


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            {
                "preset": "okta",
                "entity_id": "urn:x",
                "sso_url": "https://i/s",
                "certificates": ["junk"],
            },
            "PEM",
        ),
        (
            {"preset": "okta", "entity_id": "urn:x", "sso_url": "http://i/s", "certificates": []},
            "https://",
        ),
        ({"preset": "okta", "metadata_xml": "<not-xml"}, "well-formed"),
        ({"preset": "okta", "metadata_xml": '<!DOCTYPE x [<!ENTITY a "b">]><x/>'}, "DOCTYPE"),
        ({"preset": "nope"}, "preset"),
        ({"protocol": "ws-fed"}, "protocol"),
        ({"protocol": "oidc", "issuer": "https://i", "client_id": "c"}, "client_secret"),
        (
            {
                "protocol": "oidc",
                "issuer": "https://i",
                "client_id": "c",
                "client_secret": "s",
                "claim_mapping": {"phone": "x"},
            },
            "claim_mapping",
        ),
        (
            {
                "protocol": "oidc",
                "issuer": "https://i",
                "client_id": "c",
                "client_secret": "s",
                "metadata_url": "https://i/m",
            },
            "Unknown",
        ),
    ],
)
def test_bad_configuration_is_a_clear_400_and_creates_nothing(admin, db, config, words):
    before = db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    body = assert_api_error(create(admin, config, name="Bad"), 400, "validation_error")
    assert words in body["error"]["message"]
    assert db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) == before


def test_oidc_client_secret_is_encrypted_and_never_returned(admin, db):
    config = {
        "preset": "generic",
        "protocol": "oidc",
        "issuer": "https://login.example.com",
        "client_id": "abc",
        "client_secret": "s3cret-value",
    }
    response = create(admin, config, name="OIDC")
    assert response.status_code == 201, response.get_json()
    assert "s3cret-value" not in response.get_data(as_text=True)
    assert response.get_json()["protocol_config"]["client_secret_set"] is True
    row = db.get(SsoConnection, response.get_json()["id"])
    db.refresh(row)
    assert row.client_secret_encrypted and "s3cret" not in row.client_secret_encrypted
    assert decrypt_secret(row.client_secret_encrypted, PEPPER) == "s3cret-value"
    events = admin.events()["events"]
    assert "s3cret-value" not in str(events)
    # An update without a secret keeps it; the feed still never shows it.
    patched = admin.call(
        "PATCH",
        f"{base(admin.org_id)}/{row.id}",
        {"protocol_config": {**config, "client_secret": None, "client_id": "xyz"}},
    )
    assert patched.status_code == 200, patched.get_json()
    db.refresh(row)
    assert decrypt_secret(row.client_secret_encrypted, PEPPER) == "s3cret-value"


def test_entra_preset_prefills_its_claim_names(admin):
    response = create(
        admin,
        {
            "preset": "entra_id",
            "entity_id": "https://sts.windows.net/t/",
            "sso_url": "https://login.microsoftonline.com/t/saml2",
            "certificates": [make_pem()],
        },
        name="Entra",
    )
    claims = response.get_json()["protocol_config"]["claim_mapping"]
    assert claims["email"].endswith("/claims/emailaddress")
    assert claims["groups"].endswith("/claims/groups")


@pytest.mark.parametrize(
    "config",
    [
        {"preset": ["okta"]},
        {"preset": {"a": 1}},
        {"protocol": "oidc", "issuer": "https://[broken", "client_id": "c", "client_secret": "s"},
        {"protocol": ["saml"]},
    ],
)
def test_odd_json_shapes_are_400_never_500(admin, config):
    assert_api_error(create(admin, config, name="Odd"), 400, "validation_error")
