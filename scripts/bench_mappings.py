"""One-member add/remove on a 100,000-member mapped group vs an unmapped one, on PostgreSQL.

docs/lifecycle.md §2.7 recomputes the grants of the members a change touched, in SQL over
their rows only; this measures that the recompute keeps a one-member change to a huge
mapped group at the cost of the same change to an unmapped group (the target: within 2x).

It seeds set-based (a few INSERT … SELECT over generate_series): N users, two groups of
the same N members ("mapped", with a role mapping and a site mapping; "plain", none), then
runs R pairs of PATCH add + PATCH remove of one spare user on each group, alternating the
two groups so that drift hits both alike, through the Flask app in-process (the SCIM
endpoint, its transaction and commit; no HTTP socket). It prints p50/p95 per request.

    .venv/bin/python scripts/bench_mappings.py --database postgresql://…/db --reset

``--reset`` drops and recreates the database's ``public`` schema: use a throw-away
database.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import text

from scim_server import create_app
from scim_server.db import session_scope
from scim_server.services.audit import Actor
from scim_server.services.organizations import orgs
from scim_server.services.organizations import tokens
from scim_server.storage import migrate

PEPPER = "bench-pepper"
PLATFORM_KEY = "bench-platform-key"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

SEED = [
    """INSERT INTO users (id, email, email_normalized, email_verified, created_at)
       SELECT 'u-' || n, 'user' || n || '@bench.example', 'user' || n || '@bench.example',
              false, now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO memberships (id, org_id, user_id, source, directory_state, admin_override,
              link_state, role_id, access_epoch, created_at, updated_at)
       SELECT 'm-' || n, :org, 'u-' || n, 'scim', 'active', 'none', 'linked',
              :member_role, 0, now(), now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO scim_users (id, directory_id, membership_id, user_name, attributes,
              version, created_at, updated_at)
       SELECT 's-' || n, :dir, 'm-' || n, 'user' || n || '@bench.example', '{}'::jsonb,
              1, now(), now() FROM generate_series(1, :n) AS n""",
    """INSERT INTO scim_groups (id, directory_id, display_name, attributes, version,
              created_at, updated_at)
       VALUES ('g-mapped', :dir, 'mapped', '{}'::jsonb, 1, now(), now()),
              ('g-plain', :dir, 'plain', '{}'::jsonb, 1, now(), now())""",
    """INSERT INTO group_members (group_id, member_id, member_type, added_at)
       SELECT g, 's-' || n, 'User', now()
       FROM generate_series(1, :n) AS n, (VALUES ('g-mapped'), ('g-plain')) AS t(g)""",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL (throw-away)")
    parser.add_argument("--reset", action="store_true", help="drop and recreate schema public")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200, help="add+remove pairs per group")
    args = parser.parse_args()
    if args.reset:
        engine = create_engine(args.database)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(args.database)
    app = create_app(
        {"DATABASE_URL": args.database, "TOKEN_PEPPER": PEPPER, "PLATFORM_KEY": PLATFORM_KEY}
    )
    org_id, token, key = _organisation(app)
    started = time.perf_counter()
    _seed(args.database, org_id, args.members)
    took = time.perf_counter() - started
    print(f"seeded {args.members:,} users and two groups of them in {took:.0f} s")
    client = app.test_client()
    _map(client, key, org_id)
    spare = _spare_user(client, token)
    timings = _measure(client, token, spare, args.rounds)
    for name, values in timings.items():
        values.sort()
        p50, p95 = statistics.median(values), values[int(len(values) * 0.95) - 1]
        print(f"{name:>7} group: p50 {p50:.2f} ms, p95 {p95:.2f} ms (n={len(values)})")
    ratio = statistics.median(timings["mapped"]) / statistics.median(timings["plain"])
    print(f"mapped / unmapped p50: {ratio:.2f}x")
    return 0


def _organisation(app: Any) -> tuple[str, str, str]:
    with session_scope(app.extensions["scim_sessionmaker"]) as db:
        actor = Actor.system()
        org = orgs.create_org(db, "Bench", actor=actor)
        scim = tokens.create_token(db, org, "scim", pepper=PEPPER, actor=actor)
        key = tokens.create_token(db, org, "management", pepper=PEPPER, actor=actor)
        return org.id, scim.secret, key.secret


def _seed(url: str, org_id: str, n: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        directory = conn.execute(
            text("SELECT id FROM directories WHERE org_id = :o"), {"o": org_id}
        ).scalar_one()
        member_role = conn.execute(
            text("SELECT id FROM roles WHERE org_id IS NULL AND name = 'member'")
        ).scalar_one()
        for statement in SEED:
            conn.execute(
                text(statement),
                {"n": n, "org": org_id, "dir": directory, "member_role": member_role},
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _map(client: Any, key: str, org_id: str) -> None:
    """A role and a site mapping on the mapped group, made before the seeded members' grants
    are recomputed: creating them recomputes all 100,000 (timed, for the record)."""
    headers = {"Authorization": f"Bearer {key}", "X-Acting-User": "key"}
    base = f"/api/v1/organizations/{org_id}"
    site = client.post(f"{base}/sites", json={"name": "HQ"}, headers=headers).get_json()
    for grant in ({"role": "viewer"}, {"site": {"site": site["id"], "role": "editor"}}):
        started = time.perf_counter()
        response = client.post(
            f"{base}/group-mappings", json={"group": {"id": "g-mapped"}, **grant}, headers=headers
        )
        assert response.status_code == 201, response.get_json()
        print(f"mapping {grant} over the whole group: {time.perf_counter() - started:.1f} s")


def _spare_user(client: Any, token: str) -> str:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "spare@bench.example",
    }
    response = client.post(
        "/scim/v2/Users", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def _measure(client: Any, token: str, spare: str, rounds: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": spare}]}],
    }
    remove = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{spare}"]'}],
    }
    timings: dict[str, list[float]] = {"mapped": [], "plain": []}
    for _ in range(rounds):
        for name in ("mapped", "plain"):
            for body in (add, remove):
                started = time.perf_counter()
                response = client.patch(f"/scim/v2/Groups/g-{name}", json=body, headers=headers)
                timings[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 204, response.get_json()
    return timings


if __name__ == "__main__":
    raise SystemExit(main())
