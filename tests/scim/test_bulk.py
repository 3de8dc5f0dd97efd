"""scim/bulk.py with plain dicts: parsing, execution order and bulkId resolution."""

from __future__ import annotations

import pytest

from scim_server.scim.bulk import BULK_REQUEST
from scim_server.scim.bulk import ConflictingReferenceError
from scim_server.scim.bulk import execution_order
from scim_server.scim.bulk import parse_bulk
from scim_server.scim.bulk import resolve
from scim_server.scim.errors import InvalidSyntaxError
from scim_server.scim.errors import InvalidValueError

ENDPOINTS = ("Users", "Groups")


def plan(*operations):
    body = {"schemas": [BULK_REQUEST], "Operations": list(operations)}
    return parse_bulk(body, ENDPOINTS, max_operations=100).operations


def post(bulk_id, *refs, endpoint="/Groups"):
    return {
        "method": "POST",
        "path": endpoint,
        "bulkId": bulk_id,
        "data": {"members": [{"value": f"bulkId:{r}"} for r in refs]},
    }


def test_request_order_when_nothing_refers_forward():
    assert execution_order(plan(post("a"), post("b", "a"), post("c"))) == ([0, 1, 2], [])


def test_forward_reference_waits_for_its_target_and_keeps_the_rest_in_order():
    order, stuck = execution_order(plan(post("g", "u2"), post("u1"), post("u2"), post("z")))
    assert (order, stuck) == ([1, 2, 0, 3], [])


def test_chain_of_forward_references():
    order, _ = execution_order(plan(post("a", "b"), post("b", "c"), post("c")))
    assert order == [2, 1, 0]


def test_cycles_and_what_waits_on_them_are_stuck():
    ops = plan(post("a", "b"), post("b", "a"), post("c", "a"), post("self", "self"), post("d"))
    assert execution_order(ops) == ([4], [0, 1, 2, 3])


def test_reference_in_the_path_orders_too():
    patch = {"method": "DELETE", "path": "/Groups/bulkId:g"}
    ops = plan(patch, post("g"))
    assert ops[0].resource_id == "bulkId:g"
    assert execution_order(ops) == ([1, 0], [])


def test_unknown_bulk_id_does_not_order_and_fails_when_resolved():
    ops = plan(post("a", "ghost"))
    assert execution_order(ops) == ([0], [])
    with pytest.raises(InvalidValueError, match="ghost"):
        resolve(ops[0].data, {})


def test_resolve_replaces_exact_references_only():
    data = {"members": [{"value": "bulkId:u"}, {"value": "see bulkId:u"}], "n": 1}
    resolved = resolve(data, {"u": "id-1"})
    assert resolved == {"members": [{"value": "id-1"}, {"value": "see bulkId:u"}], "n": 1}
    assert data["members"][0]["value"] == "bulkId:u"  # the input is not modified


def test_reference_to_a_failed_operation_is_a_conflict():
    with pytest.raises(ConflictingReferenceError) as caught:
        resolve("bulkId:u", {"u": None})
    assert caught.value.status == 409


def test_paths_and_methods_are_read_case_insensitively():
    (op,) = plan({"method": "delete", "path": "/users/abc/"})
    assert (op.method, op.endpoint, op.resource_id, op.error) == ("DELETE", "Users", "abc", None)


@pytest.mark.parametrize("path", ["/Users/a/b", "Users/", "/", "", "/Bulk", None])
def test_bad_paths_fail_the_operation_only(path):
    (op,) = plan({"method": "DELETE", "path": path})
    assert op.error is not None and op.error.scim_type == "invalidSyntax"


def test_resolving_deeply_nested_data_is_a_400_not_a_recursion_error():
    deep: object = "bulkId:u"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidSyntaxError, match="nests deeper than"):
        resolve(deep, {"u": "id-1"})
