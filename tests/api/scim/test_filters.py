"""Filters (RFC 7644 §3.4.2.2) run in SQL: every operator, logic and value paths."""

from __future__ import annotations

import pytest

from tests.scim_client import ENTERPRISE
from tests.scim_client import assert_scim_error


@pytest.fixture
def people(scim):
    alice = scim.create_user(
        "alice@acme.com",
        externalId="A1",
        title="Engineer",
        emails=[
            {"value": "alice@acme.com", "type": "work", "primary": True},
            {"value": "alice@home.org", "type": "home"},
        ],
        **{ENTERPRISE: {"department": "R&D", "employeeNumber": "100"}},
    )
    bob = scim.create_user(
        "bob@globex.com",
        externalId="B2",
        title="Manager",
        emails=[{"value": "bob@globex.com", "type": "work"}],
        **{ENTERPRISE: {"department": "Sales"}},
    )
    carol = scim.create_user("carol@acme.com", active=False)
    return {"alice": alice["id"], "bob": bob["id"], "carol": carol["id"]}


def ids(scim, text):
    return sorted(r["id"] for r in scim.filter_users(text, count=100)["Resources"])


def expect(people, *names):
    return sorted(people[n] for n in names)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('userName eq "alice@acme.com"', ["alice"]),
        ('userName ne "alice@acme.com"', ["bob", "carol"]),
        ('userName co "ACME"', ["alice", "carol"]),
        ('userName sw "B"', ["bob"]),
        ('userName ew "@acme.com"', ["alice", "carol"]),
        ("title pr", ["alice", "bob"]),
        ('title gt "F"', ["bob"]),
        ('title ge "Engineer"', ["alice", "bob"]),
        ('title lt "F"', ["alice"]),
        ('title le "Manager"', ["alice", "bob"]),
        ('externalId eq "A1"', ["alice"]),
        ("active eq true", ["alice", "bob"]),
        ("active eq false", ["carol"]),
        ('active eq "True"', ["alice", "bob"]),  # Entra's string boolean in filters
        ('emails.value eq "alice@home.org"', ["alice"]),
        ('emails co "globex"', ["bob"]),
        ('emails[type eq "work" and value co "@acme"]', ["alice", "carol"]),
        ('emails[type eq "home"]', ["alice"]),
        ('emails[type eq "work"].value eq "bob@globex.com"', ["bob"]),
        ("emails[primary eq true]", ["alice", "carol"]),
        ("emails pr", ["alice", "bob", "carol"]),
        (f'{ENTERPRISE}:department eq "Sales"', ["bob"]),
        (f"{ENTERPRISE}:employeeNumber pr", ["alice"]),
        ('not (userName eq "alice@acme.com")', ["bob", "carol"]),
        (
            'userName eq "bob@globex.com" or userName eq "carol@acme.com" and active eq true',
            ["bob"],
        ),
        (
            '(userName eq "bob@globex.com" or userName eq "carol@acme.com") and active eq false',
            ["carol"],
        ),
        ('USERNAME EQ "alice@acme.com"', ["alice"]),
        ('meta.resourceType eq "User"', ["alice", "bob", "carol"]),
    ],
)
def test_operator(scim, people, text, names):
    assert ids(scim, text) == expect(people, *names)


def test_meta_dates_compare_as_instants(scim, people):
    created = scim.get(f"/Users/{people['alice']}").get_json()["meta"]["created"]
    assert ids(scim, 'meta.created gt "2000-01-01T00:00:00Z"') == expect(
        people, "alice", "bob", "carol"
    )
    assert ids(scim, 'meta.lastModified lt "2000-01-01T00:00:00Z"') == []
    assert people["alice"] in ids(scim, f'meta.created le "{created}"')


def test_filter_on_groups_of_a_user(scim, people):
    group = scim.create_group("Engineers", members=[people["alice"]])
    assert ids(scim, f'groups.value eq "{group["id"]}"') == expect(people, "alice")
    assert ids(scim, f'groups eq "{group["id"]}"') == expect(people, "alice")


@pytest.mark.parametrize(
    "text",
    [
        "userName",  # no operator (Okta's 2016 SPEC test probe)
        'userName zz "x"',  # unknown operator
        'nosuchattribute eq "x"',  # the parser would accept it; the schema does not
        'name.nosuch eq "x"',
        'emails[nosuch eq "x"]',
        'urn:example:unknown:2.0:User:thing eq "x"',
        'userName eq "unterminated',
        "active eq 3",
        'meta.created gt "yesterday"',
        "userName eq 12",
        "password pr",
        '((userName eq "x")',
        "active gt true",
        "externalId eq jyoung",  # unquoted value
    ],
)
def test_bad_filters_are_400_invalid_filter(scim, text):
    response = scim.get("/Users", query_string={"filter": text})
    assert_scim_error(response, 400, "invalidFilter")


def test_form_encoded_plus_is_a_space(client, org, people):
    response = client.get(
        "/scim/v2/Users?filter=externalId+eq+%22B2%22",
        headers={"Authorization": f"Bearer {org.token}"},
    )
    assert [r["id"] for r in response.get_json()["Resources"]] == [people["bob"]]


def test_deleted_users_are_omitted_from_filters(scim, people):
    scim.delete(f"/Users/{people['bob']}")
    assert ids(scim, 'userName co "@"') == expect(people, "alice", "carol")
    assert ids(scim, 'emails.value eq "bob@globex.com"') == []
