"""``directory_active``: the IdP decides who exists once it has provisioned someone.

It is sought from the memberships the directory manages, so each step of a SCIM user's
life is checked against the live views it must agree with.
"""

from __future__ import annotations

from scim_server.storage import queries


def test_follows_the_directorys_live_users_through_their_lifecycle(db, scim, org):
    assert not queries.directory_active(db, org.id)  # connected, nobody provisioned
    user = scim.create_user("ann@example.com")
    assert queries.directory_active(db, org.id)
    scim.patch(f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": False}])
    assert queries.directory_active(db, org.id)  # deactivated, still the IdP's
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert not queries.directory_active(db, org.id)  # deprovisioned: no live view left
    again = scim.create_user("ann@example.com")
    assert again["id"] != user["id"]
    assert queries.directory_active(db, org.id)  # re-added
    assert scim.delete(f"/Users/{again['id']}").status_code == 204
    scim.create_user("bob@example.com")
    assert queries.directory_active(db, org.id)  # beside a removed one
