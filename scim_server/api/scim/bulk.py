"""POST /scim/v2/Bulk (RFC 7644 §3.7): each operation through the single-request path.

Parsing, ordering and ``bulkId`` resolution are protocol (``scim/bulk.py``); each operation
then runs the very service function its single request would (``services/directory``), so
lifecycle rules, sticky overrides and audit events (with this request's id) are the same.

Transactions: each operation is its own transaction (``db.end_operation``): committed
when it succeeds, rolled back when it fails, so a failed operation changes nothing and the
others stand. One transaction for the whole request (a savepoint per operation) would make
the response describe exactly what is stored, but it holds the write lock for the whole
request: a 1,000-create request took 22 s on SQLite, and single requests sent meanwhile
waited the 10 s of ``SCIM_LOCK_TIMEOUT_SECONDS`` and got 503 (README "Bulk"). A failure
of the server itself half-way (a 500 or 503) leaves the operations before it stored;
resending the request is safe for the operations IdPs send (a repeated POST is 409
``uniqueness``; PUT, PATCH and DELETE repeat to the same state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from sqlalchemy.orm import Session

from scim_server.api.scim import groups as group_views
from scim_server.api.scim import requests
from scim_server.api.scim import users as user_views
from scim_server.auth import require_scim_token
from scim_server.db import end_operation
from scim_server.db import get_session
from scim_server.errors import scim_error_body
from scim_server.scim.bulk import BULK_RESPONSE
from scim_server.scim.bulk import BulkOperation
from scim_server.scim.bulk import cycle_error
from scim_server.scim.bulk import execution_order
from scim_server.scim.bulk import parse_bulk
from scim_server.scim.bulk import resolve
from scim_server.scim.errors import ScimError
from scim_server.scim.errors import TooLargeError
from scim_server.services.directory import groups
from scim_server.services.directory import users
from scim_server.services.directory.context import ScimContext
from scim_server.services.errors import DomainError
from scim_server.services.formats import etag

bp = Blueprint("bulk", __name__, url_prefix="/scim/v2")
bp.before_request(require_scim_token)

ENDPOINTS = ("Users", "Groups")


@dataclass(frozen=True)
class Outcome:
    """What one successful operation did: its status, and the resource it touched."""

    status: int
    resource_id: str
    version: int | None


Handler = Callable[[Session, ScimContext, str | None, Any, str | None], Outcome]


@bp.post("/Bulk")
def bulk() -> Response:
    ctx = requests.context()
    body = _bulk_body()
    plan = parse_bulk(body, ENDPOINTS, max_operations=current_app.config["BULK_MAX_OPERATIONS"])
    results = _run(get_session(), ctx, plan.operations, plan.fail_on_errors)
    return requests.scim_response({"schemas": [BULK_RESPONSE], "Operations": results})


def _bulk_body() -> dict[str, Any]:
    """The body, refused with 413 before parsing when over ``maxPayloadSize`` (RFC 7644
    §3.7.4: "MUST specify the limit exceeded in the body of the error response")."""
    limit: int = current_app.config["BULK_MAX_PAYLOAD_BYTES"]
    size = request.content_length
    if size is None:
        size = len(request.get_data(cache=True))
    if size > limit:
        raise TooLargeError(
            f"The bulk request is {size:,} bytes; maxPayloadSize is {limit:,} "
            "(RFC 7644 §3.7.4). Split it into several requests."
        )
    return requests.json_body()


def _run(
    db: Session, ctx: ScimContext, operations: list[BulkOperation], fail_on_errors: int | None
) -> list[dict[str, Any]]:
    """Run in dependency order; stop once ``failOnErrors`` operations have failed."""
    order, stuck = execution_order(operations)
    stuck_ops = [operations[index] for index in stuck]
    ids: dict[str, str | None] = {}
    results: list[dict[str, Any]] = []
    errors = 0
    for operation in [operations[index] for index in order] + stuck_ops:
        blocked = cycle_error(operation, stuck_ops) if operation.index in stuck else None
        result = _run_one(db, ctx, operation, ids, blocked)
        results.append(result)
        if int(result["status"]) >= 400:
            errors += 1
            if fail_on_errors is not None and errors >= fail_on_errors:
                break
    return results


def _run_one(
    db: Session,
    ctx: ScimContext,
    operation: BulkOperation,
    ids: dict[str, str | None],
    blocked: ScimError | None,
) -> dict[str, Any]:
    """One operation, one transaction; a SCIM or domain error becomes its result."""
    if operation.method == "POST" and operation.bulk_id:
        ids[operation.bulk_id] = None  # until it succeeds, references to it fail
    try:
        refusal = blocked or operation.error
        if refusal is not None:
            raise refusal
        outcome = _dispatch(db, ctx, operation, ids)
    except (ScimError, DomainError) as error:
        end_operation(succeeded=False)
        return _failure(ctx, operation, ids, error)
    end_operation(succeeded=True)
    if operation.method == "POST" and operation.bulk_id:
        ids[operation.bulk_id] = outcome.resource_id
    return _success(ctx, operation, outcome)


def _dispatch(
    db: Session, ctx: ScimContext, operation: BulkOperation, ids: dict[str, str | None]
) -> Outcome:
    resource_id = resolve(operation.resource_id, ids) if operation.resource_id else None
    data = resolve(operation.data, ids) if operation.references else operation.data
    handler = _HANDLERS[(operation.endpoint, operation.method)]
    return handler(db, ctx, resource_id, data, operation.version)


def _result(operation: BulkOperation) -> dict[str, Any]:
    result: dict[str, Any] = {"method": operation.method}
    if operation.bulk_id is not None:
        result["bulkId"] = operation.bulk_id
    return result


def _success(ctx: ScimContext, operation: BulkOperation, outcome: Outcome) -> dict[str, Any]:
    result = _result(operation)
    result["location"] = ctx.location(operation.endpoint, outcome.resource_id)
    if outcome.version is not None:
        result["version"] = etag(outcome.version)
    result["status"] = str(outcome.status)
    return result


def _failure(
    ctx: ScimContext,
    operation: BulkOperation,
    ids: dict[str, str | None],
    error: ScimError | DomainError,
) -> dict[str, Any]:
    """RFC 7644 §3.7.3: a failed operation carries its error as ``response``, and its
    ``location`` when it addressed an existing resource."""
    status, body = scim_error_body(error)
    result = _result(operation)
    target = _known_target(operation, ids)
    if target is not None:
        result["location"] = ctx.location(operation.endpoint, target)
    result["status"] = str(status)
    result["response"] = body
    return result


def _known_target(operation: BulkOperation, ids: dict[str, str | None]) -> str | None:
    if operation.resource_id is None or operation.error is not None:
        return None
    try:
        resolved: str = resolve(operation.resource_id, ids)
    except ScimError:
        return None
    return resolved


# ---------------------------------------------------------------------------
# The single-request service paths, one per (endpoint, method)
# ---------------------------------------------------------------------------


def _create_user(
    db: Session, ctx: ScimContext, _id: str | None, data: Any, _version: str | None
) -> Outcome:
    view = users.create_user(db, ctx, user_views.validated_body(ctx, data))
    return Outcome(201, view.row.id, view.row.version)


def _replace_user(
    db: Session, ctx: ScimContext, scim_id: str | None, data: Any, version: str | None
) -> Outcome:
    doc = user_views.validated_body(ctx, data)
    view = users.replace_user(db, ctx, str(scim_id), doc, if_match=version)
    return Outcome(200, view.row.id, view.row.version)


def _patch_user(
    db: Session, ctx: ScimContext, scim_id: str | None, data: Any, version: str | None
) -> Outcome:
    ops = requests.patch_operations(ctx, ctx.registry.user, data)
    view = users.patch_user(db, ctx, str(scim_id), ops, if_match=version)
    return Outcome(200, view.row.id, view.row.version)


def _delete_user(
    db: Session, ctx: ScimContext, scim_id: str | None, _data: Any, version: str | None
) -> Outcome:
    users.delete_user(db, ctx, str(scim_id), if_match=version)
    return Outcome(204, str(scim_id), None)


def _create_group(
    db: Session, ctx: ScimContext, _id: str | None, data: Any, _version: str | None
) -> Outcome:
    group = groups.create_group(db, ctx, group_views.validated_body(ctx, data))
    return Outcome(201, group.id, group.version)


def _replace_group(
    db: Session, ctx: ScimContext, group_id: str | None, data: Any, version: str | None
) -> Outcome:
    doc = group_views.validated_body(ctx, data)
    group = groups.replace_group(db, ctx, str(group_id), doc, if_match=version)
    return Outcome(200, group.id, group.version)


def _patch_group(
    db: Session, ctx: ScimContext, group_id: str | None, data: Any, version: str | None
) -> Outcome:
    """204, as a single Group PATCH answers without ``attributes`` (docs/api.md §4)."""
    ops = requests.patch_operations(ctx, ctx.registry.group, data)
    group = groups.patch_group(db, ctx, str(group_id), ops, if_match=version)
    return Outcome(204, group.id, group.version)


def _delete_group(
    db: Session, ctx: ScimContext, group_id: str | None, _data: Any, version: str | None
) -> Outcome:
    groups.delete_group(db, ctx, str(group_id), if_match=version)
    return Outcome(204, str(group_id), None)


_HANDLERS: dict[tuple[str, str], Handler] = {
    ("Users", "POST"): _create_user,
    ("Users", "PUT"): _replace_user,
    ("Users", "PATCH"): _patch_user,
    ("Users", "DELETE"): _delete_user,
    ("Groups", "POST"): _create_group,
    ("Groups", "PUT"): _replace_group,
    ("Groups", "PATCH"): _patch_group,
    ("Groups", "DELETE"): _delete_group,
}
