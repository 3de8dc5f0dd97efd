"""One person per Unicode name: NFC and NFD spellings are the same userName and email.

``renée@example.com`` sent composed (NFC) and then decomposed (NFD: e + U+0301) used to
create two users, two persons and two seats. Every lookup key is NFC (and IDNA for email
domains) on every path: SCIM create, filters, the person's email key that JIT and
invitations use, and the management API's member search.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select

from scim_server.services.emails import normalize_email
from scim_server.storage.models import User

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
NFC = unicodedata.normalize("NFC", "renée@exämple.com")
NFD = unicodedata.normalize("NFD", NFC)


def _body(name: str) -> dict:
    return {"schemas": [USER], "userName": name, "emails": [{"value": name, "primary": True}]}


def test_nfc_then_nfd_is_one_person(scim) -> None:
    assert NFC != NFD
    assert scim.post("/Users", _body(NFC)).status_code == 201
    second = scim.post("/Users", _body(NFD))
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["scimType"] == "uniqueness"


def test_nfd_first_is_stored_nfc_and_found_by_either_spelling(scim) -> None:
    created = scim.post("/Users", _body(NFD)).get_json()
    assert created["userName"] == NFC
    for spelling in (NFC, NFD):
        found = scim.filter_users(f'userName eq "{spelling}"')
        assert [r["id"] for r in found["Resources"]] == [created["id"]]
        found = scim.filter_users(f'emails.value eq "{spelling}"')
        assert [r["id"] for r in found["Resources"]] == [created["id"]]


def test_the_person_key_is_the_one_jit_and_invitations_use(scim, db) -> None:
    """An NFD, Unicode-domain address from SCIM is keyed as normalize_email() keys it."""
    scim.post("/Users", _body(NFD))
    keys = db.scalars(select(User.email_normalized).where(User.email == NFC)).all()
    assert keys == [normalize_email(NFD)] == ["renée@xn--exmple-cua.com"]


def test_member_search_finds_either_spelling(scim, admin) -> None:
    scim.post("/Users", _body(NFC))
    for spelling in (NFD, "RENÉE@xn--exmple-cua.com"):
        response = admin.client.get(
            f"/api/v1/organizations/{admin.org_id}/members",
            query_string={"email": spelling},
            headers={"Authorization": f"Bearer {admin.key}"},
        )
        assert response.status_code == 200, response.get_json()
        assert len(response.get_json()["members"]) == 1, spelling


def test_group_display_names_are_one_name(scim) -> None:
    assert scim.post("/Groups", {"schemas": [GROUP], "displayName": "Équipe"}).status_code == 201
    nfd = unicodedata.normalize("NFD", "Équipe")
    second = scim.post("/Groups", {"schemas": [GROUP], "displayName": nfd})
    assert second.status_code == 409
