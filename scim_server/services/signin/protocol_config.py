"""An SSO connection's IdP side: one shape for every IdP, SAML 2.0 or OIDC.

The server stores and validates what the customer's IT admin pastes (SAML metadata XML,
entity id, SSO URL, signing certificates; OIDC issuer, client id and secret) plus the
claim mapping, and serves it to the host product, which runs the handshake itself. Nothing
here touches the network: metadata is pasted, never fetched. Per-IdP presets only pre-fill
the same form (README "Console"), so a new IdP is a row in ``PRESETS``, not new code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding

from scim_server.scim.errors import excerpt
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError

PROTOCOLS = ("saml", "oidc")
CLAIMS = ("email", "name", "groups")
# A certificate this close to expiry is flagged so the admin rotates it in time.
WARN_DAYS = 30
MAX_CERTIFICATES = 4
_MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
_DS = "{http://www.w3.org/2000/09/xmldsig#}"
_FIELDS = {
    "protocol",
    "preset",
    "metadata_xml",
    "entity_id",
    "sso_url",
    "certificates",
    "issuer",
    "client_id",
    "client_secret",
    "claim_mapping",
}


@dataclass(frozen=True)
class Preset:
    """What an IdP calls its claims, and which protocol its admins usually pick."""

    label: str
    protocol: str
    claims: dict[str, str]


_XML_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
PRESETS: dict[str, Preset] = {
    "okta": Preset("Okta", "saml", {"email": "email", "name": "name", "groups": "groups"}),
    "entra_id": Preset(
        "Microsoft Entra ID",
        "saml",
        {
            "email": f"{_XML_CLAIMS}/emailaddress",
            "name": f"{_XML_CLAIMS}/name",
            "groups": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
        },
    ),
    "google": Preset(
        "Google Workspace", "saml", {"email": "email", "name": "name", "groups": "groups"}
    ),
    "onelogin": Preset(
        "OneLogin", "saml", {"email": "User.email", "name": "User.FirstName", "groups": "memberOf"}
    ),
    "jumpcloud": Preset(
        "JumpCloud", "saml", {"email": "email", "name": "name", "groups": "memberOf"}
    ),
    "generic": Preset(
        "Other (SAML or OIDC)", "oidc", {"email": "email", "name": "name", "groups": "groups"}
    ),
}


def _invalid(message: str) -> ProvisioningError:
    return ProvisioningError(ErrorCode.VALIDATION_ERROR, message)


def validate(raw: Any, *, now: datetime | None = None) -> tuple[dict[str, Any], str | None]:
    """The stored configuration and the plain client secret (None: keep the old one).

    Everything missing from ``raw`` comes from its preset; a bad value is a 400 naming it.
    """
    if not isinstance(raw, dict):
        raise _invalid("'protocol_config' must be an object.")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _invalid(f"Unknown protocol_config fields: {excerpt(', '.join(sorted(unknown)))}.")
    preset_name = raw.get("preset", "generic")
    if not isinstance(preset_name, str) or preset_name not in PRESETS:
        raise _invalid(f"'preset' is one of {', '.join(PRESETS)}.")
    preset = PRESETS[preset_name]
    protocol = raw.get("protocol", preset.protocol)
    if protocol not in PROTOCOLS:
        raise _invalid("'protocol' is 'saml' or 'oidc'.")
    config: dict[str, Any] = {"protocol": protocol, "preset": preset_name}
    config["claim_mapping"] = _claims(raw.get("claim_mapping"), preset)
    if protocol == "saml":
        config.update(_saml(raw, now or _now()))
        return config, None
    config.update(_oidc(raw))
    secret = raw.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret.strip()):
        raise _invalid("'client_secret' must be a non-empty string.")
    return config, secret


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _claims(raw: Any, preset: Preset) -> dict[str, str]:
    if raw is None:
        return dict(preset.claims)
    if not isinstance(raw, dict) or set(raw) - set(CLAIMS):
        raise _invalid(f"'claim_mapping' maps only {', '.join(CLAIMS)}.")
    merged = {**preset.claims, **raw}
    for claim, value in merged.items():
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"'claim_mapping.{claim}' must be a non-empty string.")
    return {claim: merged[claim].strip() for claim in CLAIMS}


def _string(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise _invalid(f"'{field}' must be a string.")
    return value.strip()


def _https_url(value: str | None, field: str) -> str:
    if value is None:
        raise _invalid(f"'{field}' is required (or paste the IdP's metadata XML).")
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = urlsplit("")
    if parts.scheme != "https" or not parts.netloc:
        raise _invalid(f"'{field}' must be an https:// URL, got {excerpt(value)}.")
    return value


def _saml(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    xml = _string(raw, "metadata_xml")
    parsed = parse_metadata(xml) if xml else {}
    entity_id = _string(raw, "entity_id") or parsed.get("entity_id")
    if entity_id is None:
        raise _invalid("'entity_id' is required (or paste the IdP's metadata XML).")
    sso_url = _https_url(_string(raw, "sso_url") or parsed.get("sso_url"), "sso_url")
    pems = raw.get("certificates") or parsed.get("certificates") or []
    if isinstance(pems, str):
        pems = [pems]
    if not isinstance(pems, list) or not pems or not all(isinstance(p, str) for p in pems):
        raise _invalid("'certificates' needs at least one PEM signing certificate.")
    if len(pems) > MAX_CERTIFICATES:
        raise _invalid(f"At most {MAX_CERTIFICATES} signing certificates.")
    certificates = [check_certificate(pem, now) for pem in pems]
    return {"entity_id": entity_id, "sso_url": sso_url, "certificates": certificates}


def _oidc(raw: dict[str, Any]) -> dict[str, Any]:
    issuer = _https_url(_string(raw, "issuer"), "issuer")
    client_id = _string(raw, "client_id")
    if client_id is None:
        raise _invalid("'client_id' is required for OIDC.")
    return {"issuer": issuer, "client_id": client_id}


def parse_metadata(xml: str) -> dict[str, Any]:
    """Entity id, SSO URL and signing certificates from pasted SAML metadata.

    A DOCTYPE is refused outright: metadata never needs one, and refusing it rules out
    entity-expansion attacks whatever the XML parser's defaults.
    """
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        raise _invalid("SAML metadata must not contain a DOCTYPE or entities.")
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise _invalid(f"The SAML metadata is not well-formed XML: {exc}.") from None
    idp = root.find(f".//{_MD}IDPSSODescriptor")
    if root.tag != f"{_MD}EntityDescriptor" or idp is None:
        raise _invalid("The SAML metadata has no EntityDescriptor with an IDPSSODescriptor.")
    sso = idp.find(f"{_MD}SingleSignOnService")
    certs = [
        _pem((node.text or "").strip())
        for key in idp.findall(f"{_MD}KeyDescriptor")
        if key.get("use") in (None, "signing")
        for node in key.iter(f"{_DS}X509Certificate")
    ]
    return {
        "entity_id": root.get("entityID"),
        "sso_url": sso.get("Location") if sso is not None else None,
        "certificates": certs,
    }


def _pem(b64: str) -> str:
    body = "".join(b64.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def check_certificate(pem: str, now: datetime) -> dict[str, Any]:
    """Parse one PEM certificate: refuse garbage and expired ones, flag those near expiry."""
    try:
        cert = x509.load_pem_x509_certificate(pem.strip().encode())
    except (ValueError, binascii.Error):
        raise _invalid("A signing certificate is not a PEM X.509 certificate.") from None
    not_after = cert.not_valid_after_utc.replace(tzinfo=None)
    if not_after <= now:
        raise _invalid(f"The signing certificate expired on {not_after.date().isoformat()}.")
    return {
        "pem": cert.public_bytes(Encoding.PEM).decode(),
        "subject": cert.subject.rfc4514_string(),
        "not_after": not_after.isoformat() + "Z",
        "sha256_fingerprint": hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
    }


def certificate_status(cert: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Days left and the 30-day warning, worked out when shown (they change every day)."""
    not_after = datetime.fromisoformat(cert["not_after"].rstrip("Z"))
    days = (not_after - (now or _now())).days
    return {**cert, "expires_in_days": days, "expiring_soon": days < WARN_DAYS}


def _fernet(pepper: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sso-client-secret").derive(
        pepper.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str, pepper: str) -> str:
    """The OIDC client secret at rest: encrypted (the host needs it back), never shown."""
    return _fernet(pepper).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, pepper: str) -> str:
    """For the host product's handshake (``sdk.py``), never for an API response."""
    return _fernet(pepper).decrypt(token.encode()).decode()


def preset_json() -> dict[str, Any]:
    return {
        name: {"label": p.label, "protocol": p.protocol, "claim_mapping": dict(p.claims)}
        for name, p in PRESETS.items()
    }
