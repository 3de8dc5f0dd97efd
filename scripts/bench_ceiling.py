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
  201 with its id: the least a durable *write* costs on this stack (a SCIM create writes
  the person, the membership, the SCIM view, its filter values, an audit event and a
  provisioning-log entry in its one transaction).

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
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scim_server.db import make_engine  # noqa: E402  (after the path: run as a script)


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display: Mapped[str] = mapped_column(String(200))


def make_app(database_url: str) -> Flask:
    """The two endpoints over one engine (one pool per worker, made after the fork)."""
    app = Flask("bench_ceiling")
    engine = make_engine(database_url)

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

    return app


def seed(database_url: str, rows: int) -> None:
    """Create the table with ``rows`` rows named like the benchmark's users (idempotent)."""
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
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
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True, help="a SQLAlchemy URL (a SQLite file)")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seed(args.database, args.rows)

    from scim_server import server

    app = make_app(args.database)
    # Same options as `scim-server serve`; only the application differs.
    server._Gunicorn.load = lambda self: app  # type: ignore[method-assign]
    server.run_gunicorn("127.0.0.1", args.port, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
