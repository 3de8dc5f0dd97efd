"""An IdP's lookup (``userName eq "…"``) runs as one prebuilt statement per attribute
(``scim.filter.equality``, ``scim_reads.users_where_equal``) instead of the general filter
translation. It must answer exactly what the general translation answers: each request
below is made twice, once as served and once with the lookup turned off, and the two
answers compared whole (totalResults, the page, every resource with its groups).
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from scim_server.scim import filter as scim_filter
from scim_server.services.directory import search
from scim_server.storage.attr_map import user_resolver
from tests.scim_client import GROUP
from tests.scim_client import Scim

RENEE_NFD = unicodedata.normalize("NFD", "renée@acme.com")


@pytest.fixture
def people(scim: Scim, client, other_org) -> dict[str, str]:
    alice = scim.create_user("Alice@Acme.com", externalId="Ext-1", displayName="Twin")
    bob = scim.create_user("bob@acme.com", externalId="ext-1b", displayName="twin")
    carol = scim.create_user("carol@acme.com", externalId="C3", displayName="Twin")
    renee = scim.create_user("renée@acme.com", externalId="R4")
    gone = scim.create_user("gone@acme.com", externalId="G5", displayName="Twin")
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    # The same names in another organisation's directory: never found from this one.
    stranger = Scim(client, other_org.token)
    stranger.create_user("alice@acme.com", externalId="Ext-1", displayName="Twin")
    scim.create_group("Engineering", members=[alice["id"], carol["id"]])
    return {"alice": alice["id"], "bob": bob["id"], "carol": carol["id"], "renee": renee["id"]}


def _both(scim: Scim, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any]) -> list[Any]:
    """The answer as served, then with the lookup off (the general translation)."""
    served = scim.get("/Users", query_string=params)
    with monkeypatch.context() as off:
        off.setattr(search, "equality", lambda _text, _resolve: None)
        general = scim.get("/Users", query_string=params)
    return [served.status_code, served.get_json()], [general.status_code, general.get_json()]


LOOKUPS = [
    {"filter": 'userName eq "alice@acme.com"'},
    {"filter": 'username EQ "ALICE@ACME.COM"'},
    {"filter": f'userName eq "{RENEE_NFD}"'},
    {"filter": 'userName eq "gone@acme.com"'},
    {"filter": 'userName eq "nobody@acme.com"'},
    {"filter": 'externalId eq "Ext-1"'},
    {"filter": 'externalId eq "ext-1"'},  # caseExact: not Ext-1
    {"filter": 'urn:ietf:params:scim:schemas:core:2.0:User:externalId eq "C3"'},
    {"filter": 'displayName eq "twin"'},
    {"filter": 'displayName eq "twin"', "count": "2"},
    {"filter": 'displayName eq "twin"', "count": "2", "startIndex": "3"},
    {"filter": 'displayName eq "twin"', "count": "1", "startIndex": "2"},
    {"filter": 'displayName eq "twin"', "startIndex": "9"},
    {"filter": 'displayName eq "twin"', "attributes": "userName"},
    {"filter": 'userName eq "alice@acme.com"', "excludedAttributes": "groups"},
    {"filter": 'userName eq "alice@acme.com"', "attributes": "groups"},
    {"filter": 'name.givenName eq "given"'},
]


@pytest.mark.parametrize("params", LOOKUPS, ids=lambda p: " ".join(p.values()))
def test_a_lookup_answers_as_the_general_filter(scim, people, monkeypatch, params):
    served, general = _both(scim, monkeypatch, params)
    assert served == general
    assert served[0] == 200


def test_the_lookups_find_who_they_should(scim, people):
    def found(text: str, **params: Any) -> list[str]:
        return [r["id"] for r in scim.filter_users(text, **params)["Resources"]]

    assert found('userName eq "ALICE@acme.com"') == [people["alice"]]
    assert found(f'userName eq "{RENEE_NFD}"') == [people["renee"]]
    assert found('externalId eq "Ext-1"') == [people["alice"]]
    assert found('externalId eq "ext-1"') == []
    assert found('userName eq "gone@acme.com"') == []
    twins = sorted([people["alice"], people["bob"], people["carol"]])
    assert found('displayName eq "TWIN"') == twins
    page = scim.filter_users('displayName eq "twin"', count=2, startIndex=2)
    assert (page["totalResults"], [r["id"] for r in page["Resources"]]) == (3, twins[1:])
    with_groups = scim.filter_users('userName eq "alice@acme.com"')["Resources"][0]
    assert [g["display"] for g in with_groups["groups"]] == ["Engineering"]


@pytest.mark.parametrize(
    "text",
    [
        'userName ne "a"',
        'not (userName eq "a")',
        'userName eq "a" and externalId eq "b"',
        'emails.value eq "a@b.c"',
        'emails[type eq "work"].value eq "a@b.c"',
        "active eq true",
        'active eq "True"',
        'meta.lastModified eq "2024-01-01T00:00:00Z"',
        "userName pr",
        'nosuch eq "a"',
        "userName eq null",
    ],
)
def test_other_filters_take_the_general_translation(app, text):
    with app.app_context():
        resolve = user_resolver(app.extensions["scim_registry"].user)
    assert scim_filter.equality(text, resolve) is None


@pytest.mark.parametrize("text", ['userName eq "a\\u0000b"', 'userName eq "\\ud800"'])
def test_a_lookup_refuses_what_the_general_filter_refuses(scim, people, monkeypatch, text):
    served, general = _both(scim, monkeypatch, {"filter": text})
    assert served[0] == general[0] == 400
    assert served[1]["scimType"] == general[1]["scimType"] == "invalidFilter"
    assert served[1]["detail"] == general[1]["detail"]


@pytest.fixture
def teams(scim: Scim, client, other_org, people) -> dict[str, str]:
    sales = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Sales", "externalId": "G-1", "members": []},
    )
    assert sales.status_code == 201
    Scim(client, other_org.token).create_group("Sales")
    listed = scim.get("/Groups", query_string={"filter": 'displayName eq "Engineering"'})
    return {"sales": sales.get_json()["id"], "engineering": listed.get_json()["Resources"][0]["id"]}


def _both_groups(scim: Scim, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any]) -> list:
    served = scim.get("/Groups", query_string=params)
    with monkeypatch.context() as off:
        off.setattr(search, "equality", lambda _text, _resolve: None)
        general = scim.get("/Groups", query_string=params)
    return [served.status_code, served.get_json()], [general.status_code, general.get_json()]


GROUP_LOOKUPS = [
    {"filter": 'displayName eq "engineering"'},
    {"filter": 'displayName eq "SALES"'},
    {"filter": 'displayName eq "Nobody"'},
    {"filter": 'externalId eq "G-1"'},
    {"filter": 'externalId eq "g-1"'},
    {"filter": 'displayName eq "Engineering"', "excludedAttributes": "members"},
    {"filter": 'displayName eq "Engineering"', "startIndex": "2"},
]


@pytest.mark.parametrize("params", GROUP_LOOKUPS, ids=lambda p: " ".join(p.values()))
def test_a_group_lookup_answers_as_the_general_filter(scim, teams, monkeypatch, params):
    served, general = _both_groups(scim, monkeypatch, params)
    assert served == general
    assert served[0] == 200


def test_the_group_lookups_find_who_they_should(scim, people, teams):
    def found(text: str, **params: Any) -> list[Any]:
        listed = scim.get("/Groups", query_string={"filter": text, **params}).get_json()
        return [
            (r["id"], sorted(m["value"] for m in r.get("members", []))) for r in listed["Resources"]
        ]

    engineering = (teams["engineering"], sorted([people["alice"], people["carol"]]))
    assert found('displayName eq "ENGINEERING"') == [engineering]
    assert found('externalId eq "G-1"') == [(teams["sales"], [])]
    assert found('externalId eq "g-1"') == []
    assert found('displayName eq "Engineering"', excludedAttributes="members") == [
        (teams["engineering"], [])
    ]
