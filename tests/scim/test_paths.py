"""Attribute paths (RFC 7644 §3.5.2, §3.10) and value filters (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scim2_filter_parser import ast

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import quoted
from scim_server.scim.paths import FilterLexer
from scim_server.scim.paths import FilterParser
from scim_server.scim.paths import Path
from scim_server.scim.paths import QuotedString
from scim_server.scim.paths import filter_equalities
from scim_server.scim.paths import literal
from scim_server.scim.paths import matches
from scim_server.scim.paths import parse_filter_ast
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import load_registry

REGISTRY = load_registry()
USER = REGISTRY.user
GROUP = REGISTRY.group
EMAILS = USER.attribute("emails")
assert EMAILS is not None


def _filter(text: str) -> object:
    return parse_path(f"emails[{text}]", USER).value_filter


def _emails_match(text: str, element: dict[str, Any]) -> bool:
    assert EMAILS is not None
    return matches(_filter(text), element, EMAILS)


# -- parse_path: accepted forms ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "schema", "attribute", "has_filter", "sub"),
    [
        ("userName", CORE_USER, "userName", False, None),
        ("name.givenName", CORE_USER, "name", False, "givenName"),
        ('emails[type eq "work"]', CORE_USER, "emails", True, None),
        ('emails[type eq "work"].value', CORE_USER, "emails", True, "value"),
        (f"{CORE_USER}:name.givenName", CORE_USER, "name", False, "givenName"),
        (f"{ENTERPRISE_USER}:manager", ENTERPRISE_USER, "manager", False, None),
        (f"{ENTERPRISE_USER}:manager.value", ENTERPRISE_USER, "manager", False, "value"),
        ("id", CORE_USER, "id", False, None),
        ("externalId", CORE_USER, "externalId", False, None),
    ],
)
def test_parse_path_resolves_each_rfc_form(text, schema, attribute, has_filter, sub):
    path = parse_path(text, USER)
    assert path.schema == schema
    assert path.attribute.name == attribute
    assert (path.value_filter is not None) is has_filter
    assert (path.sub_attribute.name if path.sub_attribute else None) == sub


def test_parse_path_resolves_group_member_filter():
    path = parse_path('members[value eq "2819c223"]', GROUP)
    assert (path.schema, path.attribute.name) == (CORE_GROUP, "members")
    assert isinstance(path.value_filter, ast.Filter)


@pytest.mark.parametrize(
    ("text", "attribute", "sub"),
    [
        ("UserName", "userName", None),
        ("NAME.GIVENNAME", "name", "givenName"),
        ('EMAILS[TYPE eq "work"]', "emails", None),
        ('Emails[Type EQ "work"].VALUE', "emails", "value"),
        (f"{ENTERPRISE_USER.upper()}:MANAGER.Value", "manager", "value"),
    ],
)
def test_parse_path_is_case_insensitive_and_returns_canonical_definitions(text, attribute, sub):
    path = parse_path(text, USER)
    assert path.attribute.name == attribute
    assert (path.sub_attribute.name if path.sub_attribute else None) == sub


def test_parse_path_keeps_the_client_text_for_error_details():
    assert parse_path("UserName", USER).describe() == "UserName"


def test_path_describe_rebuilds_a_path_built_without_text():
    parsed = parse_path('emails[type eq "work"].value', USER)
    rebuilt = Path(parsed.schema, parsed.attribute, parsed.value_filter, parsed.sub_attribute)
    assert rebuilt.describe() == "emails[…].value"


def test_parse_path_accepts_a_closing_bracket_inside_a_quoted_filter_value():
    path = parse_path('emails[value eq "a]b"].display', USER)
    assert path.sub_attribute is not None and path.sub_attribute.name == "display"
    assert _evaluates(path, {"value": "a]b"})


def _evaluates(path: Path, element: dict[str, Any]) -> bool:
    return matches(path.value_filter, element, path.attribute)


# -- parse_path: errors ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "nickname2",  # unknown attribute
        "name.nickName",  # unknown sub-attribute
        "userName.value",  # sub-attribute of a simple attribute
        'name[givenName eq "B"]',  # filter on a single-valued attribute
        'userName[value eq "x"]',  # filter on a simple attribute
        'emails[nope eq "x"]',  # unknown sub-attribute inside the filter
        "emails[type eq]",  # malformed filter
        "emails[]",
        'emails[type eq "work"',
        'emails[type eq "work"]x',
        "name.givenName.extra",
        "name.",
        "",
        "   ",
        ".name",
        "emails]",
        ENTERPRISE_USER,  # a schema URN names no attribute
        f"{ENTERPRISE_USER}:nickName",  # attribute of another schema
        "manager",  # extension attributes need their URN (RFC 7644 §3.10)
        "urn:example:unknown:2.0:User:thing",
        "emails[primary gt true]",  # ordering a boolean is invalidFilter (RFC 7644 §3.4.2.2)
        'emails[emails.type eq "work"]',  # only plain sub-attribute names inside brackets
        'emails[type[value eq "x"] eq "y"]',
    ],
)
def test_parse_path_rejects_bad_paths_with_invalid_path(text):
    with pytest.raises(InvalidPathError):
        parse_path(text, USER)


def test_parse_path_error_detail_names_the_path():
    with pytest.raises(InvalidPathError) as caught:
        parse_path("name.nickName", USER)
    assert "name.nickName" in caught.value.detail
    assert caught.value.to_body()["scimType"] == "invalidPath"


def test_parse_path_rejects_enterprise_attributes_on_groups():
    with pytest.raises(InvalidPathError):
        parse_path(f"{ENTERPRISE_USER}:manager", GROUP)


def test_parse_path_rejects_non_string_input():
    with pytest.raises(InvalidPathError):
        parse_path(42, USER)  # type: ignore[arg-type]


# -- parse_filter_ast -------------------------------------------------------------


def test_and_binds_tighter_than_or():
    """RFC 7644 §3.4.2.2: "and" takes precedence over "or"."""
    tree = parse_filter_ast('type eq "a" or type eq "b" and value eq "c"')
    assert tree.expr.op.lower() == "or"
    assert tree.expr.expr2.expr.op.lower() == "and"


def test_and_on_the_left_also_binds_tighter_than_or():
    tree = parse_filter_ast('type eq "a" and value eq "b" or value eq "c"')
    assert tree.expr.op.lower() == "or"
    assert tree.expr.expr1.expr.op.lower() == "and"


def test_precedence_changes_evaluation():
    # or(work, and(home, value)) matches a work email whatever its value.
    assert _emails_match('type eq "work" or type eq "home" and value eq "x"', {"type": "work"})
    grouped = '(type eq "work" or type eq "home") and value eq "x"'
    assert not _emails_match(grouped, {"type": "work"})


@pytest.mark.parametrize(
    ("text", "expected"), [("12", 12), ("-3", -3), ("2.5", 2.5), ("1e3", 1000.0), ("0", 0)]
)
def test_lexer_reads_json_numbers(text, expected):
    tree = parse_filter_ast(f"value eq {text}")
    assert literal(tree.expr.comp_value) == expected
    tokens = [(t.type, t.value) for t in FilterLexer().tokenize(f"value eq {text}")]
    assert tokens[-1] == ("NUMBER", text)


def test_lexer_reads_escaped_quotes_as_a_quoted_string():
    tree = parse_filter_ast(r'value eq "say \"hi\" \\ now"')
    literal = tree.expr.comp_value.value
    assert literal == 'say "hi" \\ now'
    assert isinstance(literal, QuotedString)


def test_quoted_true_stays_a_string_and_bare_true_a_boolean():
    quoted = parse_filter_ast('primary eq "true"').expr.comp_value.value
    bare = parse_filter_ast("primary eq true").expr.comp_value.value
    assert isinstance(quoted, QuotedString)
    assert not isinstance(bare, QuotedString) and bare == "true"


def test_filter_parser_is_a_usable_class_for_filter_py():
    tree = FilterParser().parse(FilterLexer().tokenize('userName eq "x"'))
    assert isinstance(tree, ast.Filter)
    assert tree.expr.attr_path.attr_name == "userName"


def test_parse_filter_ast_keeps_value_paths_for_resource_filters():
    tree = parse_filter_ast('emails[type eq "work" and value co "@example.com"]')
    assert tree.expr.namespace.attr_name == "emails"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",  # Okta SPEC 2016: a bare value with no operator
        'userName eq "x',
        'userName regex "x"',
        'userName eq "x" and',
        "(userName eq 1",
        "userName eq 1)",
        "userName eq @",
        'userName eq "\\x"',  # invalid JSON escape
        "not userName eq 1",
        "[]",
        'emails[type eq "work"].value.extra eq 1',
    ],
)
def test_parse_filter_ast_raises_invalid_filter_for_malformed_text(text):
    with pytest.raises(InvalidFilterError):
        parse_filter_ast(text)


def test_parse_filter_ast_rejects_non_strings():
    with pytest.raises(InvalidFilterError):
        parse_filter_ast(None)  # type: ignore[arg-type]


def test_parse_filter_ast_rejects_absurd_nesting():
    text = "(" * 500 + 'userName eq "x"' + ")" * 500
    with pytest.raises(InvalidFilterError):
        parse_filter_ast(text)


def test_parse_filter_ast_allows_reasonable_nesting():
    text = "(" * 30 + 'userName eq "x"' + ")" * 30
    assert isinstance(parse_filter_ast(text), ast.Filter)


def test_parse_filter_ast_allows_a_long_chain_of_terms():
    text = " or ".join(f'id eq "{n}"' for n in range(80))
    assert isinstance(parse_filter_ast(text), ast.Filter)


@given(st.text(max_size=60))
def test_parse_filter_ast_returns_a_filter_or_raises_invalid_filter_for_any_text(text):
    try:
        result = parse_filter_ast(text)
    except InvalidFilterError:
        return
    assert isinstance(result, ast.Filter)


_TOKENS = st.sampled_from(
    [
        "type",
        "value",
        "primary",
        "eq",
        "ne",
        "co",
        "pr",
        "gt",
        "and",
        "or",
        "not",
        "(",
        ")",
        '"work"',
        "true",
        "null",
        "12",
        "[",
        "]",
        ".value",
        "urn:x:y:",
        " ",
    ]
)


@given(st.lists(_TOKENS, max_size=12))
def test_parse_filter_ast_on_token_soup_returns_a_filter_or_invalid_filter(tokens):
    text = " ".join(tokens)
    try:
        result = parse_filter_ast(text)
    except InvalidFilterError:
        return
    assert isinstance(result, ast.Filter)


def _dump(node: Any) -> Any:
    """A tree as nested tuples, string literals told apart from bare words."""
    if isinstance(node, ast.AST):
        return (type(node).__name__, *(_dump(getattr(node, f)) for f in node._fields))
    if isinstance(node, QuotedString):
        return ("quoted", str(node))
    return node


def _direct(text: str) -> Any:
    """The filter parsed as it is, with no shape shared with any other filter."""
    result = FilterParser().parse(FilterLexer().tokenize(text))
    assert isinstance(result, ast.Filter)
    return result


_LITERALS = st.sampled_from(['"work"', '"0"', '"1"', '""', '"a\\"b"', '"\\u00e9"', '"x]y"'])


@given(st.lists(st.one_of(_TOKENS, _LITERALS), max_size=12))
def test_a_filter_parses_to_its_own_tree_whatever_shape_it_shares(tokens):
    """Filters are parsed once per shape (literals numbered) and filled with their own
    values: every filter's tree is the one the grammar gives it directly, a literal that
    reads as a number ("0") included, and one filter's values never reach another's."""
    text = " ".join(tokens)
    try:
        result = parse_filter_ast(text)
    except InvalidFilterError as error:
        with pytest.raises(Exception):  # noqa: B017 - the grammar's own failure, any type
            _direct(text)
        assert quoted(text) in str(error)  # described with the filter's own text
        return
    assert _dump(result) == _dump(_direct(text))


def test_two_filters_of_one_shape_keep_their_own_values():
    first = parse_filter_ast('userName eq "alice" or emails[type eq "work"].value co "x"')
    second = parse_filter_ast('userName eq "bob" or emails[type eq "home"].value co "y"')
    assert _dump(first) == _dump(
        _direct('userName eq "alice" or emails[type eq "work"].value co "x"')
    )
    assert _dump(second) == _dump(
        _direct('userName eq "bob" or emails[type eq "home"].value co "y"')
    )


def test_only_short_shapes_are_kept():
    """A kept shape holds its whole tree: long ones (which any token could send by the
    hundred) are parsed each time instead, so the cache stays small."""
    from scim_server.scim.paths import _parsed_shape

    long_filter = " or ".join(f'nosuch{n} eq "{n}"' for n in range(40))
    before = _parsed_shape.cache_info()
    assert isinstance(parse_filter_ast(long_filter), ast.Filter)
    after = _parsed_shape.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
    parse_filter_ast('nosuchshort eq "x"')
    assert _parsed_shape.cache_info().misses + _parsed_shape.cache_info().hits > (
        after.misses + after.hits
    )


def test_an_escape_json_refuses_is_an_invalid_filter():
    with pytest.raises(InvalidFilterError, match="Invalid filter"):
        parse_filter_ast('userName eq "a\\qb"')


# -- matches ----------------------------------------------------------------------

WORK = {"value": "Bjensen@Example.com", "type": "work", "primary": True, "display": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type eq "work"', True),
        ('type eq "WORK"', True),  # caseExact false: case-insensitive
        ('type eq "home"', False),
        ('type ne "home"', True),
        ('type ne "Work"', False),
        ('value co "example"', True),
        ('value co "nowhere"', False),
        ('value sw "bjensen@"', True),
        ('value sw "example"', False),
        ('value ew ".COM"', True),
        ('value ew ".org"', False),
        ("value pr", True),
        ("display pr", False),  # empty string is not present
        ("type pr", True),
        ('value gt "a"', True),
        ('value gt "z"', False),
        ('value ge "bjensen@example.com"', True),
        ('value lt "c"', True),
        ('value le "a"', False),
        ("primary eq true", True),
        ("primary eq false", False),
        ('primary eq "True"', True),  # Entra writes booleans as strings
        ('primary eq "false"', False),
        ("primary ne false", True),
        ('type eq "work" and primary eq true', True),
        ('type eq "home" or primary eq true', True),
        ('type eq "home" and primary eq true', False),
        ('not (type eq "home")', True),
        ('not (type eq "work")', False),
        ('type eq "work" and not (value co "other")', True),
        ("value eq null", False),
        ("value eq 5", False),
        ("type eq true", False),
    ],
)
def test_matches_evaluates_each_operator(text, expected):
    assert _emails_match(text, WORK) is expected


def test_matches_treats_a_missing_sub_attribute_as_unassigned():
    element = {"value": "x@example.com"}
    assert _emails_match("type eq null", element)
    assert not _emails_match("type pr", element)
    assert _emails_match('type ne "work"', element)
    assert not _emails_match("primary eq false", element)
    assert not _emails_match('type gt "a"', element)


def test_matches_reads_string_booleans_in_the_document_too():
    assert _emails_match("primary eq true", {"primary": "True"})


def _things(*subs: AttributeDef) -> AttributeDef:
    """A made-up multi-valued attribute, for sub-attribute types the RFC schemas lack."""
    return AttributeDef("things", "complex", "urn:test", multi_valued=True, sub_attributes=subs)


def test_matches_is_case_sensitive_for_case_exact_sub_attributes():
    things = _things(AttributeDef("code", "string", "urn:test", case_exact=True, parent="things"))
    value_filter = parse_filter_ast('code eq "AbC"')
    assert matches(value_filter, {"code": "AbC"}, things)
    assert not matches(value_filter, {"code": "abc"}, things)
    assert not matches(parse_filter_ast('code sw "ab"'), {"code": "AbC"}, things)


def test_matches_compares_numbers_numerically_and_datetimes_chronologically():
    things = _things(
        AttributeDef("size", "integer", "urn:test", parent="things"),
        AttributeDef("seen", "dateTime", "urn:test", parent="things"),
    )
    element = {"size": 10, "seen": "2024-05-01T12:00:00+02:00"}
    assert matches(parse_filter_ast("size gt 9"), element, things)
    assert not matches(parse_filter_ast("size gt 10"), element, things)
    assert matches(parse_filter_ast("size le 10.0"), element, things)
    assert not matches(parse_filter_ast('size gt "9"'), element, things)
    assert matches(parse_filter_ast('seen lt "2024-05-01T11:00:00Z"'), element, things)
    assert not matches(parse_filter_ast('seen gt "2024-05-01T11:00:00Z"'), element, things)
    assert not matches(parse_filter_ast('seen gt "yesterday"'), element, things)


def test_matches_matches_sub_attribute_keys_case_insensitively():
    assert _emails_match('type eq "work"', {"Type": "work"})


def test_matches_rejects_an_unknown_sub_attribute_with_invalid_filter():
    assert EMAILS is not None
    with pytest.raises(InvalidFilterError):
        matches(parse_filter_ast('colour eq "red"'), WORK, EMAILS)


def test_matches_rejects_an_unknown_sub_attribute_even_in_a_short_circuited_branch():
    assert EMAILS is not None
    with pytest.raises(InvalidFilterError):
        matches(parse_filter_ast('type eq "work" or colour eq "red"'), WORK, EMAILS)


def test_matches_rejects_ordering_a_boolean():
    assert EMAILS is not None
    with pytest.raises(InvalidFilterError):
        matches(parse_filter_ast("primary gt false"), WORK, EMAILS)


def test_matches_rejects_nested_value_paths():
    assert EMAILS is not None
    with pytest.raises(InvalidFilterError):
        matches(parse_filter_ast('emails[type eq "work"]'), WORK, EMAILS)


# -- filter_equalities ---------------------------------------------------------------


def test_filter_equalities_reads_eq_terms_joined_by_and():
    assert EMAILS is not None
    value_filter = _filter('type eq "work" and primary eq "True"')
    assert filter_equalities(value_filter, EMAILS) == {"type": "work", "primary": True}


@pytest.mark.parametrize(
    "text",
    ['type eq "work" or type eq "home"', 'type ne "work"', 'not (type eq "work")', "value pr"],
)
def test_filter_equalities_is_none_when_the_filter_pins_no_single_value(text):
    assert EMAILS is not None
    assert filter_equalities(_filter(text), EMAILS) is None


def test_matches_compares_datetimes_as_instants_for_equality():
    things = _things(AttributeDef("seen", "dateTime", "urn:test", parent="things"))
    element = {"seen": "2024-05-01T12:00:00+02:00"}
    assert matches(parse_filter_ast('seen eq "2024-05-01T10:00:00Z"'), element, things)
    assert matches(parse_filter_ast('seen gt "2024-05-01T09:00:00"'), element, things)
    assert not matches(parse_filter_ast('seen eq "2024-05-01T12:00:00Z"'), element, things)
