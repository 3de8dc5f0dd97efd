"""RFC 7644 §3.7 Bulk: parse a BulkRequest, order its operations, resolve ``bulkId``s.

Pure protocol, like ``patch.py``: the HTTP layer (``api/scim/bulk.py``) runs each
operation through the same service functions as a single request. Decisions where the RFC
leaves a choice:

- A malformed envelope (not a BulkRequest, no ``Operations``, a bad ``failOnErrors``, two
  operations with one ``bulkId``) fails the whole request: nothing has run yet, and an
  ambiguous ``bulkId`` would make every reference to it a guess. A malformed *operation*
  (unknown method, a path that names no resource) fails that operation only.
- More operations than ``maxOperations`` is 413 (RFC 7644 §3.7.4: "If either limit is
  exceeded, the service provider MUST return HTTP response code 413"), scimType ``tooMany``;
  a body over ``maxPayloadSize`` is 413 ``tooLarge``.
- A ``bulkId`` reference (RFC 7644 §3.7.2) is a string value that is exactly
  ``bulkId:<id>``, anywhere in ``data`` (``members[].value``, ``manager.value``), or the
  resource id in ``path`` (``/Groups/bulkId:<id>``). Operations run in request order,
  except that an operation waits until every operation whose ``bulkId`` it references has
  run (forward references). Operations whose references form a cycle cannot be ordered and
  fail with 409 (RFC 7644 §3.7.1 allows 409 after one attempt).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError
from scim_server.scim.errors import ScimError
from scim_server.scim.errors import TooManyError
from scim_server.scim.errors import excerpt
from scim_server.scim.errors import quoted
from scim_server.scim.patch import lookup
from scim_server.scim.patch import message_operations

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
METHODS = ("POST", "PUT", "PATCH", "DELETE")
REFERENCE_PREFIX = "bulkId:"


class TooManyOperationsError(TooManyError):
    """More operations than ``maxOperations`` (RFC 7644 §3.7.4: 413)."""

    status = 413


class ConflictingReferenceError(ScimError):
    """A ``bulkId`` reference that cannot be resolved now: a cycle, or a failed operation.

    RFC 7644 §3.7.1: the server "MAY stop after a failed attempt and instead return HTTP
    status code 409 (Conflict)"."""

    status = 409


@dataclass(frozen=True)
class BulkOperation:
    """One entry of ``Operations``, checked; ``error`` is set when the entry is malformed."""

    index: int
    method: str
    path: str
    endpoint: str
    resource_id: str | None
    bulk_id: str | None
    version: str | None
    data: Any
    references: frozenset[str]
    error: ScimError | None = None


@dataclass(frozen=True)
class BulkRequest:
    operations: list[BulkOperation]
    fail_on_errors: int | None


def parse_bulk(
    body: dict[str, Any], endpoints: tuple[str, ...], *, max_operations: int
) -> BulkRequest:
    """Parse a BulkRequest message (RFC 7644 §3.7).

    :raises InvalidSyntaxError: not a BulkRequest, or no ``Operations`` array.
    :raises InvalidValueError: ``failOnErrors`` not a positive integer, a repeated ``bulkId``.
    :raises TooManyOperationsError: more than ``max_operations`` operations (413).
    """
    raw_ops = message_operations(body, BULK_REQUEST, "RFC 7644 §3.7")
    if len(raw_ops) > max_operations:
        raise TooManyOperationsError(
            f"This bulk request has {len(raw_ops):,} operations; maxOperations is "
            f"{max_operations:,} (RFC 7644 §3.7.4). Split it into several requests."
        )
    operations = [_operation(index, raw, endpoints) for index, raw in enumerate(raw_ops)]
    _require_unique_bulk_ids(operations)
    return BulkRequest(operations, _fail_on_errors(lookup(body, "failOnErrors")))


def _fail_on_errors(value: Any) -> int | None:
    """RFC 7644 §3.7: "An integer specifying the number of errors that the service provider
    will accept before the operation is terminated"; absent means process everything."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidValueError(f"'failOnErrors' must be a positive integer, not {quoted(value)}.")
    return value


def _require_unique_bulk_ids(operations: list[BulkOperation]) -> None:
    seen: set[str] = set()
    for operation in operations:
        if operation.bulk_id is None:
            continue
        if operation.bulk_id in seen:
            raise InvalidValueError(
                f"bulkId {quoted(operation.bulk_id)} is used by more than one operation; "
                "each must be unique within the request (RFC 7644 §3.7)."
            )
        seen.add(operation.bulk_id)


def _operation(index: int, raw: Any, endpoints: tuple[str, ...]) -> BulkOperation:
    """Check one entry; a malformed one carries its error instead of failing the request."""
    if not isinstance(raw, dict):
        raw = {}
        error: ScimError | None = InvalidSyntaxError(f"Operations[{index}] must be an object.")
    else:
        error = None
    method = lookup(raw, "method")
    path = lookup(raw, "path")
    bulk_id = lookup(raw, "bulkId")
    version = lookup(raw, "version")
    data = lookup(raw, "data")
    method_name = method.upper() if isinstance(method, str) else ""
    endpoint, resource_id = _split_path(path, endpoints)
    try:
        if error is not None:
            raise error
        _check_operation(method_name, path, endpoint, resource_id, bulk_id, version, data)
    except ScimError as caught:
        error = caught
    references = _references(data) | _references(resource_id)
    return BulkOperation(
        index=index,
        method=method_name or str(method),
        path=path if isinstance(path, str) else "",
        endpoint=endpoint or "",
        resource_id=resource_id,
        bulk_id=bulk_id if isinstance(bulk_id, str) else None,
        version=version if isinstance(version, str) else None,
        data=data,
        references=references,
        error=error,
    )


def _split_path(path: Any, endpoints: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``/Users`` → (Users, None); ``/Groups/abc`` → (Groups, abc); endpoint names match
    case-insensitively, and anything else is (None, None)."""
    if not isinstance(path, str):
        return None, None
    parts = path.strip().strip("/").split("/")
    if len(parts) > 2 or not parts[0]:
        return None, None
    endpoint = next((e for e in endpoints if e.lower() == parts[0].lower()), None)
    if endpoint is None:
        return None, None
    return endpoint, (parts[1] or None) if len(parts) == 2 else None


def _check_operation(
    method: str,
    path: Any,
    endpoint: str | None,
    resource_id: str | None,
    bulk_id: Any,
    version: Any,
    data: Any,
) -> None:
    """RFC 7644 §3.7: method, path, bulkId (required for POST), version, data."""
    if method not in METHODS:
        raise InvalidSyntaxError(f"Unsupported method {quoted(method)}; Bulk takes {METHODS}.")
    if endpoint is None:
        raise InvalidSyntaxError(
            f"Path {quoted(path)} names no resource: use /Users, /Groups or /<type>/<id>."
        )
    if method == "POST" and resource_id is not None:
        raise InvalidSyntaxError(f"POST takes a resource type endpoint such as /{endpoint}.")
    if method != "POST" and resource_id is None:
        raise InvalidSyntaxError(f"{method} takes a resource path such as /{endpoint}/{{id}}.")
    if method == "POST" and (not isinstance(bulk_id, str) or not bulk_id):
        raise InvalidSyntaxError("POST requires a non-empty 'bulkId' string (RFC 7644 §3.7).")
    if bulk_id is not None and not isinstance(bulk_id, str):
        raise InvalidSyntaxError(f"'bulkId' must be a string, not {quoted(bulk_id)}.")
    if version is not None and not isinstance(version, str):
        raise InvalidSyntaxError(f"'version' must be an ETag string, not {quoted(version)}.")
    if method != "DELETE" and not isinstance(data, dict):
        raise InvalidSyntaxError(f"{method} requires 'data', a JSON object (RFC 7644 §3.7).")


def _references(value: Any) -> frozenset[str]:
    """Every ``bulkId`` a value references, walking lists and objects without recursion."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.startswith(REFERENCE_PREFIX):
            found.add(item[len(REFERENCE_PREFIX) :])
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(found)


def execution_order(operations: list[BulkOperation]) -> tuple[list[int], list[int]]:
    """(indexes in the order to run, indexes caught in a reference cycle).

    Request order, except that an operation runs after every POST whose ``bulkId`` it
    references (Kahn's algorithm with the lowest index first). References to unknown
    ``bulkId``s do not order anything: the operation fails when it runs.
    """
    creators = {op.bulk_id: op.index for op in operations if op.method == "POST" and op.bulk_id}
    waiting = {
        op.index: {creators[ref] for ref in op.references if ref in creators} for op in operations
    }
    dependants: dict[int, list[int]] = {}
    for index, needs in waiting.items():
        for need in needs:
            dependants.setdefault(need, []).append(index)
    ready = [index for index, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for dependant in dependants.get(index, ()):
            waiting[dependant].discard(index)
            if not waiting[dependant]:
                heapq.heappush(ready, dependant)
    stuck = sorted(set(waiting) - set(order))
    return order, stuck


def cycle_error(operation: BulkOperation, stuck: list[BulkOperation]) -> ScimError:
    names = ", ".join(sorted({op.bulk_id or f"#{op.index}" for op in stuck}))
    return ConflictingReferenceError(
        f"Operations[{operation.index}] is part of, or waits on, a circular bulkId reference "
        f"among {excerpt(names)}; create one side first and add the reference in a later "
        "operation (RFC 7644 §3.7.1)."
    )


#: Deeper data than this is refused before it is walked. The HTTP guard already refuses
#: bodies nested past 32 levels; this bound keeps the walk itself from ever reaching the
#: interpreter's recursion limit, where a garbage collection can fail in odd places.
MAX_DATA_DEPTH = 64


def resolve(value: Any, ids: Mapping[str, str | None]) -> Any:
    """``value`` with every ``bulkId:<id>`` string replaced by the created resource's id.

    :raises InvalidValueError: a reference to a ``bulkId`` no POST in the request carries.
    :raises ConflictingReferenceError: a reference to a POST that failed (``ids`` maps it to
        None).
    :raises InvalidSyntaxError: data nested deeper than MAX_DATA_DEPTH levels.
    """
    return _resolve(value, ids, 0)


def _resolve(value: Any, ids: Mapping[str, str | None], depth: int) -> Any:
    if isinstance(value, str) and value.startswith(REFERENCE_PREFIX):
        return _resolved_id(value[len(REFERENCE_PREFIX) :], ids)
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DATA_DEPTH:
        raise InvalidSyntaxError(f"The operation's data nests deeper than {MAX_DATA_DEPTH} levels.")
    if isinstance(value, dict):
        return {key: _resolve(item, ids, depth + 1) for key, item in value.items()}
    return [_resolve(item, ids, depth + 1) for item in value]


def _resolved_id(bulk_id: str, ids: Mapping[str, str | None]) -> str:
    if bulk_id not in ids:
        raise InvalidValueError(
            f"No POST operation in this request has bulkId {quoted(bulk_id)} (RFC 7644 §3.7.2)."
        )
    resolved = ids[bulk_id]
    if resolved is None:
        raise ConflictingReferenceError(
            f"bulkId {quoted(bulk_id)} refers to an operation that failed, so nothing "
            "was created to refer to."
        )
    return resolved
