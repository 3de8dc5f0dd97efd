"""The ceiling of ``scripts/bench.py``: what Flask under our gunicorn answers with no SCIM at all.

    python scripts/bench_ceiling.py --port P --database sqlite:///tmp/rows.db --rows 20000

Three endpoints, served by ``scim_server.server.run_gunicorn`` itself, so the gunicorn
settings (worker class, workers, timeouts) are exactly the ones ``scim-server serve`` uses,
whatever they become, over an engine made by ``scim_server.db.make_engine`` (the same
SQLite pragmas: WAL, ``synchronous=NORMAL``, busy timeout, memory map):

* ``GET /hello``: a constant JSON body, the cost of the stack (gunicorn + Flask) alone;
* ``GET /row?name=userN@bench.example``: one SQLAlchemy ORM session, one indexed lookup of
  one row, its JSON: the least a durable store behind this stack can do per request;
* ``POST /row`` with ``{"name": …, "display": …}``: one ORM object added and committed,
  201 with its id: the least a durable *write* costs on this stack;
* ``POST /create`` with a SCIM User body: the rows a SCIM create keeps, on our own schema
  (``scim_server.storage.migrate``, same indexes and triggers) and nothing else: one
  indexed read for the userName and the email, then the person, the membership, the SCIM
  view, its filter-index row, an audit event and a provisioning-log entry, each one
  prebuilt Core INSERT in one transaction, and the document back. No authentication, no
  validation, no lifecycle, no ORM: the floor of a durable create with history here.

No SCIM server on this stack can beat these; docs/benchmark.md reports our figures as a
fraction of them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from flask import abort
from flask import jsonify
from flask import request
from sqlalchemy import String
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim_server.db import make_engine  # noqa: E402  (after the path: run as a script)
from scim_server.services.audit import Actor  # noqa: E402
from scim_server.services.organizations import orgs  # noqa: E402
from scim_server.storage import migrate  # noqa: E402
from scim_server.storage import models as scim_schema  # noqa: E402
from scim_server.storage.models import new_id  # noqa: E402


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display: Mapped[str] = mapped_column(String(200))


def make_app(database_url: str) -> Flask:
    """The endpoints over one engine (one pool per worker, made after the fork)."""
    app = Flask("bench_ceiling")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        tenant = conn.execute(_TENANT).one()

    @app.get("/hello")
    def hello() -> Any:
        return jsonify({"hello": "world"})

    @app.get("/row")
    def row() -> Any:
        with Session(engine) as db:
            found = db.scalars(select(Row).where(Row.name == request.args["name"])).first()
            if found is None:
                abort(404)
            return jsonify({"id": found.id, "name": found.name, "display": found.display})

    @app.post("/row")
    def add_row() -> Any:
        body = request.get_json()
        with Session(engine) as db:
            created = Row(name=body["name"], display=body["display"])
            db.add(created)
            db.commit()
            return jsonify({"id": created.id, "name": created.name}), 201

    @app.post("/create")
    def create() -> Any:
        body = request.get_json()
        email = body["emails"][0]["value"]
        with engine.begin() as conn:
            held = conn.execute(
                _HELD,
                {
                    "directory_id": tenant.directory_id,
                    "name": body["userName"].lower(),
                    "email": email.lower(),
                },
            ).first()
            if held is not None:
                abort(409)
            person, member, view = new_id(), new_id(), new_id()
            attributes = {k: body[k] for k in ("displayName", "name", "emails")}
            conn.execute(
                _INSERT["users"],
                {
                    "id": person,
                    "email": email,
                    "email_normalized": email.lower(),
                    "name": body["displayName"],
                },
            )
            conn.execute(
                _INSERT["memberships"],
                {
                    "id": member,
                    "org_id": tenant.org_id,
                    "user_id": person,
                    "source": "scim",
                    "role_id": tenant.role_id,
                },
            )
            conn.execute(
                _INSERT["scim_users"],
                {
                    "id": view,
                    "directory_id": tenant.directory_id,
                    "membership_id": member,
                    "user_name": body["userName"],
                    "external_id": body.get("externalId"),
                    "attributes": attributes,
                },
            )
            element = body["emails"][0]
            conn.execute(
                _INSERT["scim_user_values"],
                {
                    "scim_user_id": view,
                    "attribute": "emails",
                    "value": email,
                    "value_lower": email.lower(),
                    "type": element.get("type"),
                    "primary": element.get("primary"),
                    "element": element,
                },
            )
            conn.execute(
                _INSERT["events"],
                {
                    "org_id": tenant.org_id,
                    "type": "membership.created",
                    "actor_type": "scim",
                    "target_type": "scim_user",
                    "target_id": view,
                    "membership_id": member,
                    "user_id": person,
                    "after": {"directory_state": "active"},
                },
            )
            conn.execute(
                _INSERT["provisioning_log"],
                {
                    "org_id": tenant.org_id,
                    "request_id": new_id(),
                    "idp": "other",
                    "method": "POST",
                    "path": request.path,
                    "resource_type": "User",
                    "resource_id": view,
                    "user_name": body["userName"],
                    "external_id": body.get("externalId"),
                    "status": 201,
                    "duration_ms": 1,
                    "request_body": request.get_data(as_text=True),
                },
            )
        doc = {**body, "id": view, "meta": {"resourceType": "User", "location": f"/Users/{view}"}}
        return jsonify(doc), 201

    return app


_TABLES = scim_schema.Base.metadata.tables
_INSERT = {
    name: insert(_TABLES[name])
    for name in (
        "users",
        "memberships",
        "scim_users",
        "scim_user_values",
        "events",
        "provisioning_log",
    )
}
_TENANT = text(
    "SELECT o.id AS org_id, d.id AS directory_id, r.id AS role_id FROM organizations o "
    "JOIN directories d ON d.org_id = o.id JOIN roles r ON r.org_id IS NULL AND r.name = 'member' "
    "WHERE o.name = 'Ceiling'"
)
# The userName's live holder and the email's person, each one index seek.
_HELD = text(
    "SELECT id FROM scim_users WHERE directory_id = :directory_id AND lower(user_name) = :name "
    "AND deleted_at IS NULL UNION ALL SELECT id FROM users WHERE email_normalized = :email"
)


def seed(database_url: str, rows: int) -> None:
    """Create the table with ``rows`` rows named like the benchmark's users (idempotent)."""
    migrate.upgrade(database_url)  # our schema, for POST /create
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        if db.scalar(select(func.count()).select_from(scim_schema.Organization)) == 0:
            orgs.create_org(db, "Ceiling", actor=Actor.system())
            db.commit()
    with engine.begin() as conn:
        have = conn.scalar(select(func.count()).select_from(Row))
        if not have:
            conn.execute(
                insert(Row),
                [
                    {"id": n, "name": f"user{n}@bench.example", "display": f"User {n}"}
                    for n in range(rows)
                ],
            )
            if conn.dialect.name == "postgresql":  # ids were given: move the sequence past them
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence('rows', 'id'), :n)"), {"n": rows}
                )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--database", required=True, help="a SQLAlchemy URL: a SQLite file or a PostgreSQL database"
    )
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seed(args.database, args.rows)

    from scim_server import server

    # Same options as `scim-server serve`; only the application differs. Each worker builds
    # its own after the fork, as ours does: a pooled connection opened in the arbiter and
    # inherited by every worker would be one socket shared by all of them.
    server._Gunicorn.load = lambda self: make_app(args.database)  # type: ignore[method-assign]
    server.run_gunicorn("127.0.0.1", args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
