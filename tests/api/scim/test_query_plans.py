"""Query plans of the requests an IdP and the host product send most: index seeks only.

The statement budgets (test_statement_counts.py) count round trips; this checks what each
round trip costs as the directory grows. Every statement of the budgeted requests, of six
more IdP requests and of a sign-in (first SSO login, a repeat, the session check) is
explained with its own parameters, and each table that grows with the directory must be
reached by an index seek on more than the tenant's column: a ``SCAN`` of such a table, or a
``SEARCH`` on ``directory_id`` or ``org_id`` alone, walks every user of the directory, which
costs nothing in a test and seconds at a million users.

SQLite only: its planner chooses from the query's shape and the indexes (no table
statistics without ANALYZE), so a plan shows which seek the query allows. PostgreSQL's
planner rightly prefers a sequential scan of a test's few rows, so its plans say nothing
about a million.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event

from tests.api.admin.test_jit import Sso
from tests.api.admin.test_jit import create_connection
from tests.api.admin.test_jit import verify_domain
from tests.api.scim.test_statement_counts import BUDGETS
from tests.api.scim.test_statement_counts import expect_status
from tests.api.scim.test_statement_counts import requests
from tests.scim_client import Admin
from tests.scim_client import Scim

# Tables whose rows grow with the directory (people, members, groups, their history).
# The others hold an organisation's configuration (roles, sites, mappings, connections,
# domains, tokens, its one directory): a tenant's few rows, read whole by design.
GROWING = frozenset(
    {
        "users",
        "memberships",
        "scim_users",
        "scim_user_values",
        "scim_groups",
        "group_members",
        "site_assignments",
        "sessions",
        "sso_identities",
        "invitations",
        "events",
        "provisioning_log",
        "console_links",
        "console_sessions",
    }
)
EXPLAINABLE = ("SELECT", "UPDATE", "DELETE", "INSERT", "WITH")
# A seek on the tenant alone is a walk of the tenant's rows.
TENANT_ONLY = re.compile(r"\((?:directory_id|org_id)=\?\)$")


def explained_during(connection: Any, action: Callable[[], Any]) -> list[tuple[str, list[str]]]:
    """Run ``action``; each statement it ran with its plan (the plan's detail lines)."""
    seen: list[tuple[str, Any]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not executemany and statement.lstrip().upper().startswith(EXPLAINABLE):
            seen.append((statement, parameters))

    event.listen(connection, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    raw = connection.connection.dbapi_connection
    return [
        (statement, [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", params)])
        for statement, params in seen
    ]


def walks(plan: list[str]) -> list[str]:
    """The plan lines that visit a growing table's rows without a seek on more than its
    tenant."""
    bad = []
    for line in plan:
        words = line.split()
        if len(words) < 2 or words[1] not in GROWING:
            continue
        if words[0] == "SCAN" or (words[0] == "SEARCH" and TENANT_ONLY.search(line)):
            bad.append(line)
    return bad


@pytest.fixture
def sqlite_only(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("plans are read from SQLite's planner (see the module docstring)")


def more_requests(scim: Scim) -> dict[str, Callable[[], None]]:
    """IdP requests beyond the budgeted ones whose lookups take another path."""
    user, other = scim.create_user(externalId="ext-planned"), scim.create_user()
    group = scim.create_group(members=[other["id"]])
    path = f"/Users/{user['id']}"

    def put_renamed() -> None:
        body = {k: v for k, v in user.items() if k not in ("id", "meta", "groups")}
        expect_status(scim.put(path, {**body, "userName": "renamed@example.com"}), 200)

    def patch_external_id() -> None:
        ops = [{"op": "replace", "path": "externalId", "value": "moved-elsewhere"}]
        expect_status(scim.patch(path, ops), 200)

    return {
        "post_user_with_external_id": lambda: scim.create_user(externalId="ext-new"),
        "put_renamed": put_renamed,
        "patch_external_id": patch_external_id,
        "filter_external_id": lambda: expect_status(
            scim.get("/Users", query_string={"filter": f'externalId eq "{user["externalId"]}"'}),
            200,
        ),
        "filter_group_name": lambda: expect_status(
            scim.get(
                "/Groups", query_string={"filter": f'displayName eq "{group["displayName"]}"'}
            ),
            200,
        ),
        "get_group": lambda: expect_status(
            scim.get(f"/Groups/{group['id']}", query_string={"excludedAttributes": "members"}),
            200,
        ),
        "delete_user": lambda: expect_status(scim.delete(f"/Users/{other['id']}"), 204),
    }


MORE = (
    "post_user_with_external_id",
    "put_renamed",
    "patch_external_id",
    "filter_external_id",
    "filter_group_name",
    "get_group",
    "delete_user",
)


@pytest.mark.parametrize("name", [*sorted(BUDGETS), *MORE])
def test_every_table_is_reached_by_a_seek(sqlite_only, scim, admin, connection, name):
    action = (requests(scim, admin) | more_requests(scim))[name]
    found = [
        (" ".join(statement.split()), walks(plan))
        for statement, plan in explained_during(connection, action)
    ]
    assert not [f for f in found if f[1]], "\n\n".join(f"{s}\n  {w}" for s, w in found if w)


def sign_in_requests(platform: Admin, admin: Admin, org_id: str) -> dict[str, Callable[[], None]]:
    """The host product's calls on every sign-in: SSO login (JIT the first time), then the
    session check it makes on its own requests."""
    verify_domain(platform, org_id, "acme.com")
    sso = Sso(platform, create_connection(admin, org_id))
    session = sso.ok("known", "known@acme.com")["session"]
    return {
        "sso_first_login": lambda: sso.ok("new", "new@acme.com") and None,
        "sso_login_again": lambda: sso.ok("known", "known@acme.com") and None,
        "session_check": lambda: expect_status(
            platform.call("GET", f"/sessions/{session['id']}"), 200
        ),
    }


@pytest.mark.parametrize("name", ["sso_first_login", "sso_login_again", "session_check"])
def test_sign_in_lookups_seek_their_index(sqlite_only, platform, admin, org, connection, name):
    action = sign_in_requests(platform, admin, org.id)[name]
    found = [
        (" ".join(statement.split()), walks(plan))
        for statement, plan in explained_during(connection, action)
    ]
    assert not [f for f in found if f[1]], "\n\n".join(f"{s}\n  {w}" for s, w in found if w)
