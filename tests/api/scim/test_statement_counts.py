"""SQL statements per SCIM request: a ceiling for the requests an IdP sends most.

A refactor that moves code between layers can quietly add a lookup per request (a second
read of the membership, a directory fetched twice); at IdP sync volume that is the latency
budget. Each request below runs through the Flask test client with the organisation's SCIM
token, and every statement the connection executes is counted (``before_cursor_execute``:
authentication, reads, writes, events and the savepoints the test session uses alike).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.scim_client import Scim
from tests.sql_statements import statements_during

# Ceilings, measured on SQLite at the commit that introduced this test. They must never grow:
# lower one when a change saves a statement; a change that needs more must first remove
# statements elsewhere in the same request.
# The counts include the test session's own SAVEPOINT/RELEASE pair around each request.
CEILINGS = {
    "get_user": 7,
    "patch_active": 16,
    "patch_name": 13,
    "post_user": 20,
    "group_add_one_member": 12,
}


def expect_status(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)


def requests(scim: Scim) -> dict[str, Callable[[], None]]:
    """One callable per measured request; everything it needs exists beforehand."""
    user = scim.create_user()
    member = scim.create_user()
    group = scim.create_group(members=[scim.create_user()["id"]])
    path = f"/Users/{user['id']}"
    return {
        "get_user": lambda: expect_status(scim.get(path), 200),
        "patch_active": lambda: expect_status(
            scim.patch(path, [{"op": "replace", "path": "active", "value": False}]), 200
        ),
        "patch_name": lambda: expect_status(
            scim.patch(path, [{"op": "replace", "path": "name.givenName", "value": "Ann"}]),
            200,
        ),
        "post_user": lambda: scim.create_user(),
        "group_add_one_member": lambda: expect_status(
            scim.patch(
                f"/Groups/{group['id']}",
                [{"op": "add", "path": "members", "value": [{"value": member["id"]}]}],
            ),
            204,
        ),
    }


@pytest.mark.parametrize("name", sorted(CEILINGS))
def test_statements_per_request_stay_under_the_ceiling(scim, connection, name):
    action = requests(scim)[name]
    statements = statements_during(connection, action)
    assert len(statements) <= CEILINGS[name], "\n".join(statements)


def test_the_counter_sees_every_statement(scim, connection):
    """The counter is not blind: one more lookup in a request raises the count by one."""
    user = scim.create_user()
    once = len(statements_during(connection, lambda: scim.get(f"/Users/{user['id']}")))
    twice = len(
        statements_during(
            connection,
            lambda: (scim.get(f"/Users/{user['id']}"), scim.get(f"/Users/{user['id']}")),
        )
    )
    assert once > 0 and twice == 2 * once
