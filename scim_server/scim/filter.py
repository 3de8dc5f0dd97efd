"""Translate SCIM filters (RFC 7644 §3.4.2.2) into SQLAlchemy expressions.

scim2-filter-parser owns the grammar (``paths.parse_filter_ast``); this module owns the
translation, so filtering runs in the database and never in Python loops. Every
attribute is checked against the schema registry through a resolver: the parser itself
would silently accept attributes nobody knows, so an unknown one is ``invalidFilter``
here. ``caseExact=false`` attributes compare with ``lower()`` on both sides, which an
expression index on ``lower(user_name)`` still serves.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol

from scim2_filter_parser import ast
from sqlalchemy import ColumnElement
from sqlalchemy import SQLColumnExpression
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import true

from scim_server.scim.errors import InvalidFilterError
from scim_server.scim.errors import quoted
from scim_server.scim.paths import QuotedString
from scim_server.scim.paths import parse_filter_ast
from scim_server.scim.schema import AttributeDef

Condition = ColumnElement[bool]
_ORDERING = {"gt", "ge", "lt", "le"}
_OPERATORS = {"eq", "ne", "co", "sw", "ew", "pr", *_ORDERING}


@dataclass(frozen=True)
class Column:
    """A single value in SQL: a column or an expression over one row."""

    expr: SQLColumnExpression[Any]
    attr: AttributeDef
    lowered: bool = False  # expr already holds lower(value): compare without lower() again


@dataclass(frozen=True)
class MultiValued:
    """A multi-valued attribute stored as child rows, tested with EXISTS.

    ``exists(cond)`` wraps a condition over one child row; ``sub(attr)`` gives the
    column of a sub-attribute within that row.
    """

    attr: AttributeDef
    exists: Callable[[Condition | None], Condition]
    sub: Callable[[AttributeDef], Column]


Target = Column | MultiValued


class UnresolvedAttribute(LookupError):
    """What a resolver raises for a path it cannot map to SQL (unknown or unfilterable).

    Resolvers live in storage, which speaks no SCIM errors; the translator turns this into
    ``InvalidFilterError`` with the resolver's message.
    """


class Resolver(Protocol):
    """Maps an attribute path to SQL; raises UnresolvedAttribute for unknown attributes."""

    def __call__(self, urn: str | None, name: str, sub: str | None) -> Target: ...


def compile_filter(text: str, resolve: Resolver) -> Condition:
    """Parse ``text`` and return a SQL condition; raises InvalidFilterError."""
    if not text.strip():
        raise InvalidFilterError("The filter is empty.")
    return compile_ast(parse_filter_ast(text), resolve)


@dataclass(frozen=True)
class Equality:
    """A filter that is one ``attr eq "text"`` on a single-valued string attribute: what an
    IdP sends to look a user up (``userName eq``, ``externalId eq``). ``value`` is the text
    as the comparison needs it (NFC, lower-cased unless caseExact); ``expr`` is the side
    of the column it is compared with (``lower(column)`` unless caseExact)."""

    attr: AttributeDef
    expr: SQLColumnExpression[Any]
    value: str


def equality(text: str, resolve: Resolver) -> Equality | None:
    """The filter as an ``Equality``, or None for any other filter (and for one that is
    invalid: ``compile_filter`` then says why). An equality's SQL has the same shape
    whatever the value, so it can run as a statement built once."""
    if not text.strip():
        return None
    tree = parse_filter_ast(text)
    if not isinstance(tree, ast.Filter) or tree.negated or tree.namespace is not None:
        return None
    node = tree.expr
    if not isinstance(node, ast.AttrExpr) or node.value.lower() != "eq":
        return None
    path, comp = node.attr_path, node.comp_value
    if isinstance(path.attr_name, ast.Filter) or comp is None:
        return None
    if not isinstance(comp.value, QuotedString):
        return None
    try:
        target = resolve(path.uri, path.attr_name, _sub_name(path))
    except UnresolvedAttribute:
        return None
    if not isinstance(target, Column) or target.attr.type not in ("string", "reference"):
        return None
    _check_text(comp.value, target.attr)
    expr, value = _string_operands(target, comp.value)
    return Equality(target.attr, expr, value)


def compile_ast(node: ast.AST, resolve: Resolver) -> Condition:
    """Translate an already parsed filter, e.g. the ``[...]`` of a PATCH path."""
    try:
        return _Translator(resolve).filter(node)
    except UnresolvedAttribute as error:
        raise InvalidFilterError(str(error)) from None


class _Translator:
    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve

    def filter(self, node: ast.AST) -> Condition:
        if isinstance(node, ast.Filter):
            if node.namespace is not None:
                cond = self._value_path(node.namespace, node.expr, None)
            else:
                cond = self.filter(node.expr)
            return not_(cond) if node.negated else cond
        if isinstance(node, ast.LogExpr):
            left, right = self.filter(node.expr1), self.filter(node.expr2)
            return and_(left, right) if node.op.lower() == "and" else or_(left, right)
        if isinstance(node, ast.AttrExpr):
            return self._attr_expr(node)
        raise InvalidFilterError(f"Unsupported filter expression {quoted(node)}.")

    def _attr_expr(self, node: ast.AttrExpr) -> Condition:
        path = node.attr_path
        if isinstance(path.attr_name, ast.Filter):
            # emails[type eq "work"].value eq "x": the parser moves ".value" onto the namespace.
            ns = path.attr_name.namespace
            inner = path.attr_name.expr
            return self._value_path(ns, inner, node)
        sub_name = _sub_name(path)
        target = self.resolve(path.uri, path.attr_name, sub_name)
        if isinstance(target, MultiValued):
            if sub_name is None and node.value.lower() == "pr":
                return target.exists(None)
            # RFC 7644 §3.4.2.2: "emails.type eq x" tests the named sub-attribute of any
            # value; with no sub-attribute, a multi-valued attribute compares its "value".
            sub_attr = _element_resolver(target)(None, sub_name or "value", None)
            assert isinstance(sub_attr, Column)
            return target.exists(compare(sub_attr, node.value, node.comp_value))
        return compare(target, node.value, node.comp_value)

    def _value_path(
        self, ns: ast.AttrPath, inner: ast.AST, outer: ast.AttrExpr | None
    ) -> Condition:
        target = self.resolve(ns.uri, ns.attr_name, None)
        if not isinstance(target, MultiValued):
            raise InvalidFilterError(f"{quoted(ns.attr_name)} is not multi-valued; [ ] needs one.")
        cond = _Translator(_element_resolver(target)).filter(inner)
        if outer is not None:
            sub_name = _sub_name(ns)
            if sub_name is None:
                raise InvalidFilterError("A value path in a comparison needs a sub-attribute.")
            sub = _element_resolver(target)(None, sub_name, None)
            assert isinstance(sub, Column)
            cond = and_(cond, compare(sub, outer.value, outer.comp_value))
        return target.exists(cond)


def _sub_name(path: ast.AttrPath) -> str | None:
    return path.sub_attr.value if path.sub_attr is not None else None


def _element_resolver(target: MultiValued) -> Resolver:
    """Resolve names inside ``attr[...]`` against the sub-attributes of ``attr``."""

    def resolve(urn: str | None, name: str, sub: str | None) -> Target:
        if urn is not None or sub is not None:
            raise InvalidFilterError(f"Inside {target.attr.name}[...] name sub-attributes only.")
        attr = target.attr.sub(name)
        if attr is None:
            raise InvalidFilterError(f"'{target.attr.name}' has no sub-attribute {quoted(name)}.")
        return target.sub(attr)

    return resolve


def compare(target: Column, op: str, comp: ast.CompValue | None) -> Condition:
    """One ``attrPath op value`` comparison, typed by the schema."""
    op = op.lower()
    if op not in _OPERATORS:
        raise InvalidFilterError(f"Unknown operator {quoted(op)}.")
    expr, attr = target.expr, target.attr
    if op == "pr":
        present = expr.is_not(None)
        return and_(present, expr != "") if attr.type in ("string", "reference") else present
    assert comp is not None
    raw = comp.value
    if raw == "null" and not isinstance(raw, QuotedString):
        return expr.is_(None) if op == "eq" else expr.is_not(None)
    if isinstance(raw, QuotedString):
        _check_text(raw, attr)
    if attr.type == "boolean":
        return _boolean(expr, op, raw, attr)
    if attr.type == "dateTime":
        return _ordered(expr, op, _datetime(raw, attr), attr)
    if attr.type in ("integer", "decimal"):
        return _ordered(expr, op, _number(raw, attr), attr)
    if not isinstance(raw, QuotedString):
        raise InvalidFilterError(f"'{attr.dotted}' is a string; quote the value.")
    expr, value = _string_operands(target, raw)
    return _string(expr, op, value, attr)


def _string_operands(target: Column, raw: str) -> tuple[SQLColumnExpression[Any], str]:
    """The two sides of a string comparison: NFC for attributes stored NFC
    (validation.nfc_identity), so an NFD spelling finds them too; lower-cased on both sides
    unless caseExact."""
    expr, attr = target.expr, target.attr
    if attr.nfc:
        raw = unicodedata.normalize("NFC", raw)
    if not attr.case_exact:
        expr = expr if target.lowered else func.lower(expr)
        raw = raw.lower()
    return expr, str(raw)


def _boolean(expr: SQLColumnExpression[Any], op: str, raw: str, attr: AttributeDef) -> Condition:
    """An absent boolean is neither true nor false (``primary`` unset is not ``false``)."""
    wanted = {"true": True, "false": False}.get(str(raw).lower())
    if wanted is None or op not in ("eq", "ne"):
        raise InvalidFilterError(f"'{attr.dotted}' is boolean: use eq or ne with true or false.")
    cond = and_(expr.is_not(None), expr == (true() if wanted else false()))
    return not_(cond) if op == "ne" else cond


def _string(expr: SQLColumnExpression[Any], op: str, value: str, attr: AttributeDef) -> Condition:
    if op == "ne":
        return or_(expr.is_(None), expr != value)
    matches = {
        "co": lambda: expr.contains(value, autoescape=True),
        "sw": lambda: expr.startswith(value, autoescape=True),
        "ew": lambda: expr.endswith(value, autoescape=True),
    }
    if op in matches:
        return _known(expr, matches[op]())
    return _ordered(expr, op, value, attr)


def _known(expr: SQLColumnExpression[Any], cond: Condition) -> Condition:
    """False, not unknown, when the value is absent: SQL's NULL would make ``not (…)``
    drop resources that lack the attribute, where RFC 7644 Table 4's "not" keeps them."""
    return and_(expr.is_not(None), cond)


_COMPARISONS: dict[str, Callable[[Any, Any], Condition]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _ordered(expr: SQLColumnExpression[Any], op: str, value: Any, attr: AttributeDef) -> Condition:
    if op in ("co", "sw", "ew"):
        raise InvalidFilterError(f"'{op}' does not apply to {attr.type} '{attr.dotted}'.")
    if op == "ne":
        return or_(expr.is_(None), expr != value)
    return _known(expr, _COMPARISONS[op](expr, value))


def _datetime(raw: str, attr: AttributeDef) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidFilterError(
            f"'{attr.dotted}' needs an xsd:dateTime such as \"2024-05-01T12:00:00Z\", "
            f"got {quoted(raw)}."
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise InvalidFilterError(f"'{attr.dotted}': {quoted(raw)} is out of range.") from None
    return parsed


def _check_text(raw: str, attr: AttributeDef) -> None:
    """Strings a database cannot store (NUL, lone surrogates) can match nothing: say so."""
    if "\x00" in raw:
        raise InvalidFilterError(f"'{attr.dotted}': values cannot contain NUL characters.")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidFilterError(f"'{attr.dotted}': the value is not valid Unicode.") from None


def _number(raw: str, attr: AttributeDef) -> float | int:
    try:
        return int(raw) if str(raw).lstrip("-").isdigit() else float(raw)
    except ValueError:
        raise InvalidFilterError(f"'{attr.dotted}' needs a number, got {quoted(raw)}.") from None
