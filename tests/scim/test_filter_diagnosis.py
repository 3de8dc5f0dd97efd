"""Every filter that does not parse gets a detail with where, what was expected and the
fix for the usual mistakes (scim_server/scim/filter_diagnosis.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.filter_diagnosis import explain
from scim_server.scim.paths import parse_filter_ast


def detail(text: str) -> str:
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter_ast(text)
    return caught.value.detail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "userName eq bjensen",
            'at character 13: string values must be quoted: write userName eq "bjensen"',
        ),
        ("emails[type eq work]", 'string values must be quoted: write type eq "work"'),
        ("userName eq 'bjensen'", "at character 13: strings must be in double quotes"),
        ('userName == "bjensen"', "at character 10: '==' is not a SCIM operator; write 'eq'"),
        ('userName != "b"', "write 'ne'"),
        ('userName >= "b"', "write 'ge'"),
        ('userName = "b"', "write 'eq'"),
        ("title pr && active eq true", "'&&' is not a SCIM operator; write 'and'"),
        ('userName "bjensen"', "at character 10: expected an operator (eq, ne, co"),
        ('userName equals "b"', "'equals' is not an operator"),
        ("userName eq", "at the end (character 12): expected a value after 'eq'"),
        ('userName eq "b" and', "expected an expression after 'and'"),
        ('(userName eq "b"', "'(' not closed; add ')'"),
        ('userName eq "b")', "at character 16: ')' closes nothing"),
        ('emails[type eq "work"', "'[' not closed; add ']'"),
        ('userName eq "a" userName eq "b"', "at character 17: expected 'and', 'or' or the end"),
        (
            'not userName eq "b"',
            "'not' takes a filter in parentheses: write not (userName eq \"b\")",
        ),
        ('name.givenName.x eq "b"', "one sub-attribute at most"),
        ('eq "b"', "at character 1: a filter starts with an attribute name"),
        ('userName eq "b" or ()', "expected an attribute name or '(' after '('"),
    ],
)
def test_the_detail_says_where_what_and_how_to_fix(text, expected):
    got = detail(text)
    assert got.startswith("Invalid filter ")
    assert expected in got, got
    assert "Token(" not in got


def test_an_empty_filter_says_so():
    assert "empty" in explain("   ")


@given(st.text(alphabet=st.sampled_from(list("ab eqornt()[]\".='!<>&|0123456789")), max_size=40))
def test_explain_never_raises_and_always_says_something(text):
    assert explain(text)
