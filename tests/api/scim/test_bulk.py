"""POST /scim/v2/Bulk (RFC 7644 §3.7), through the HTTP API as an IdP sends it."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from scim_server.storage.models import Event
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimUser
from scim_server.storage.models import utcnow
from tests.scim_client import ENTERPRISE
from tests.scim_client import GROUP
from tests.scim_client import PATCH_OP
from tests.scim_client import PRODUCT
from tests.scim_client import USER
from tests.scim_client import assert_scim_error

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(scim, operations, headers=None, **extra):
    body = {"schemas": [BULK_REQUEST], "Operations": operations, **extra}
    return scim.post("/Bulk", body, headers=headers)


def ok(response):
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def new_user(bulk_id, user_name=None, **extra):
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": user_name or f"{bulk_id}@example.com", **extra},
    }


def bad_user(bulk_id):
    """A POST the single-request path refuses: no userName (400 invalidValue)."""
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"schemas": [USER]}}


def new_group(bulk_id, members=(), name=None):
    return {
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {
            "schemas": [GROUP],
            "displayName": name or f"group-{bulk_id}",
            "members": [{"value": m} for m in members],
        },
    }


def patch(path, ops, **extra):
    return {
        "method": "PATCH",
        "path": path,
        "data": {"schemas": [PATCH_OP], "Operations": ops},
        **extra,
    }


def member_ids(scim, group_location):
    group_id = group_location.rsplit("/", 1)[1]
    return sorted(m["value"] for m in scim.get(f"/Groups/{group_id}").get_json()["members"])


def id_of(result):
    return result["location"].rsplit("/", 1)[1]


# ---------------------------------------------------------------------------
# The happy paths and bulkId references
# ---------------------------------------------------------------------------


def test_creates_users_and_a_group_referring_to_them(scim):
    results = ok(
        bulk(scim, [new_user("u1"), new_user("u2"), new_group("g1", ["bulkId:u1", "bulkId:u2"])])
    )
    assert [r["status"] for r in results] == ["201", "201", "201"]
    assert [r["bulkId"] for r in results] == ["u1", "u2", "g1"]
    for result in results:
        assert result["method"] == "POST"
        assert result["version"].startswith('W/"')
        assert scim.get(result["location"].split("/scim/v2", 1)[1]).status_code == 200
    assert member_ids(scim, results[2]["location"]) == sorted(map(id_of, results[:2]))


def test_forward_reference_runs_the_referenced_operation_first(scim):
    """RFC 7644 §3.7.2: a group may name users created later in the same request."""
    results = ok(bulk(scim, [new_group("g1", ["bulkId:late"]), new_user("late")]))
    assert [(r["bulkId"], r["status"]) for r in results] == [("late", "201"), ("g1", "201")]
    assert member_ids(scim, results[1]["location"]) == [id_of(results[0])]


def test_bulk_id_in_the_path_and_in_an_extension_value(scim):
    results = ok(
        bulk(
            scim,
            [
                new_user("boss"),
                new_user("report", **{ENTERPRISE: {"manager": {"value": "bulkId:boss"}}}),
                new_group("g"),
                patch(
                    "/Groups/bulkId:g",
                    [{"op": "add", "path": "members", "value": [{"value": "bulkId:report"}]}],
                ),
            ],
        )
    )
    assert [r["status"] for r in results] == ["201", "201", "201", "204"]
    report = scim.get(f"/Users/{id_of(results[1])}").get_json()
    assert report[ENTERPRISE]["manager"]["value"] == id_of(results[0])
    assert results[3]["location"] == results[2]["location"]
    assert member_ids(scim, results[2]["location"]) == [id_of(results[1])]


def test_users_created_then_changed_in_the_same_request_keep_every_change(scim, db):
    """A create writes its rows without attaching them to the request's session; the
    operations after it in the same Bulk request read and change those rows afresh."""
    results = ok(
        bulk(
            scim,
            [
                new_user("new", displayName="Before"),
                patch(
                    "/Users/bulkId:new",
                    [
                        {"op": "replace", "path": "displayName", "value": "After"},
                        {"op": "replace", "path": "active", "value": False},
                    ],
                ),
                new_group("team", ["bulkId:new"]),
            ],
        )
    )
    assert [r["status"] for r in results] == ["201", "200", "201"]
    scim_id = id_of(results[0])
    user = scim.get(f"/Users/{scim_id}").get_json()
    assert user["displayName"] == "After" and user["active"] is False
    assert [g["value"] for g in user["groups"]] == [id_of(results[2])]
    stored = db.scalars(
        select(Membership)
        .join(ScimUser, ScimUser.membership_id == Membership.id)
        .where(ScimUser.id == scim_id)
    ).one()
    assert stored.directory_state == "inactive"


def test_put_patch_delete_on_existing_resources(scim):
    user = scim.create_user()
    other = scim.create_user()
    group = scim.create_group(members=[user["id"]])
    results = ok(
        bulk(
            scim,
            [
                {
                    "method": "PUT",
                    "path": f"/Users/{user['id']}",
                    "data": {"schemas": [USER], "userName": user["userName"], "title": "CTO"},
                },
                patch(f"/Users/{other['id']}", [{"op": "replace", "path": "title", "value": "x"}]),
                {"method": "DELETE", "path": f"/Groups/{group['id']}"},
            ],
        )
    )
    assert [r["status"] for r in results] == ["200", "200", "204"]
    assert "bulkId" not in results[0]
    assert scim.get(f"/Users/{user['id']}").get_json()["title"] == "CTO"
    assert scim.get(f"/Users/{other['id']}").get_json()["title"] == "x"
    assert scim.get(f"/Groups/{group['id']}").status_code == 404


def test_version_is_if_match(scim):
    user = scim.create_user()
    stale = {"version": 'W/"999"'}
    current = {"version": user["meta"]["version"]}
    results = ok(
        bulk(
            scim,
            [
                patch(
                    f"/Users/{user['id']}", [{"op": "add", "path": "title", "value": "a"}], **stale
                ),
                patch(
                    f"/Users/{user['id']}",
                    [{"op": "add", "path": "title", "value": "b"}],
                    **current,
                ),
            ],
        )
    )
    assert [r["status"] for r in results] == ["412", "200"]
    assert results[0]["location"].endswith(user["id"])
    assert scim.get(f"/Users/{user['id']}").get_json()["title"] == "b"


# ---------------------------------------------------------------------------
# Failures: per operation, each in its own savepoint
# ---------------------------------------------------------------------------


def test_a_failed_operation_changes_nothing_and_the_others_stand(scim, db):
    taken = scim.create_user("taken@example.com")
    results = ok(
        bulk(
            scim,
            [
                new_user("a"),
                new_user("dup", "TAKEN@example.com"),
                patch(
                    f"/Users/{taken['id']}",
                    [
                        {"op": "replace", "path": "title", "value": "changed"},
                        {"op": "replace", "path": "nickName", "value": 7},
                    ],
                ),
                new_user("b"),
            ],
        )
    )
    assert [r["status"] for r in results] == ["201", "409", "400", "201"]
    assert results[1]["response"]["scimType"] == "uniqueness"
    assert results[2]["response"]["scimType"] == "invalidValue"
    assert results[2]["response"]["status"] == "400"
    assert "location" not in results[1]
    assert "title" not in scim.get(f"/Users/{taken['id']}").get_json()
    db.expire_all()
    names = db.scalars(select(ScimUser.user_name).order_by(ScimUser.user_name)).all()
    assert names == ["a@example.com", "b@example.com", "taken@example.com"]


def test_fail_on_errors_stops_processing(scim):
    operations = [
        bad_user("x"),
        new_user("ok1"),
        {"method": "GET", "path": "/Users"},
        new_user("ok2"),
    ]
    results = ok(bulk(scim, operations, failOnErrors=2))
    assert [r["status"] for r in results] == ["400", "201", "400"]
    assert scim.filter_users('userName eq "ok2@example.com"')["totalResults"] == 0
    everything = ok(bulk(scim, [bad_user("y"), new_user("ok3")]))
    assert [r["status"] for r in everything] == ["400", "201"]


def test_reference_to_a_failed_operation_is_409(scim):
    results = ok(bulk(scim, [bad_user("bad"), new_group("g", ["bulkId:bad"])]))
    assert [r["status"] for r in results] == ["400", "409"]
    assert "failed" in results[1]["response"]["detail"]


def test_reference_to_an_unknown_bulk_id_is_400(scim):
    results = ok(bulk(scim, [new_group("g", ["bulkId:nobody"])]))
    assert results[0]["status"] == "400"
    assert results[0]["response"]["scimType"] == "invalidValue"
    assert "nobody" in results[0]["response"]["detail"]


def test_circular_references_are_409_and_the_rest_runs(scim):
    results = ok(
        bulk(
            scim,
            [
                new_group("a", ["bulkId:b"]),
                new_group("b", ["bulkId:a"]),
                new_group("c", ["bulkId:a"]),
                new_group("self", ["bulkId:self"]),
                new_user("fine"),
            ],
        )
    )
    by_id = {r["bulkId"]: r for r in results}
    assert by_id["fine"]["status"] == "201"
    for name in ("a", "b", "c", "self"):
        assert by_id[name]["status"] == "409", by_id[name]
        assert "circular" in by_id[name]["response"]["detail"]
    assert results[0]["bulkId"] == "fine"


@pytest.mark.parametrize(
    ("operation", "scim_type", "words"),
    [
        ({"method": "GET", "path": "/Users"}, "invalidSyntax", "method"),
        (
            {"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "n"}},
            "invalidSyntax",
            "bulkId",
        ),
        (
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
            "invalidSyntax",
            "Path",
        ),
        ({"method": "PUT", "path": "/Users", "data": {}}, "invalidSyntax", "resource path"),
        ({"method": "PATCH", "path": "/Users/abc"}, "invalidSyntax", "data"),
        ({"method": "DELETE", "path": "/Users/abc", "version": 3}, "invalidSyntax", "version"),
        ("not an object", "invalidSyntax", "object"),
    ],
)
def test_malformed_operation_fails_alone(scim, operation, scim_type, words):
    results = ok(bulk(scim, [operation, new_user("fine")]))
    assert [r["status"] for r in results] == ["400", "201"]
    assert results[0]["response"]["scimType"] == scim_type
    assert words in results[0]["response"]["detail"]


def test_missing_resource_is_404(scim):
    results = ok(bulk(scim, [{"method": "DELETE", "path": "/Users/nope"}]))
    assert results[0]["status"] == "404"
    assert results[0]["location"].endswith("/Users/nope")


# ---------------------------------------------------------------------------
# The envelope and the limits (RFC 7644 §3.7.4)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"method": "DELETE", "path": "/Users/x"}]}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": []}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": {}}, "invalidSyntax"),
        (
            {
                "schemas": [BULK_REQUEST],
                "failOnErrors": 0,
                "Operations": [{"method": "DELETE", "path": "/Users/x"}],
            },
            "invalidValue",
        ),
        (
            {
                "schemas": [BULK_REQUEST],
                "failOnErrors": "1",
                "Operations": [{"method": "DELETE", "path": "/Users/x"}],
            },
            "invalidValue",
        ),
    ],
)
def test_malformed_envelope_is_400(scim, body, scim_type):
    assert_scim_error(scim.post("/Bulk", body), 400, scim_type)


def test_duplicate_bulk_id_fails_the_request_and_runs_nothing(scim):
    response = bulk(
        scim, [new_user("same", "one@example.com"), new_user("same", "two@example.com")]
    )
    body = assert_scim_error(response, 400, "invalidValue")
    assert "same" in body["detail"]
    assert scim.filter_users('userName eq "one@example.com"')["totalResults"] == 0


def test_needs_a_token(client):
    response = client.post("/scim/v2/Bulk", json={"schemas": [BULK_REQUEST], "Operations": []})
    assert response.status_code == 401


# ---------------------------------------------------------------------------
# Lifecycle rules hold exactly as for single requests
# ---------------------------------------------------------------------------


def test_delete_disables_not_deletes_and_events_carry_the_request_id(scim, db):
    user = scim.create_user()
    results = ok(
        bulk(
            scim,
            [{"method": "DELETE", "path": f"/Users/{user['id']}"}, new_user("n")],
            headers={"X-Request-Id": "bulk-req-1"},
        )
    )
    assert [r["status"] for r in results] == ["204", "201"]
    db.expire_all()
    row = db.get(ScimUser, user["id"])
    assert row.deleted_at is not None
    membership = db.get(Membership, row.membership_id)
    assert (membership.directory_state, membership.end_reason) == ("removed", "directory_removed")
    events = db.scalars(select(Event).where(Event.request_id == "bulk-req-1")).all()
    assert sorted(e.type for e in events) == ["user.created", "user.deleted"]


def test_sticky_admin_disable_holds(scim, db):
    user = scim.create_user(active=False)
    m = db.get(Membership, db.get(ScimUser, user["id"]).membership_id)
    m.admin_override, m.override_by, m.override_at = "disabled", "admin@example.com", utcnow()
    db.commit()
    results = ok(
        bulk(
            scim,
            [patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": True}])],
        )
    )
    assert results[0]["status"] == "200"
    body = scim.get(f"/Users/{user['id']}").get_json()
    assert body[PRODUCT]["adminDisabled"] is True
    assert body[PRODUCT]["effectiveAccess"] is False
    db.expire_all()
    assert db.get(Membership, m.id).admin_override == "disabled"
    last = db.scalars(
        select(Event.type).where(Event.membership_id == m.id).order_by(Event.id.desc())
    ).first()
    assert last == "membership.override_held"


def test_removing_active_is_refused_as_in_a_single_patch(scim):
    user = scim.create_user()
    results = ok(bulk(scim, [patch(f"/Users/{user['id']}", [{"op": "remove", "path": "active"}])]))
    assert results[0]["status"] == "400"
    assert scim.get(f"/Users/{user['id']}").get_json()["active"] is True


def test_failed_operation_records_no_event(scim, db):
    results = ok(bulk(scim, [bad_user("x")], headers={"X-Request-Id": "bulk-req-2"}))
    assert results[0]["status"] == "400"
    count = db.scalar(
        select(func.count()).select_from(Event).where(Event.request_id == "bulk-req-2")
    )
    assert count == 0


def test_an_operation_failing_after_it_wrote_is_rolled_back(scim, db):
    """create_group writes the group and its event, then refuses the unknown member: its
    transaction must take both back while the operations around it stand."""
    results = ok(
        bulk(
            scim,
            [
                new_user("before"),
                new_group("half", ["no-such-member"], name="half-written"),
                new_user("after"),
            ],
            headers={"X-Request-Id": "bulk-req-3"},
        )
    )
    assert [r["status"] for r in results] == ["201", "400", "201"]
    found = scim.get("/Groups", query_string={"filter": 'displayName eq "half-written"'})
    assert found.get_json()["totalResults"] == 0
    db.expire_all()
    types = db.scalars(select(Event.type).where(Event.request_id == "bulk-req-3")).all()
    assert sorted(types) == ["user.created", "user.created"]


def test_each_operation_is_its_own_transaction(scim, monkeypatch):
    """An unexpected failure in the second operation (a 500) leaves the first one stored:
    it was committed when it succeeded, not at the end of the request."""
    from scim_server.api.scim import bulk as bulk_module

    def broken(*_args):
        raise RuntimeError("planted")

    monkeypatch.setitem(bulk_module._HANDLERS, ("Groups", "POST"), broken)
    response = bulk(scim, [new_user("kept"), new_group("boom")])
    assert response.status_code == 500
    assert scim.filter_users('userName eq "kept@example.com"')["totalResults"] == 1
