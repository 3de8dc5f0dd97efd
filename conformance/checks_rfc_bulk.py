"""Bulk beyond one create (RFC 7644 §3.7): bulkId references, failOnErrors, errors, limits.

Group ``rfc``; every check needs ``bulk.supported`` in /ServiceProviderConfig. The single
create is ``rfc.bulk.create_user`` in ``checks_rfc_users.py``.
"""

from __future__ import annotations

from typing import Any

from .client import Reply
from .common import BULK_REQUEST
from .common import BULK_RESPONSE
from .common import ERROR
from .common import GROUP
from .common import expect_error
from .common import get_group
from .common import group_name
from .common import member_ids
from .common import random_id
from .common import tag
from .common import user_body
from .registry import Context
from .registry import check
from .registry import expect
from .registry import skip

G = "rfc"
# The largest body a limit check sends: a server advertising more is not probed.
MAX_PROBE_BYTES = 4 * 1024 * 1024


def post_bulk(ctx: Context, operations: list[dict], **extra: Any) -> list[dict]:
    """POST /Bulk; every created resource is deleted after the check."""
    reply = ctx.client.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations, **extra})
    expect(
        reply.status == 200 and isinstance(reply.body, dict), "POST /Bulk should answer 200", reply
    )
    expect(
        BULK_RESPONSE in (reply.body.get("schemas") or []),
        f"schemas must contain {BULK_RESPONSE}",
        reply,
    )
    results = reply.body.get("Operations")
    expect(isinstance(results, list), "a BulkResponse carries an Operations array", reply)
    for result in results:
        if str(result.get("status")) == "201" and isinstance(result.get("location"), str):
            ctx.delete_later(result["location"])
    return results


def by_bulk_id(results: list[dict]) -> dict[str, dict]:
    return {r["bulkId"]: r for r in results if isinstance(r, dict) and "bulkId" in r}


def resource_id(result: dict) -> str:
    location = result.get("location")
    expect(isinstance(location, str) and location, f"no location in {result}")
    return str(location).rstrip("/").rsplit("/", 1)[1]


def new_user(t: str, bulk_id: str) -> dict:
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user_body(t, bulk_id)}


def new_group(t: str, bulk_id: str, members: list[str]) -> dict:
    data = {
        "schemas": [GROUP],
        "displayName": group_name(t, bulk_id),
        "members": [{"value": m} for m in members],
    }
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


@check(
    "rfc.bulk.forward_reference", G, "RFC 7644 §3.7.2 (bulkId, forward references)", requires="bulk"
)
def bulk_forward_reference(ctx: Context) -> None:
    """The group names users by bulkId, one of them created by a later operation."""
    t = tag()
    results = by_bulk_id(
        post_bulk(
            ctx,
            [new_user(t, "u1"), new_group(t, "g", ["bulkId:u1", "bulkId:u2"]), new_user(t, "u2")],
        )
    )
    for name in ("u1", "u2", "g"):
        expect(
            str(results.get(name, {}).get("status")) == "201", f"{name} should be 201: {results}"
        )
    group = get_group(ctx, resource_id(results["g"]), "created by Bulk")
    wanted = {resource_id(results["u1"]), resource_id(results["u2"])}
    expect(
        member_ids(group) == wanted,
        f"the group's members should be the users created in the request, got {member_ids(group)}",
    )


@check(
    "rfc.bulk.operation_error",
    G,
    "RFC 7644 §3.7.3 (response for a failed operation)",
    requires="bulk",
)
def bulk_operation_error(ctx: Context) -> None:
    """A failed operation carries its status and an Error ``response``; the others run."""
    t = tag()
    missing = {"method": "DELETE", "path": f"/Users/{random_id()}"}
    results = post_bulk(ctx, [missing, new_user(t, "ok")])
    expect(len(results) == 2, f"both operations should be reported: {results}")
    failed = next((r for r in results if r.get("method") == "DELETE"), {})
    expect(str(failed.get("status")) == "404", f"DELETE of an unknown id should be 404: {failed}")
    response = failed.get("response") or {}
    expect(
        ERROR in (response.get("schemas") or []), f"the failure needs an Error response: {failed}"
    )
    created = by_bulk_id(results).get("ok", {})
    expect(str(created.get("status")) == "201", f"the other operation should still run: {results}")


@check("rfc.bulk.fail_on_errors", G, "RFC 7644 §3.7 (failOnErrors)", requires="bulk")
def bulk_fail_on_errors(ctx: Context) -> None:
    t = tag()
    missing = [{"method": "DELETE", "path": f"/Users/{random_id()}"} for _ in range(2)]
    results = post_bulk(ctx, [*missing, new_user(t, "never")], failOnErrors=1)
    expect(
        len(results) == 1 and str(results[0].get("status")).startswith("4"),
        f"with failOnErrors=1 the server stops after the first error: {results}",
    )
    found = ctx.client.get(
        "/Users", params={"filter": f'userName eq "{user_body(t, "never")["userName"]}"'}
    )
    expect(
        isinstance(found.body, dict) and found.body.get("totalResults") == 0,
        "operations after the stop must not run",
        found,
    )


@check("rfc.bulk.circular_reference", G, "RFC 7644 §3.7.1 (circular references)", requires="bulk")
def bulk_circular(ctx: Context) -> None:
    """Two groups naming each other: resolved (both 201 with the members) or 409 each."""
    t = tag()
    results = by_bulk_id(
        post_bulk(ctx, [new_group(t, "a", ["bulkId:b"]), new_group(t, "b", ["bulkId:a"])])
    )
    statuses = {name: str(results.get(name, {}).get("status")) for name in ("a", "b")}
    if statuses == {"a": "201", "b": "201"}:
        group = get_group(ctx, resource_id(results["a"]), "created by Bulk")
        expect(
            member_ids(group) == {resource_id(results["b"])}, "a resolved cycle keeps its members"
        )
        return
    expect(statuses == {"a": "409", "b": "409"}, f"a cycle is resolved or 409: {statuses}")


def _limit(ctx: Context, name: str) -> int:
    value = ctx.features.spc().get("bulk", {}).get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        skip(f"bulk.{name} is not advertised as a positive integer")
    return int(value)


def _expect_413(reply: Reply, limit: str) -> None:
    expect_error(reply, 413)
    expect(
        limit in str(reply.body.get("detail")),
        f"the 413 must name {limit} (RFC 7644 §3.7.4)",
        reply,
    )


@check("rfc.bulk.max_operations", G, "RFC 7644 §3.7.4 (maxOperations → 413)", requires="bulk")
def bulk_max_operations(ctx: Context) -> None:
    limit = _limit(ctx, "maxOperations")
    if limit > 5000:
        skip(f"maxOperations is {limit:,}; the check sends at most 5,001 operations")
    operations = [{"method": "DELETE", "path": f"/Users/{random_id()}"} for _ in range(limit + 1)]
    reply = ctx.client.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": operations})
    _expect_413(reply, "maxOperations")


@check("rfc.bulk.max_payload_size", G, "RFC 7644 §3.7.4 (maxPayloadSize → 413)", requires="bulk")
def bulk_max_payload(ctx: Context) -> None:
    limit = _limit(ctx, "maxPayloadSize")
    if limit > MAX_PROBE_BYTES:
        skip(f"maxPayloadSize is {limit:,} bytes; the check sends at most {MAX_PROBE_BYTES:,}")
    t = tag()
    operation = new_user(t, "big")
    operation["data"]["title"] = "x" * (limit + 1)
    reply = ctx.client.post("/Bulk", {"schemas": [BULK_REQUEST], "Operations": [operation]})
    if reply.status == 200 and isinstance(reply.body, dict):
        for result in reply.body.get("Operations") or []:
            if isinstance(result, dict) and isinstance(result.get("location"), str):
                ctx.delete_later(result["location"])
    _expect_413(reply, "maxPayloadSize")
