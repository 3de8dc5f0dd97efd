"""Attribute paths and value filters (RFC 7644 §3.5.2 ``path``, §3.10, §3.4.2.2).

A PATCH ``path`` is ``attrPath / valuePath [subAttr]`` (RFC 7644 §3.5.2, Figure 7):
``userName``, ``name.givenName``, ``emails[type eq "work"].value``, optionally prefixed with
the schema URN (``urn:…:enterprise:2.0:User:manager``, RFC 7644 §3.10). ``parse_path``
resolves one against the schema registry, case-insensitively (RFC 7643 §2.1).

The bracketed value filter is parsed by scim2-filter-parser's grammar, with two fixes: "and"
binds tighter than "or" (RFC 7644 §3.4.2.2: "not" takes precedence over "and", which takes
precedence over "or"; the library gives "and" and "or" equal precedence), and the lexer reads
JSON numbers and escaped quotes (the library lexer only knows single digits). ``filter.py``
imports the lexer, the parser and ``parse_filter_ast`` from here, so both filters and paths
share one grammar. ``matches`` evaluates a value filter against one element of a multi-valued
attribute in memory, for PATCH on documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from typing import Any
from typing import TypeAlias

import sly
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import quoted
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType

#: The AST of the part of a path inside ``[...]``: an ``ast.Filter``.
ValueFilter: TypeAlias = Any

#: Deepest AST accepted: evaluators and SQL compilation recurse over the tree, and a deeper
#: one from a client must be a 400, not a RecursionError. Each chained "or" adds two levels,
#: so 500 takes about 249 terms (an IdP's 100-id OR filter with room to spare); 400 terms
#: (depth 802) were measured to work and 600 to exhaust the stack.
MAX_FILTER_DEPTH = 500


class QuotedString(str):
    """A filter string literal, so that "true" (a string) stays apart from true (a boolean)."""


class FilterLexer(SCIMLexer):  # type: ignore[misc]
    """The library lexer with JSON numbers and JSON strings (RFC 7644 §3.4.2.2 ``compValue``)."""

    tokens = SCIMLexer.tokens
    NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"

    @_(r'"(?:[^"\\]|\\.)*"')  # type: ignore[name-defined,untyped-decorator]  # noqa: F821
    def COMP_VALUE(self, t: Any) -> Any:  # noqa: N802 - sly names rules after their token
        t.value = QuotedString(json.loads(t.value))
        return t


_RULES = (
    "filter",
    "value_path",
    "attr_exp",
    "log_exp",
    "comp_value",
    "attr_path",
    "sub_attr",
    "error",
)
FilterParser: Any = type(sly.Parser)(
    "FilterParser",
    (sly.Parser,),
    {
        **{k: v for k, v in vars(SCIMParser).items() if k in _RULES},
        "tokens": SCIMLexer.tokens,
        "_": None,
        "__module__": __name__,
        "precedence": (("left", "OR"), ("left", "AND"), ("right", "NOT")),
    },
)


@dataclass(frozen=True)
class Path:
    """A resolved PATCH path: ``[schema:]attribute[[value_filter]][.sub_attribute]``."""

    schema: str
    attribute: AttributeDef
    value_filter: ValueFilter | None
    sub_attribute: AttributeDef | None
    text: str = field(default="", compare=False)

    def describe(self) -> str:
        """The path as the client wrote it, or rebuilt from its parts, for error details."""
        if self.text:
            return self.text
        filtered = "[…]" if self.value_filter is not None else ""
        sub = f".{self.sub_attribute.name}" if self.sub_attribute else ""
        return f"{self.attribute.name}{filtered}{sub}"


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------


def parse_filter_ast(text: str) -> Any:
    """Parse a filter into an ``ast.Filter``.

    RFC 7644 §3.4.2.2: a filter that does not follow Figure 1 is 400 ``invalidFilter``. The
    lexer raises ValueError, the parser SCIMParserError, sly and the library's own actions
    other types (IndexError, TypeError, …): every one of them becomes InvalidFilterError.

    An IdP sends the same few filter shapes with different values (``userName eq "…"``), and
    parsing costs more than the SQL lookup the filter turns into. So a filter is parsed once
    per *shape*, its string literals numbered (``userName eq "0"``), and the tree of that
    shape is filled with this filter's values. String literals are whole tokens that no
    other token can contain, so the shape parses exactly as the filter does.
    """
    if not isinstance(text, str):
        raise InvalidFilterError("A filter must be a string.")
    literals = _STRING_LITERAL.findall(text)
    try:
        values = [QuotedString(json.loads(literal)) for literal in literals]
    except ValueError:  # an escape JSON refuses: the lexer's error says where
        return _parsed(text)
    numbered = iter(range(len(values)))
    shape = _STRING_LITERAL.sub(lambda _match: f'"{next(numbered)}"', text)
    if len(shape) > _MAX_SHAPE_CHARS:
        return _parsed(text)
    try:
        tree = _parsed_shape(shape)
    except InvalidFilterError:
        return _parsed(text)  # the same failure, described with the filter's own text
    return _filled(tree, values)


# The COMP_VALUE token of FilterLexer below: the one token that may hold a double quote.
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
# Longer shapes (a 100-term OR of ids) are parsed each time rather than kept: an IdP's
# lookup shape is a few dozen characters, and a kept 2,000-character shape holds about
# 128 KB of tree, so 256 of them, which any token could send, would hold 30 MB a worker.
_MAX_SHAPE_CHARS = 300


@lru_cache(maxsize=256)
def _parsed_shape(shape: str) -> Any:
    return _parsed(shape)


def _parsed(text: str) -> Any:
    try:
        result = FilterParser().parse(FilterLexer().tokenize(text))
    except Exception as exc:  # any failure of the third-party grammar is the client's filter
        raise InvalidFilterError(_invalid(text)) from exc
    if not isinstance(result, ast.Filter):
        raise InvalidFilterError(_invalid(text))
    if _depth(result) > MAX_FILTER_DEPTH:
        raise InvalidFilterError(
            f"Filter {quoted(text)} nests deeper than {MAX_FILTER_DEPTH} levels."
        )
    return result


def _filled(node: Any, values: list[QuotedString]) -> Any:
    """A copy of a shape's tree with literal number ``i`` replaced by ``values[i]``; the
    shared tree is never changed (its unchanged leaves are shared, and nothing mutates an
    AST). Recursion is bounded by MAX_FILTER_DEPTH, checked when the shape was parsed."""
    if isinstance(node, ast.CompValue):
        value = node.value
        return ast.CompValue(values[int(value)]) if isinstance(value, QuotedString) else node
    if isinstance(node, ast.Filter):
        namespace = node.namespace and _filled(node.namespace, values)
        return ast.Filter(_filled(node.expr, values), node.negated, namespace)
    if isinstance(node, ast.LogExpr):
        return ast.LogExpr(node.op, _filled(node.expr1, values), _filled(node.expr2, values))
    if isinstance(node, ast.AttrExpr):
        comp = node.comp_value and _filled(node.comp_value, values)
        return ast.AttrExpr(node.value, _filled(node.attr_path, values), comp)
    if isinstance(node, ast.AttrPath) and isinstance(node.attr_name, ast.AST):
        return ast.AttrPath(_filled(node.attr_name, values), node.sub_attr, node.uri)
    return node


def _invalid(text: str) -> str:
    """The detail for a filter that does not parse: where, what was expected, the fix."""
    from scim_server.scim.filter_diagnosis import explain  # it builds on FilterLexer above

    return f"Invalid filter {quoted(text)}: {explain(text)}"


def _children(node: Any) -> list[Any]:
    if isinstance(node, ast.Filter):
        return [node.expr, node.namespace]
    if isinstance(node, ast.LogExpr):
        return [node.expr1, node.expr2]
    if isinstance(node, ast.AttrExpr):
        return [node.attr_path]
    if isinstance(node, ast.AttrPath):
        return [node.attr_name]
    return []


def _depth(root: Any) -> int:
    """Nesting depth, computed without recursion so that no input can exhaust the stack."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node) if child is not None)
    return deepest


def check_value_filter(value_filter: ValueFilter, attribute: AttributeDef) -> None:
    """Check that a value filter names only sub-attributes of ``attribute``.

    RFC 7644 §3.4.2.2 Table 5: the expression inside ``[...]`` "MUST be a valid filter
    expression based upon sub-attributes of the parent attribute"; ordering operators on
    boolean or binary attributes "SHALL cause a failed response ... invalidFilter".

    :raises InvalidFilterError: otherwise.
    """
    stack = [value_filter]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Filter) and node.namespace is None:
            stack.append(node.expr)
        elif isinstance(node, ast.LogExpr):
            stack.extend((node.expr1, node.expr2))
        elif isinstance(node, ast.AttrExpr):
            _filter_sub_attribute(node, attribute)
        else:
            raise InvalidFilterError(f"Unsupported expression inside {attribute.name}[…].")


def _filter_sub_attribute(expr: Any, attribute: AttributeDef) -> AttributeDef:
    path = expr.attr_path
    name = path.attr_name
    if path.uri is not None or path.sub_attr is not None or not isinstance(name, str):
        raise InvalidFilterError(
            f"Inside {attribute.name}[…] a filter names sub-attributes of {attribute.name} only."
        )
    sub = attribute.sub(name)
    if sub is None:
        raise InvalidFilterError(f"{attribute.name} has no sub-attribute {quoted(name)}.")
    operator = str(expr.value).lower()
    if operator in _ORDERING and sub.type in ("boolean", "binary"):
        raise InvalidFilterError(
            f"Operator {quoted(operator)} is not defined for {sub.type} attribute "
            f"{attribute.name}.{sub.name} (RFC 7644 §3.4.2.2)."
        )
    return sub


def matches(value_filter: ValueFilter, element: dict[str, Any], attribute: AttributeDef) -> bool:
    """Whether one element of a multi-valued complex attribute satisfies a value filter.

    String comparisons follow the sub-attribute's ``caseExact`` (RFC 7644 §3.4.2.2: "the case
    sensitivity for String type attributes SHALL be determined by the attribute's caseExact
    characteristic"). Booleans may be written ``true`` or, as Entra's validator does,
    ``"True"`` (docs/idp-dialects.md §5, apache/directory-scimple PR #1213).

    :raises InvalidFilterError: for an unknown sub-attribute or an unsupported operator, even
        in a branch that evaluation would short-circuit.
    """
    check_value_filter(value_filter, attribute)
    return _evaluate(value_filter, element, attribute)


def _evaluate(node: Any, element: dict[str, Any], attribute: AttributeDef) -> bool:
    """Evaluate a filter already checked by ``check_value_filter``."""
    if isinstance(node, ast.Filter):
        result = _evaluate(node.expr, element, attribute)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        left = _evaluate(node.expr1, element, attribute)
        if str(node.op).lower() == "and":
            return left and _evaluate(node.expr2, element, attribute)
        return left or _evaluate(node.expr2, element, attribute)
    return _compare(node, _filter_sub_attribute(node, attribute), element)


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------

_ORDERING = ("gt", "ge", "lt", "le")
_BOOLEAN_STRINGS = {"true": True, "false": False}


def literal(comp_value: Any) -> Any:
    """The Python value of a ``compValue``: str, bool, None, int or float."""
    raw = comp_value.value
    if isinstance(raw, QuotedString):
        return str(raw)
    if raw in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[raw]
    number = json.loads(raw)
    if not isinstance(number, int | float):
        raise InvalidFilterError(f"Invalid filter value {quoted(raw)}.")
    return number


def _lookup(element: dict[str, Any], name: str) -> Any:
    wanted = name.lower()
    for key, value in element.items():
        if key.lower() == wanted:
            return value
    return None


def _as_boolean(value: Any) -> Any:
    """Entra writes booleans as "True"/"False" (docs/idp-dialects.md §5); read them as booleans."""
    if isinstance(value, str) and value.lower() in _BOOLEAN_STRINGS:
        return _BOOLEAN_STRINGS[value.lower()]
    return value


def _present(value: Any) -> bool:
    """RFC 7644 §3.4.2.2 ``pr``: a non-empty, non-null value."""
    return value is not None and value != "" and value != [] and value != {}


def _compare(expr: Any, sub: AttributeDef, element: dict[str, Any]) -> bool:
    operator = str(expr.value).lower()
    actual = _lookup(element, sub.name)
    if operator == "pr":
        return _present(actual)
    expected = literal(expr.comp_value)
    if sub.type == "boolean":
        actual, expected = _as_boolean(actual), _as_boolean(expected)
    if sub.type == "dateTime" and operator not in ("co", "sw", "ew"):
        actual, expected = _instant(actual), _instant(expected)
    elif isinstance(actual, str) and isinstance(expected, str):
        actual, expected = _fold(sub, actual), _fold(sub, expected)
    return _OPERATORS[operator](actual, expected, sub)


def _fold(sub: AttributeDef, text: str) -> str:
    return text if sub.case_exact else text.casefold()


def _equal(actual: Any, expected: Any, sub: AttributeDef) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


def _strings(test: Callable[[str, str], bool]) -> Callable[[Any, Any, AttributeDef], bool]:
    def compare(actual: Any, expected: Any, sub: AttributeDef) -> bool:
        return isinstance(actual, str) and isinstance(expected, str) and test(actual, expected)

    return compare


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any, AttributeDef], bool]:
    """gt/ge/lt/le: lexicographic for strings, chronological for dateTime, numeric for numbers.

    Operands of different kinds never match (a failed parse of a dateTime stays a string).
    """

    def compare(actual: Any, expected: Any, sub: AttributeDef) -> bool:
        if isinstance(actual, bool) or isinstance(expected, bool):
            return False
        comparable = (str, datetime, int | float)
        for kind in comparable:
            if isinstance(actual, kind) and isinstance(expected, kind):
                return test(actual, expected)
        return False

    return compare


def _instant(value: Any) -> Any:
    """A dateTime string as an aware datetime (naive ones read as UTC), else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_OPERATORS: dict[str, Callable[[Any, Any, AttributeDef], bool]] = {
    "eq": _equal,
    "ne": lambda actual, expected, sub: not _equal(actual, expected, sub),
    "co": _strings(lambda actual, expected: expected in actual),
    "sw": _strings(lambda actual, expected: actual.startswith(expected)),
    "ew": _strings(lambda actual, expected: actual.endswith(expected)),
    "gt": _ordered(lambda actual, expected: actual > expected),
    "ge": _ordered(lambda actual, expected: actual >= expected),
    "lt": _ordered(lambda actual, expected: actual < expected),
    "le": _ordered(lambda actual, expected: actual <= expected),
}


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------

_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_PATH = re.compile(rf"(?P<attr>{_NAME})(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>{_NAME}))?", re.DOTALL)
_BARE_NAME = re.compile(_NAME)


def is_bare_name(text: str) -> bool:
    """An attribute name alone (no URN, filter or sub-attribute): what ``parse_path`` makes
    of it is ``rtype.attribute(text, urn)``, so callers walking a body's keys look it up."""
    return _BARE_NAME.fullmatch(text) is not None


def parse_path(text: str, rtype: ResourceType) -> Path:
    """Resolve a PATCH ``path`` against the resource type's schemas.

    RFC 7644 §3.5.2: ``PATH = attrPath / valuePath [subAttr]``; §3.10: the attribute may be
    prefixed with its schema URN; RFC 7643 §2.1: names are case-insensitive. Unqualified names
    resolve against the core schema and the common attributes only (RFC 7644 §3.10).

    :raises InvalidPathError: for malformed text, an unknown attribute or sub-attribute, a
        value filter on an attribute that is not multi-valued and complex, or a value filter
        that does not parse or names unknown sub-attributes (``path`` is what the client got
        wrong, RFC 7644 §3.12 ``invalidPath``).
    """
    if not isinstance(text, str):
        raise InvalidPathError("A PATCH path must be a string.")
    urn, rest = rtype.split_urn(text.strip())
    match = _PATH.fullmatch(rest)
    if match is None:
        raise InvalidPathError(f"Invalid path {quoted(text)}.")
    schema = urn or rtype.core.id
    attribute = rtype.attribute(match["attr"], schema)
    if attribute is None:
        raise InvalidPathError(f"Unknown attribute {quoted(match['attr'])} in path {quoted(text)}.")
    value_filter = _path_filter(text, attribute, match["filter"])
    sub = _path_sub_attribute(text, attribute, match["sub"])
    return Path(schema, attribute, value_filter, sub, text)


def _path_filter(text: str, attribute: AttributeDef, filter_text: str | None) -> ValueFilter | None:
    if filter_text is None:
        return None
    if not (attribute.multi_valued and attribute.is_complex):
        raise InvalidPathError(
            f"Path {quoted(text)} filters {attribute.name}, "
            "which is not a multi-valued complex attribute."
        )
    try:
        value_filter = parse_filter_ast(filter_text)
        check_value_filter(value_filter, attribute)
    except InvalidFilterError as exc:
        raise InvalidPathError(
            f"Invalid value filter in path {quoted(text)}: {exc.detail}"
        ) from exc
    return value_filter


def _path_sub_attribute(
    text: str, attribute: AttributeDef, name: str | None
) -> AttributeDef | None:
    if name is None:
        return None
    sub = attribute.sub(name)
    if sub is None:
        raise InvalidPathError(
            f"Unknown sub-attribute {quoted(name)} of {attribute.name} in path {quoted(text)}."
        )
    return sub


def filter_equalities(value_filter: ValueFilter, attribute: AttributeDef) -> dict[str, Any] | None:
    """The sub-attribute values a filter pins down, if it is only ``eq`` terms joined by ``and``.

    ``emails[type eq "work"]`` gives ``{"type": "work"}``: the element a PATCH ``add`` creates
    when nothing matches (Entra, Captain-P-Goldfish/SCIM-SDK#416). ``None`` when the filter
    uses anything else (or, not, ne, …), since then it describes no single new value.
    """
    check_value_filter(value_filter, attribute)
    found: dict[str, Any] = {}
    stack = [value_filter]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Filter) and not node.negated:
            stack.append(node.expr)
        elif isinstance(node, ast.LogExpr) and str(node.op).lower() == "and":
            stack.extend((node.expr1, node.expr2))
        elif isinstance(node, ast.AttrExpr) and str(node.value).lower() == "eq":
            sub = _filter_sub_attribute(node, attribute)
            value = literal(node.comp_value)
            found[sub.name] = _as_boolean(value) if sub.type == "boolean" else value
        else:
            return None
    return found
