"""A small in-memory SCIM filter evaluator: the oracle for ``test_filter_properties.py``.

Written from RFC 7644 §3.4.2.2 and RFC 7643, independently of ``scim_server/scim/filter.py``
and ``storage/attr_map.py`` (neither is imported); only the grammar is shared, through
``parse_filter_ast``. It evaluates a filter over User documents exactly as GET returns them
(RFC 7644 §3.4.2.2: "the service provider SHALL use the value that was returned to the
client"), so an attribute the document does not show is absent, whatever a column holds.

- Names are case-insensitive (RFC 7643 §2.1). Strings compare case-insensitively unless the
  attribute is caseExact (RFC 7643 §2.2): only ``id``, ``externalId`` and ``meta.*`` here.
- A multi-valued attribute matches if ANY of its values matches; without a sub-attribute the
  ``value`` sub-attribute is compared. An empty or absent multi-valued attribute has no
  values, so nothing matches, ``ne`` included.
- ``ne`` on an absent singular attribute (or absent sub-attribute of one element) is true;
  every other operator is false on an absent value. An absent boolean is not ``false``.
- ``pr``: not absent, not ``""``, not ``[]``, not ``{}``.
- ``gt``/``ge``/``lt``/``le`` on strings: lexicographic (code points) after case folding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from scim2_filter_parser import ast

from scim_server.scim.paths import QuotedString
from scim_server.scim.paths import parse_filter_ast

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CASE_EXACT = {"id", "externalid", "meta.resourcetype", "meta.location", "meta.version"}
MULTI_VALUED = {"emails", "phonenumbers", "ims", "photos", "addresses", "groups"}
MULTI_VALUED |= {"entitlements", "roles", "x509certificates", "members"}
ABSENT = object()


def select(text: str, docs: Iterable[dict[str, Any]]) -> set[str]:
    """The ids of the documents that ``text`` selects."""
    tree = parse_filter_ast(text)
    return {doc["id"] for doc in docs if evaluate(tree, doc)}


def evaluate(node: Any, doc: dict[str, Any], parent: str = "") -> bool:
    """``parent`` is the multi-valued attribute whose element ``doc`` is, inside ``[...]``."""
    if isinstance(node, ast.Filter):
        if node.namespace is not None:  # attr[filter]: some element satisfies the filter
            result = bool(_elements(doc, node.namespace, node.expr))
        else:
            result = evaluate(node.expr, doc, parent)
        return result != bool(node.negated)
    if isinstance(node, ast.LogExpr):
        if node.op.lower() == "and":
            return evaluate(node.expr1, doc, parent) and evaluate(node.expr2, doc, parent)
        return evaluate(node.expr1, doc, parent) or evaluate(node.expr2, doc, parent)
    op, path = node.value.lower(), node.attr_path
    expected = None if node.comp_value is None else _literal(node.comp_value.value)
    if isinstance(path.attr_name, ast.Filter):  # attr[filter].sub op value
        ns = path.attr_name.namespace
        sub = ns.sub_attr.value
        values = [_get(e, sub) for e in _elements(doc, ns, path.attr_name.expr)]
        dotted = f"{ns.attr_name}.{sub}"
    else:
        name = path.attr_name
        if path.uri is not None and path.uri.lower() != CORE_USER.lower():
            doc = _get(doc, path.uri)
            doc = doc if isinstance(doc, dict) else {}
        sub = path.sub_attr.value if path.sub_attr is not None else None
        dotted = ".".join(p for p in (parent, name, sub) if p)
        top = _get(doc, name)
        if name.lower() in MULTI_VALUED and not parent:
            elements = top if isinstance(top, list) else []
            if sub is None and op == "pr":
                return any(_present(e) for e in elements)
            values = [_get(e, sub or "value") for e in elements]
        else:
            values = [_get(top, sub) if sub else top]
    exact = dotted.lower() in CASE_EXACT
    return any(_test(op, value, expected, exact) for value in values)


def _elements(doc: dict[str, Any], ns: Any, inner: Any) -> list[Any]:
    found = _get(doc, ns.attr_name)
    elements = found if isinstance(found, list) else []
    return [e for e in elements if isinstance(e, dict) and evaluate(inner, e, ns.attr_name)]


def _get(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return ABSENT
    return next((v for k, v in node.items() if k.lower() == name.lower()), ABSENT)


def _literal(raw: Any) -> Any:
    if isinstance(raw, QuotedString):
        return str(raw)
    return json.loads(raw)  # true, false, null or a number: JSON literals (RFC 7644 Figure 1)


def _present(value: Any) -> bool:
    return value is not ABSENT and value not in (None, "", [], {})


def _test(op: str, actual: Any, expected: Any, exact: bool) -> bool:
    if op == "pr":
        return _present(actual)
    if actual is ABSENT or actual is None:
        return op == "ne"
    if isinstance(actual, str) and isinstance(expected, str) and not exact:
        actual, expected = actual.casefold(), expected.casefold()
    if isinstance(actual, bool) or isinstance(expected, bool):
        same = isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
        return same if op == "eq" else op == "ne" and not same
    if op in ("eq", "ne"):
        return (actual == expected) == (op == "eq")
    if not (isinstance(actual, str) and isinstance(expected, str)):
        return False
    tests = {
        "co": expected in actual,
        "sw": actual.startswith(expected),
        "ew": actual.endswith(expected),
        "gt": actual > expected,
        "ge": actual >= expected,
        "lt": actual < expected,
        "le": actual <= expected,
    }
    return tests[op]
