"""The event feed's filters narrow it, and a parameter it does not know is 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from scim_server.storage.models import Event
from scim_server.storage.models import utcnow
from tests.api.admin import listing


def feed(admin: Any, **params: str) -> Any:
    return listing.page(admin, "events", **params)


def events(admin: Any, **params: str) -> list[dict[str, Any]]:
    return listing.items(admin, "events", "events", **params)


def test_type_filter(scim, admin):
    user = scim.create_user()
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])
    everything = events(admin)
    assert len({e["type"] for e in everything}) > 2
    created = events(admin, type="user.created")
    assert [e["type"] for e in created] == ["user.created"]
    assert created[0]["target"]["id"] == user["id"]


def test_user_id_and_actor_type_filters(scim, admin):
    ann, bob = scim.create_user(), scim.create_user()
    ann_events = [e for e in events(admin) if e["target"]["id"] == ann["id"]]
    person = ann_events[0]["user_id"]
    assert person
    mine = events(admin, user_id=person)
    assert mine and all(e["user_id"] == person for e in mine)
    assert bob["id"] not in {e["target"]["id"] for e in mine}
    by_scim = events(admin, actor_type="scim")
    assert by_scim and all(e["actor"]["type"] == "scim" for e in by_scim)
    by_system = events(admin, actor_type="system")
    assert by_system and all(e["actor"]["type"] == "system" for e in by_system)
    assert not {e["id"] for e in by_scim} & {e["id"] for e in by_system}


def test_time_range(scim, admin, db):
    scim.create_user()
    db.execute(update(Event).values(at=utcnow() - timedelta(days=2)))
    db.commit()
    scim.create_user()
    yesterday = (utcnow() - timedelta(days=1)).isoformat() + "+00:00"
    recent, older = events(admin, since=yesterday), events(admin, until=yesterday)
    assert recent and older
    assert not {e["id"] for e in recent} & {e["id"] for e in older}
    assert len(recent) + len(older) == len(events(admin))


def test_filters_keep_the_cursor(scim, admin):
    for _ in range(3):
        scim.create_user()
    first = feed(admin, type="user.created", limit="2").get_json()
    rest = events(admin, type="user.created", after=first["next_cursor"])
    assert len(first["events"]) == 2 and len(rest) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"user": "x"},
        {"type": "user.exploded"},
        {"actor_type": "robot"},
        {"since": "last week"},
        {"type": "user.created", "Type": "x"},
    ],
)
def test_unknown_parameters_and_bad_values_are_400(admin, params):
    response = feed(admin, **params)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_error"
