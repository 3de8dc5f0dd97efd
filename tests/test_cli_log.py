"""``scim-server log prune``: entries older than the retention go, newer ones stay."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from scim_server import create_app
from scim_server.cli import main
from scim_server.services.organizations import provisioning_log
from scim_server.storage.models import ProvisioningLogEntry
from scim_server.storage.models import utcnow
from tests.test_cli import cli_db  # noqa: F401  (the fixture)


def _count(app) -> int:
    with app.extensions["scim_sessionmaker"]() as db:
        return int(db.scalar(select(func.count()).select_from(ProvisioningLogEntry)) or 0)


def test_prune_deletes_by_age_in_batches(cli_db, capsys, monkeypatch):  # noqa: F811
    assert main(["org", "create", "Acme", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    app = create_app({"DATABASE_URL": cli_db})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {info['scim_token']}"}
    for n in range(5):  # five failed requests: 404s
        assert client.delete(f"/scim/v2/Users/missing-{n}", headers=headers).status_code == 404
    assert _count(app) == 5
    with app.extensions["scim_sessionmaker"]() as db:
        oldest = select(ProvisioningLogEntry.id).order_by(ProvisioningLogEntry.id).limit(3)
        db.execute(
            update(ProvisioningLogEntry)
            .where(ProvisioningLogEntry.id.in_(oldest.scalar_subquery()))
            .values(at=utcnow() - timedelta(days=31))
        )
        db.commit()
    monkeypatch.setattr(provisioning_log, "PRUNE_BATCH", 2)  # three old rows: two batches
    assert main(["log", "prune"]) == 0
    assert "pruned 3 provisioning log entries older than 30 day(s)" in capsys.readouterr().err
    assert _count(app) == 2
    assert main(["log", "prune", "--days", "1"]) == 0
    assert _count(app) == 2


def test_prune_refuses_a_bad_day_count(cli_db, capsys):  # noqa: F811
    import pytest

    with pytest.raises(SystemExit):
        main(["log", "prune", "--days", "0"])
    assert "positive whole number" in capsys.readouterr().err
