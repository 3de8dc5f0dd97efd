"""SQL statements per SCIM request: a budget for the requests an IdP sends most.

A refactor that moves code between layers can quietly add a lookup per request (a second
read of the membership, a directory fetched twice); at IdP sync volume that is the latency
budget. Each request below runs through the Flask test client with the organisation's SCIM
token, and every statement the connection executes is recorded (``before_cursor_execute``:
authentication, reads, writes, events and savepoints alike).

How the budget counts: of the recorded statements, the test session's own SAVEPOINT and
RELEASE around the request are dropped (an artefact of the rolled-back test transaction;
a live request has its BEGIN and COMMIT instead), and authentication must be exactly one
statement, the token joined to its organisation and directory — or none, for a read within a
second of another by the same token on the same worker (``scim_server/auth.py``); the budgets
are measured with it run. Everything after it counts:
reads, writes, event inserts and any savepoint a service opens itself. The same budgets
hold on SQLite and on PostgreSQL (``SCIM_TEST_DATABASE_URL``).

What remains, and why each statement is needed (SQLite and PostgreSQL alike):

- GET /Users/{id} (1): the user with its membership, person and groups (a JSON aggregate
  of its groups, a correlated subquery driven by the member's rows).
- GET /Users?filter=userName eq (1): the page of users, each with its groups as for a
  GET, selected by the attribute in one statement built once per attribute (a short first
  page is its own exact total, so no COUNT).
- GET /Groups?filter=displayName eq with excludedAttributes=members (1): the page of
  groups, selected as a user lookup is (Entra's and Okta's group lookup).
- POST /Users (6; asked 8): the userName/externalId holder, the re-add tombstones, the
  person holding the email and the owner of its domain (one UNION ALL); INSERT the person
  (ON CONFLICT DO NOTHING, no savepoint); INSERT the membership; its event; the SCIM row;
  its filter-index rows. A new user is in no group, so no group read.
- PATCH active false (5; reactivation 4, with no sessions to revoke): the user, locked,
  with its groups for the response (as a GET reads them); UPDATE memberships (D and the
  access epoch in one); UPDATE scim_users (the new ETag); UPDATE sessions (revocation);
  the event.
- PATCH name.givenName (4): the user, locked, with its groups; one UPDATE scim_users
  (attributes and ETag); UPDATE users (profile sync: this directory created the person, so
  the person's global name follows it, docs/lifecycle.md §9); the event. The filter-index
  rows change only when an indexed multi-valued attribute does.
- PATCH title (3): as a name, without the person's UPDATE: nothing the product shows for
  the person changed, so profile sync writes nothing.
- Entra's periodic PATCH active true on an active user (1): the user with its groups. No
  write.
- One-member group add or remove (5; asked 4): the group, locked (ETag check); one
  INSERT … SELECT that checks the id as it adds the row (a remove: one DELETE … RETURNING);
  UPDATE the member's version (its ``groups`` changed, so must its ETag); the event; UPDATE
  the group's version. Four would need the member's bump folded into the INSERT (a
  data-modifying CTE, which SQLite lacks) or the group's bump made before knowing whether
  anything changed (a no-op add must keep the ETag): five is the floor that keeps events in
  the transaction and ETags exact. Whether a group mapping names the group is read by the
  same locking SELECT (an EXISTS column), so an unmapped group pays nothing for mappings.
- One-member add or remove on a *mapped* group (9): the five above, then the recompute of
  docs/lifecycle.md §2.7 over that one member: the ``membership.grants_synced`` event
  (INSERT … SELECT, written only if something changes); UPDATE memberships (the role, only
  if it differs); DELETE the site assignments no longer mapped; INSERT the newly mapped
  ones. Each is SQL over the one member's rows, whatever the group's size.

Outside the budgets: every write request also inserts its provisioning log entry (one
INSERT in the same transaction, scim_server/request_log.py); a successful read inserts
none. ``after_auth`` takes it out of the count and checks there is exactly that one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.sql_statements import statements_during

# Statements after authentication, as measured when the budgets were introduced (issue 11
# asked GET <= 2, POST <= 8, PATCH active <= 6, a name <= 5, the no-op <= 2, a one-member group
# change <= 4; see the module docstring for the group). They must never grow: lower one when a
# change saves a statement; a change that needs more must first remove one elsewhere.
BUDGETS = {
    "get_user": 1,
    "filter_user_name": 1,
    "filter_group_name": 1,
    "post_user": 6,
    "patch_active": 5,
    "patch_reactivate": 4,
    "patch_name": 4,
    "patch_title": 3,
    "patch_active_noop": 1,
    "group_add_one_member": 5,
    "group_remove_one_member": 5,
    "mapped_group_add_one_member": 9,
    "mapped_group_remove_one_member": 9,
}
# Requests that must not write at all.
READ_ONLY = {"get_user", "filter_user_name", "filter_group_name", "patch_active_noop"}
WRITES = ("INSERT", "UPDATE", "DELETE")


def expect_status(response: Any, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)


def _active(value: bool) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": "active", "value": value}]


def requests(scim: Scim, admin: Admin) -> dict[str, Callable[[], None]]:
    """One callable per measured request; everything it needs exists beforehand."""
    user = scim.create_user()
    inactive = scim.create_user(active=False)
    member = scim.create_user()
    kept = scim.create_user()
    group = scim.create_group(members=[kept["id"]])
    path, group_path = f"/Users/{user['id']}", f"/Groups/{group['id']}"
    mapped_member, mapped_kept = scim.create_user(), scim.create_user()
    mapped = scim.create_group(members=[mapped_kept["id"]])
    mapped_path = f"/Groups/{mapped['id']}"
    site = admin.call("POST", f"/organizations/{admin.org_id}/sites", {"name": "HQ"}).get_json()
    for grant in ({"role": "viewer"}, {"site": site["id"]}):
        created = admin.call(
            "POST",
            f"/organizations/{admin.org_id}/group-mappings",
            {"group": {"id": mapped["id"]}, **grant},
        )
        assert created.status_code == 201, created.get_json()
    return {
        "mapped_group_add_one_member": lambda: expect_status(
            scim.patch(
                mapped_path,
                [{"op": "add", "path": "members", "value": [{"value": mapped_member["id"]}]}],
            ),
            204,
        ),
        "mapped_group_remove_one_member": lambda: expect_status(
            scim.patch(
                mapped_path, [{"op": "remove", "path": f'members[value eq "{mapped_kept["id"]}"]'}]
            ),
            204,
        ),
        "get_user": lambda: expect_status(scim.get(path), 200),
        "filter_user_name": lambda: expect_status(
            scim.get("/Users", query_string={"filter": f'userName eq "{user["userName"]}"'}), 200
        ),
        "filter_group_name": lambda: expect_status(
            scim.get(
                "/Groups",
                query_string={
                    "filter": f'displayName eq "{group["displayName"]}"',
                    "excludedAttributes": "members",
                },
            ),
            200,
        ),
        "post_user": lambda: scim.create_user(),
        "patch_active": lambda: expect_status(scim.patch(path, _active(False)), 200),
        "patch_reactivate": lambda: expect_status(
            scim.patch(f"/Users/{inactive['id']}", _active(True)), 200
        ),
        "patch_name": lambda: expect_status(
            scim.patch(path, [{"op": "replace", "path": "name.givenName", "value": "Ann"}]),
            200,
        ),
        "patch_title": lambda: expect_status(
            scim.patch(path, [{"op": "replace", "path": "title", "value": "Engineer"}]),
            200,
        ),
        "patch_active_noop": lambda: expect_status(
            scim.patch(
                f"/Users/{member['id']}", [{"op": "Replace", "path": "active", "value": "True"}]
            ),
            200,
        ),
        "group_add_one_member": lambda: expect_status(
            scim.patch(
                group_path, [{"op": "add", "path": "members", "value": [{"value": member["id"]}]}]
            ),
            204,
        ),
        "group_remove_one_member": lambda: expect_status(
            scim.patch(group_path, [{"op": "remove", "path": f'members[value eq "{kept["id"]}"]'}]),
            204,
        ),
    }


def after_auth(statements: list[str], *, logged: bool) -> list[str]:
    """The request's statements after authentication, without the test's savepoint pair
    and the provisioning log's one INSERT (``logged``: exactly one, else none)."""
    assert statements[0].startswith("SAVEPOINT"), statements
    assert statements[-1].startswith("RELEASE SAVEPOINT"), statements
    log_rows = [s for s in statements if "INTO provisioning_log" in s]
    assert len(log_rows) == (1 if logged else 0), "\n".join(statements)
    inner = [s for s in statements[1:-1] if s not in log_rows]
    auth = [s for s in inner if "FROM api_tokens" in s]
    assert auth == inner[:1], "authentication must be exactly the first statement"
    return inner[1:]


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_statements_per_request_stay_within_budget(scim, admin, connection, name):
    action = requests(scim, admin)[name]
    logged = name not in READ_ONLY - {"patch_active_noop"}  # successful reads log nothing
    statements = after_auth(statements_during(connection, action), logged=logged)
    assert len(statements) <= BUDGETS[name], "\n".join(statements)
    if name in READ_ONLY:
        assert not [s for s in statements if s.lstrip().upper().startswith(WRITES)]


def test_the_counter_sees_every_statement(scim, connection):
    """The counter is not blind: one more request raises the count by a request's worth
    (a write, so that authentication runs both times)."""
    user = scim.create_user()
    path, noop = f"/Users/{user['id']}", _active(True)
    once = len(statements_during(connection, lambda: scim.patch(path, noop)))
    twice = len(
        statements_during(connection, lambda: (scim.patch(path, noop), scim.patch(path, noop)))
    )
    assert once > 0 and twice == 2 * once


def test_a_mapped_one_member_change_writes_the_grants(scim, admin, connection):
    """The mapped budget is spent on the recompute: the member's role really changes."""
    requests(scim, admin)["mapped_group_remove_one_member"]()
    synced = [e for e in admin.events()["events"] if e["type"] == "membership.grants_synced"]
    assert synced[-1]["reason"] == "group members changed"
    assert synced[-1]["after"]["role"] != synced[-1]["before"]["role"]
