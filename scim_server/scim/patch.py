"""RFC 7644 §3.5.2 PATCH: parse a PatchOp message, apply it to a resource document.

``parse_patch`` is strict RFC: IdP dialects are normalised before it, in ``compat.py``.
``apply_patch`` is pure: it works on a deep copy and returns the new document, raising on the
first failing operation, so the caller (which owns the transaction, RFC 7644 §3.5.2 "PATCH
is atomic") applies all or nothing.

Documents use the schema's attribute names: core and common attributes at the top level,
extension attributes under their schema URN. Decisions where the RFC leaves a choice:

- Unknown attributes, in a ``path`` or as keys of a path-less value, are 400 ``invalidPath``
  rather than silently ignored; unknown sub-attributes inside a value are ``invalidValue``.
- ``id``, ``schemas`` and ``meta`` keys in a path-less value are ignored (Okta's group rename
  carries ``id``; RFC 7644 §3.3: read-only values "SHALL be ignored"); any other readOnly
  target is ``mutability``. readOnly sub-attributes inside a value (``members.display``,
  ``manager.displayName``) are dropped, as on create.
- ``remove`` with a ``value`` is ``invalidSyntax``: RFC 7644 §3.5.2.2 defines none, and the
  legacy member-removal shape (``path: members`` plus a value list) must never reach
  ``apply`` as "remove every member"; ``compat.normalise_patch`` rewrites it first.
- ``replace`` with ``null`` unassigns the target (RFC 7643 §2.5: null and unassigned are
  equivalent); ``add`` requires a non-null value (RFC 7644 §3.5.2.1 "MUST contain a value").
- Removing a ``required`` attribute is ``invalidValue``; removing an absent one is a no-op.
- ``add`` and ``replace`` on ``emails.type`` (a multi-valued attribute, a sub-attribute, no
  filter) write every value; with no values at all it is ``noTarget``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim_server.scim.errors import InvalidPathError
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import MutabilityError
from scim_server.scim.errors import NoTargetError
from scim_server.scim.errors import TooManyError
from scim_server.scim.errors import quoted
from scim_server.scim.json_tree import copy_tree
from scim_server.scim.paths import Path
from scim_server.scim.paths import filter_equalities
from scim_server.scim.paths import matches
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import PATCH_OP
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType
from scim_server.scim.schema import Schema

OPERATIONS = ("add", "replace", "remove")

#: Keys of a path-less value that are dropped, not rejected (RFC 7644 §3.3, Okta rename).
IGNORED_PATHLESS_KEYS = frozenset({"id", "schemas", "meta"})

_MISSING: Any = object()


@dataclass(frozen=True)
class PatchOperation:
    """One entry of ``Operations`` (RFC 7644 §3.5.2): ``op`` lower-cased, ``path`` resolved."""

    op: str
    path: Path | None
    value: Any


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def parse_patch(
    body: dict[str, Any], rtype: ResourceType, *, max_operations: int
) -> list[PatchOperation]:
    """Parse a PatchOp message (RFC 7644 §3.5.2).

    :raises InvalidSyntaxError: not a PatchOp, no ``Operations``, an unknown ``op``, or a
        ``value`` on ``remove``.
    :raises TooManyError: more than ``max_operations`` operations.
    :raises InvalidPathError: a ``path`` that does not resolve.
    :raises InvalidValueError: ``add``/``replace`` without a ``value``.
    :raises NoTargetError: ``remove`` without ``path`` (RFC 7644 §3.5.2.2).
    """
    if not isinstance(body, dict):
        raise InvalidSyntaxError("A PATCH body must be a JSON object.")
    raw_ops = message_operations(body, PATCH_OP, "RFC 7644 §3.5.2")
    if len(raw_ops) > max_operations:
        raise TooManyError(
            f"This PATCH has {len(raw_ops)} operations; the limit is {max_operations}."
        )
    return [
        operation
        for index, raw in enumerate(raw_ops)
        for operation in _parse_operation(index, raw, rtype)
    ]


def lookup(obj: dict[str, Any], name: str, default: Any = None) -> Any:
    """``obj[name]`` with the name matched case-insensitively (RFC 7643 §2.1)."""
    key = find_key(obj, name)
    return default if key is None else obj[key]


def find_key(obj: dict[str, Any], name: str) -> str | None:
    """The key of ``obj`` that equals ``name`` case-insensitively, preferring an exact match."""
    if name in obj:
        return name
    wanted = name.lower()
    return next((key for key in obj if isinstance(key, str) and key.lower() == wanted), None)


def message_operations(body: dict[str, Any], message: str, section: str) -> list[Any]:
    """The ``Operations`` of a PatchOp or BulkRequest message, whose ``schemas`` must list
    its URN (RFC 7644 §3.5.2, §3.7).

    :raises InvalidSyntaxError: the URN is not listed, or ``Operations`` is not a non-empty
        array.
    """
    schemas = lookup(body, "schemas")
    listed = isinstance(schemas, list) and any(
        isinstance(urn, str) and urn.lower() == message.lower() for urn in schemas
    )
    if not listed:
        raise InvalidSyntaxError(f"'schemas' must contain {message} ({section}).")
    raw_ops = lookup(body, "Operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntaxError(f"'Operations' must be a non-empty array ({section}).")
    return raw_ops


def _parse_operation(index: int, raw: Any, rtype: ResourceType) -> list[PatchOperation]:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntaxError(f"{where} must be an object.")
    op = _op_name(where, lookup(raw, "op"))
    value = lookup(raw, "value", _MISSING)
    extension = _whole_extension(where, lookup(raw, "path"), rtype)
    if extension is not None:
        return _extension_operations(where, op, extension, value, rtype)
    path = _op_path(where, lookup(raw, "path"), rtype)
    _check_value(where, op, path, value)
    return [PatchOperation(op, path, None if value is _MISSING else value)]


def _whole_extension(where: str, text: Any, rtype: ResourceType) -> Schema | None:
    """The extension schema a ``path`` names as a whole (``urn:…:enterprise:2.0:User``).

    RFC 7644 §3.10 and §3.5.2: an extension's URN addresses its attributes as one complex
    value. The core schema's URN alone names nothing a PATCH could change (RFC 7644 §3.5.2.1:
    a path-less operation addresses the resource), so it stays ``invalidPath``.
    """
    if not isinstance(text, str):
        return None
    urn, rest = rtype.split_urn(text.strip())
    if urn is None or rest:
        return None
    if urn.lower() == rtype.core.id.lower():
        raise InvalidPathError(
            f"{where}: path {quoted(text)} names the core schema, not an attribute; "
            "leave 'path' out to address the whole resource (RFC 7644 §3.5.2.1)."
        )
    return rtype.schema(urn)


def _extension_operations(
    where: str, op: str, extension: Schema, value: Any, rtype: ResourceType
) -> list[PatchOperation]:
    """A whole-extension operation as the equivalent attribute operations.

    ``add``/``replace`` become the path-less form ``{urn: value}`` (RFC 7644 §3.5.2.1 and
    §3.5.2.3 treat both alike), ``remove`` (and ``replace`` with null) one ``remove`` per
    client-writable attribute of the extension. An extension whose attributes are all
    readOnly (ours) is ``mutability``: the path is valid, the change is not allowed
    (RFC 7644 §3.5.2).
    """
    if all(attr.read_only for attr in extension.attributes):
        raise MutabilityError(
            f"{where}: {extension.id} is readOnly: the server sets all of its attributes, "
            "so it cannot be added, replaced or removed."
        )
    if op == "remove" and value is not _MISSING and value is not None:
        raise InvalidSyntaxError(f"{where}: remove takes no 'value' (RFC 7644 §3.5.2.2).")
    if op == "remove" or (op == "replace" and value is None):  # null unassigns, RFC 7643 §2.5
        return [
            PatchOperation("remove", parse_path(f"{extension.id}:{attr.name}", rtype), None)
            for attr in extension.attributes
            if not attr.read_only
        ]
    if value is _MISSING or value is None or not isinstance(value, dict):
        shown = "nothing" if value is _MISSING else quoted(value)
        raise InvalidValueError(
            f"{where}: {op} on {extension.id} takes an object of its attributes, not {shown}."
        )
    return [PatchOperation(op, None, {extension.id: value})]


def _op_name(where: str, op: Any) -> str:
    if not isinstance(op, str) or op.lower() not in OPERATIONS:
        raise InvalidSyntaxError(
            f"{where}: unsupported op {quoted(op)}; "
            "RFC 7644 §3.5.2 defines add, replace and remove."
        )
    return op.lower()


def _op_path(where: str, text: Any, rtype: ResourceType) -> Path | None:
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise InvalidPathError(f"{where}: 'path' must be a non-empty string, not {quoted(text)}.")
    return parse_path(text, rtype)


def _check_value(where: str, op: str, path: Path | None, value: Any) -> None:
    """RFC 7644 §3.5.2.1-3: add and replace carry a value, remove carries a path and no value."""
    if op == "remove":
        if path is None:
            raise NoTargetError(f"{where}: remove requires a 'path' (RFC 7644 §3.5.2.2).")
        if value is not _MISSING and value is not None:
            raise InvalidSyntaxError(f"{where}: remove takes no 'value' (RFC 7644 §3.5.2.2).")
        return
    if value is _MISSING or (op == "add" and value is None):
        raise InvalidValueError(f"{where}: {op} requires a 'value' (RFC 7644 §3.5.2.1).")
    if path is None and not isinstance(value, dict):
        raise InvalidValueError(
            f"{where}: a path-less {op} takes an object of attributes (RFC 7644 §3.5.2.1)."
        )


# ---------------------------------------------------------------------------
# Group members: applied set-based by the caller
# ---------------------------------------------------------------------------


def split_member_operations(
    ops: Sequence[PatchOperation], rtype: ResourceType | None = None
) -> tuple[list[PatchOperation], list[PatchOperation]]:
    """Separate operations on Group ``members`` from the rest: (member ops, other ops).

    The caller applies member changes as single-row inserts and deletes, never on a document.
    A ``members`` key of a path-less add/replace value becomes its own operation whose value
    is the member list (equivalent by RFC 7644 §3.5.2.1/§3.5.2.3); its path is ``members``
    resolved against ``rtype``, or None when no ``rtype`` is given.
    """
    members: list[PatchOperation] = []
    others: list[PatchOperation] = []
    for operation in ops:
        if operation.path is not None:
            is_member = operation.path.attribute.name.lower() == "members"
            (members if is_member else others).append(operation)
            continue
        value = operation.value if isinstance(operation.value, dict) else {}
        key = find_key(value, "members")
        if key is None:
            others.append(operation)
            continue
        path = parse_path("members", rtype) if rtype is not None else None
        members.append(PatchOperation(operation.op, path, value[key]))
        rest = {k: v for k, v in value.items() if k != key}
        if rest:
            others.append(PatchOperation(operation.op, None, rest))
    return members, others


# ---------------------------------------------------------------------------
# Applying
# ---------------------------------------------------------------------------


def apply_patch(
    doc: dict[str, Any], ops: list[PatchOperation], rtype: ResourceType
) -> dict[str, Any]:
    """Apply operations to a copy of ``doc`` and return it; ``doc`` is never modified.

    :raises InvalidPathError, InvalidValueError, MutabilityError, NoTargetError: on the first
        operation that fails (RFC 7644 §3.5.2: "the entire request MUST fail").
    """
    result = copy_tree(doc)
    for operation in ops:
        for path, value in _targets(operation, rtype):
            _apply_target(result, operation.op, path, value, rtype)
    return result


def _targets(operation: PatchOperation, rtype: ResourceType) -> list[tuple[Path, Any]]:
    if operation.op not in OPERATIONS:
        raise InvalidSyntaxError(f"Unsupported op {quoted(operation.op)}.")
    if operation.path is not None:
        return [(operation.path, operation.value)]
    if operation.op == "remove":
        raise NoTargetError("remove requires a 'path' (RFC 7644 §3.5.2.2).")
    return _pathless_targets(operation.value, rtype)


def _pathless_targets(value: Any, rtype: ResourceType) -> list[tuple[Path, Any]]:
    """One (path, value) per key: RFC 7644 §3.5.2.1 "value ... contains a set of attributes".

    A key may be an attribute name in any case, a URN-qualified name, or a schema URN holding
    that extension's attributes (where ``schemas``, ``id`` and ``meta`` are ignored too: a
    client serialising an extension object may include its ``schemas``).
    """
    if not isinstance(value, dict):
        raise InvalidValueError("A path-less add or replace takes an object of attributes.")
    targets: list[tuple[Path, Any]] = []
    for key, item in value.items():
        if key.lower() in IGNORED_PATHLESS_KEYS:
            continue
        urn, rest = rtype.split_urn(key)
        if urn is None or rest:
            targets.append((parse_path(key, rtype), item))
        elif isinstance(item, dict):
            targets.extend(
                (parse_path(f"{urn}:{name}", rtype), v)
                for name, v in item.items()
                if name.lower() not in IGNORED_PATHLESS_KEYS  # scim2-tester sends "schemas"
            )
        else:
            raise InvalidValueError(f"{urn} takes an object of its attributes.")
    return targets


def _apply_target(
    doc: dict[str, Any], op: str, path: Path, value: Any, rtype: ResourceType
) -> None:
    _check_writable(path)
    if value is None:
        if op == "add":
            return  # nothing to add: RFC 7643 §2.5, null is unassigned
        op = "remove"  # replace with null unassigns the target
    core = path.schema.lower() == rtype.core.id.lower()
    existed = core or find_key(doc, path.schema) is not None
    container = _container(doc, path.schema, core=core, create=op != "remove")
    if container is None:
        return
    was_empty = not container
    _HANDLERS[op](container, path, value)
    if not core:
        _tidy_extension(doc, path.schema, existed=existed, was_empty=was_empty)


def _check_writable(path: Path) -> None:
    """RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability readOnly"."""
    for definition in (path.attribute, path.sub_attribute):
        if definition is not None and definition.read_only:
            raise MutabilityError(f"{path.describe()} is readOnly and cannot be modified.")


def _container(doc: dict[str, Any], urn: str, *, core: bool, create: bool) -> dict[str, Any] | None:
    """The dict holding the path's attribute: the document, or its extension object."""
    if core:
        return doc
    key = find_key(doc, urn)
    if key is None and not create:
        return None
    current = doc.get(key) if key is not None else None
    _put(doc, urn, current if isinstance(current, dict) else {})
    container: dict[str, Any] = doc[urn]
    return container


def _tidy_extension(doc: dict[str, Any], urn: str, *, existed: bool, was_empty: bool) -> None:
    """Keep ``schemas`` listing exactly the extensions that hold values (RFC 7643 §3)."""
    if doc[urn]:
        if not existed:
            _list_schema(doc, urn)
    elif not existed or not was_empty:
        del doc[urn]
        if existed:
            _unlist_schema(doc, urn)


def _list_schema(doc: dict[str, Any], urn: str) -> None:
    schemas = doc.get("schemas")
    if isinstance(schemas, list) and not any(_same_urn(s, urn) for s in schemas):
        schemas.append(urn)


def _unlist_schema(doc: dict[str, Any], urn: str) -> None:
    schemas = doc.get("schemas")
    if isinstance(schemas, list):
        doc["schemas"] = [s for s in schemas if not _same_urn(s, urn)]


def _same_urn(candidate: Any, urn: str) -> bool:
    return isinstance(candidate, str) and candidate.lower() == urn.lower()


# ---------------------------------------------------------------------------
# The three operations
# ---------------------------------------------------------------------------


def _add(container: dict[str, Any], path: Path, value: Any) -> None:
    """RFC 7644 §3.5.2.1: set a single value, merge a complex one, append to a multi-valued one.

    ``add`` on a single-valued attribute replaces it (docs/idp-dialects.md §2.5, Entra sends
    ``"op":"Add"`` for ``active``).
    """
    attr = path.attribute
    if path.value_filter is not None:
        _add_filtered(container, path, value)
    elif path.sub_attribute is not None:
        _write_sub_attribute(container, path, path.sub_attribute, value)
    elif attr.multi_valued:
        _append(container, attr, _values(attr, value))
    elif attr.is_complex:
        _merge(container, attr, _complex(attr, value))
    else:
        _set(container, attr, _scalar(attr, value))


def _replace(container: dict[str, Any], path: Path, value: Any) -> None:
    """RFC 7644 §3.5.2.3: replace the value, the whole list, or the matching values."""
    attr = path.attribute
    if path.value_filter is not None:
        _replace_filtered(container, path, value)
    elif path.sub_attribute is not None:
        _write_sub_attribute(container, path, path.sub_attribute, value)
    elif attr.multi_valued:
        _set_list(container, attr, _values(attr, value))
    elif attr.is_complex:
        _merge(container, attr, _complex(attr, value))  # unnamed sub-attributes stay
    else:
        _set(container, attr, _scalar(attr, value))


def _remove(container: dict[str, Any], path: Path, value: Any) -> None:
    """RFC 7644 §3.5.2.2: remove the attribute, the sub-attribute, or the matching values."""
    if path.value_filter is not None:
        _remove_filtered(container, path)
    elif path.sub_attribute is not None:
        _remove_sub_attribute(container, path.attribute, path.sub_attribute)
    else:
        _remove_attribute(container, path.attribute)


_HANDLERS: dict[str, Callable[[dict[str, Any], Path, Any], None]] = {
    "add": _add,
    "replace": _replace,
    "remove": _remove,
}


# -- single-valued ----------------------------------------------------------


def _set(container: dict[str, Any], attr: AttributeDef, value: Any) -> None:
    _check_immutable(attr, lookup(container, attr.name), value)
    _put(container, attr.name, value)


def _merge(container: dict[str, Any], attr: AttributeDef, value: dict[str, Any]) -> None:
    """RFC 7644 §3.5.2.1 and §3.5.2.3: for add and for replace alike, the named
    sub-attributes are set and the others are left unchanged."""
    current = _complex_in(container, attr)
    for name, sub_value in value.items():
        _check_immutable(_sub(attr, name), current.get(name), sub_value)
    _store(container, attr.name, {**current, **value})


def _remove_attribute(container: dict[str, Any], attr: AttributeDef) -> None:
    _check_removable(attr)
    old = lookup(container, attr.name)
    if old is not None:
        _check_immutable(attr, old, None)
        _drop(container, attr.name)


def _write_sub_attribute(
    container: dict[str, Any], path: Path, sub: AttributeDef, value: Any
) -> None:
    """Set ``name.givenName`` (creating ``name``), or ``emails.type`` on every email."""
    attr = path.attribute
    new = _scalar(sub, value)
    if not attr.multi_valued:
        current = _complex_in(container, attr)
        _check_immutable(sub, current.get(sub.name), new)
        _store(container, attr.name, {**current, sub.name: new})
        return
    items = _list_in(container, attr)
    elements = [element for element in items if isinstance(element, dict)]
    if not elements:
        raise NoTargetError(f"{path.describe()}: {attr.name} has no values to update.")
    _write_elements(items, elements, sub, new)
    _store(container, attr.name, items)


def _remove_sub_attribute(container: dict[str, Any], attr: AttributeDef, sub: AttributeDef) -> None:
    _check_removable(sub)
    if attr.multi_valued:
        items = _list_in(container, attr)
        elements = [element for element in items if isinstance(element, dict)]
        _store(container, attr.name, _without_sub(items, elements, sub))
    else:
        current = _complex_in(container, attr)
        _check_immutable(sub, current.get(sub.name), None)
        _store(container, attr.name, {k: v for k, v in current.items() if k != sub.name})


# -- multi-valued -----------------------------------------------------------


def _append(container: dict[str, Any], attr: AttributeDef, values: list[Any]) -> None:
    """RFC 7644 §3.5.2.1: append; a value already present is "no change"."""
    items = _list_in(container, attr)
    added: list[Any] = []
    for value in values:
        if not any(_same(attr, value, existing) for existing in items + added):
            added.append(value)
    if added:
        _check_immutable(attr, items, items + added)
        items.extend(added)
        _fix_primary(items, added)
        _store(container, attr.name, items)


def _set_list(container: dict[str, Any], attr: AttributeDef, values: list[Any]) -> None:
    """RFC 7644 §3.5.2.3: without a filter "the attribute and all values are replaced"."""
    _check_immutable(attr, lookup(container, attr.name), values)
    _fix_primary(values, values)
    _store(container, attr.name, values)


def _add_filtered(container: dict[str, Any], path: Path, value: Any) -> None:
    """Set the sub-attribute (or merge the value) on matching values, else add a new one.

    Entra adds ``emails[type eq "work"].value`` for a user with no work email and expects the
    email to be created (Captain-P-Goldfish/SCIM-SDK#416); the new value takes the filter's
    ``eq`` terms: ``{"type": "work", "value": …}``.
    """
    items, hits = _matching(container, path)
    if not hits:
        hits = [_new_element(path)]
        items.extend(hits)
    if path.sub_attribute is not None:
        _write_elements(items, hits, path.sub_attribute, _scalar(path.sub_attribute, value))
    else:
        update = _complex(path.attribute, _single(value))
        for element in hits:
            _check_element_immutables(path.attribute, element, {**element, **update})
            element.update(update)
        _fix_primary(items, hits)
    _store(container, path.attribute.name, items)


def _replace_filtered(container: dict[str, Any], path: Path, value: Any) -> None:
    """RFC 7644 §3.5.2.3: replace matching values; no match is 400 ``noTarget``."""
    items, hits = _matching(container, path)
    if not hits:
        raise NoTargetError(f"No value of {path.attribute.name} matches {path.describe()}.")
    if path.sub_attribute is not None:
        _write_elements(items, hits, path.sub_attribute, _scalar(path.sub_attribute, value))
        _store(container, path.attribute.name, items)
        return
    new = _complex(path.attribute, _single(value))
    replaced: list[Any] = []
    for index, element in enumerate(items):
        if _contains(hits, element):
            _check_element_immutables(path.attribute, element, new)
            items[index] = dict(new)
            replaced.append(items[index])
    _fix_primary(items, replaced)
    _store(container, path.attribute.name, [item for item in items if item != {}])


def _remove_filtered(container: dict[str, Any], path: Path) -> None:
    """RFC 7644 §3.5.2.2: remove matching values (or their sub-attribute); no match is a no-op.

    RFC 7643 §2.5: when no values remain, the attribute is unassigned.
    """
    items, hits = _matching(container, path)
    if not hits:
        return
    if path.sub_attribute is None:
        _store(container, path.attribute.name, [e for e in items if not _contains(hits, e)])
    else:
        _check_removable(path.sub_attribute)
        _store(container, path.attribute.name, _without_sub(items, hits, path.sub_attribute))


def _matching(container: dict[str, Any], path: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    items = _list_in(container, path.attribute)
    hits = [
        element
        for element in items
        if isinstance(element, dict) and matches(path.value_filter, element, path.attribute)
    ]
    return items, hits


def _new_element(path: Path) -> dict[str, Any]:
    pinned = filter_equalities(path.value_filter, path.attribute)
    if not pinned or any(value is None for value in pinned.values()):
        raise NoTargetError(
            f"No value of {path.attribute.name} matches {path.describe()}, and the filter "
            "does not describe a new one (only eq terms joined by and do)."
        )
    return _complex(path.attribute, pinned)


def _write_elements(
    items: list[Any], elements: list[dict[str, Any]], sub: AttributeDef, value: Any
) -> None:
    for element in elements:
        _check_immutable(sub, lookup(element, sub.name), value)
        _put(element, sub.name, value)
    _fix_primary(items, elements)


def _without_sub(items: list[Any], elements: list[dict[str, Any]], sub: AttributeDef) -> list[Any]:
    """Drop ``sub`` from ``elements``; values left empty are dropped too."""
    for element in elements:
        _check_immutable(sub, lookup(element, sub.name), None)
        _drop(element, sub.name)
    return [item for item in items if not (_contains(elements, item) and item == {})]


def _fix_primary(items: list[Any], touched: list[Any]) -> None:
    """RFC 7643 §2.4: "The primary attribute value true MUST appear no more than once."

    When an operation leaves two, the one it set last wins and the others become false.
    """
    primaries = [e for e in items if isinstance(e, dict) and e.get("primary") is True]
    if len(primaries) < 2:
        return
    chosen = [e for e in touched if isinstance(e, dict) and e.get("primary") is True]
    winner = (chosen or primaries)[-1]
    for element in primaries:
        if element is not winner:
            element["primary"] = False


def _contains(elements: list[Any], candidate: Any) -> bool:
    return any(element is candidate for element in elements)


# ---------------------------------------------------------------------------
# Values: type checks and canonical names
# ---------------------------------------------------------------------------


def _values(attr: AttributeDef, value: Any) -> list[Any]:
    """The values for a multi-valued attribute; a single object counts as a one-value list."""
    items = value if isinstance(value, list) else [value]
    values = [_element(attr, item) for item in items if item is not None]
    return [item for item in values if item != {}]


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _element(attr: AttributeDef, value: Any) -> Any:
    return _complex(attr, value) if attr.is_complex else _scalar(attr, value)


def _complex(attr: AttributeDef, value: Any) -> dict[str, Any]:
    """A complex value with canonical sub-attribute names; nulls and readOnly parts dropped."""
    if not isinstance(value, dict):
        raise InvalidValueError(f"{attr.dotted} takes an object, not {_kind(value)}.")
    result: dict[str, Any] = {}
    for name, item in value.items():
        sub = attr.sub(name)
        if sub is None:
            raise InvalidValueError(f"{attr.dotted} has no sub-attribute {quoted(name)}.")
        if item is not None and not sub.read_only:
            result[sub.name] = _scalar(sub, item)
    return result


def _scalar(attr: AttributeDef, value: Any) -> Any:
    """RFC 7643 §2.3: the value must have the attribute's data type."""
    check = _TYPE_CHECKS.get(attr.type)
    if check is not None and not check(value):
        raise InvalidValueError(f"{attr.dotted} must be a {attr.type}, not {_kind(value)}.")
    return value


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "reference": lambda value: isinstance(value, str),
    "binary": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "decimal": _is_number,
    "dateTime": _is_datetime,
    "complex": lambda value: isinstance(value, dict),
}


def _kind(value: Any) -> str:
    names = {
        bool: "a boolean",
        str: "a string",
        list: "an array",
        dict: "an object",
        type(None): "null",
    }
    return names.get(type(value), f"{type(value).__name__} {value!r}")


# ---------------------------------------------------------------------------
# Mutability and equality
# ---------------------------------------------------------------------------


def _check_immutable(attr: AttributeDef, old: Any, new: Any) -> None:
    """RFC 7644 §3.5.2: an immutable attribute may be added when absent, never changed."""
    if attr.mutability != "immutable" or old is None or old == [] or old == {}:
        return
    if new is None or not _same(attr, old, new):
        raise MutabilityError(f"{attr.dotted} is immutable: it can be set once, not changed.")


def _check_element_immutables(attr: AttributeDef, old: dict[str, Any], new: dict[str, Any]) -> None:
    for sub in attr.sub_attributes:
        _check_immutable(sub, lookup(old, sub.name), new.get(sub.name))


def _check_removable(attr: AttributeDef) -> None:
    """RFC 7643 §2.2: a required attribute cannot be left unassigned."""
    if attr.required:
        raise InvalidValueError(f"{attr.dotted} is required and cannot be removed.")


def _same(attr: AttributeDef, left: Any, right: Any) -> bool:
    """Equality under the schema: strings compare case-insensitively unless caseExact."""
    if isinstance(left, dict) and isinstance(right, dict):
        keys = {k.lower() for k in (*left, *right)}
        return all(_same(_sub(attr, k), lookup(left, k), lookup(right, k)) for k in keys)
    if isinstance(left, list) and isinstance(right, list):
        pairs = zip(left, right, strict=False)
        return len(left) == len(right) and all(_same(attr, a, b) for a, b in pairs)
    if isinstance(left, str) and isinstance(right, str) and not attr.case_exact:
        return left.casefold() == right.casefold()
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    return bool(left == right)


def _sub(attr: AttributeDef, name: str) -> AttributeDef:
    """The sub-attribute definition, or the parent's when the name is unknown."""
    return attr.sub(name) or attr


# ---------------------------------------------------------------------------
# Dicts with canonical keys
# ---------------------------------------------------------------------------


def _put(obj: dict[str, Any], name: str, value: Any) -> None:
    """Set ``obj[name]``, dropping any spelling of ``name`` in another case."""
    _drop(obj, name, keep=name)
    obj[name] = value


def _drop(obj: dict[str, Any], name: str, keep: str | None = None) -> None:
    """Delete every spelling of ``name`` except ``keep``."""
    for key in [k for k in obj if isinstance(k, str) and k.lower() == name.lower()]:
        if key != keep:
            del obj[key]


def _store(container: dict[str, Any], name: str, value: Any) -> None:
    """Set a value, or remove the attribute when the value is empty (RFC 7643 §2.5)."""
    if value in ([], {}):
        _drop(container, name)
    else:
        _put(container, name, value)


def _complex_in(container: dict[str, Any], attr: AttributeDef) -> dict[str, Any]:
    """A copy of the attribute's complex value, with canonical sub-attribute names."""
    current = lookup(container, attr.name)
    if not isinstance(current, dict):
        return {}
    return {_sub(attr, name).name if attr.sub(name) else name: v for name, v in current.items()}


def _list_in(container: dict[str, Any], attr: AttributeDef) -> list[Any]:
    """The attribute's values as a new list holding the document's own value objects."""
    current = lookup(container, attr.name)
    if isinstance(current, list):
        return list(current)
    return [] if current is None else [current]
