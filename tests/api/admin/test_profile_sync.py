"""Profile sync (docs/lifecycle.md §9): SCIM changes to name, displayName, userName and the
primary email reach what the product shows for that member, per organisation, in the same
request; the global person follows only the directory that created it; member search finds
the current email.

Okta updates a profile with PUT (the whole user), Entra with a PATCH of several paths
(the recorded sample ``tests/samples/entra-patch-replace-attributes.json``).
"""

from __future__ import annotations

from sqlalchemy import select

from scim_server.storage.models import Event
from scim_server.storage.models import User
from tests.api.admin.test_jit import Sso
from tests.api.admin.test_jit import create_connection
from tests.api.admin.test_jit import verify_domain
from tests.conftest import PLATFORM_KEY
from tests.idp_samples import sample_operations
from tests.scim_client import USER
from tests.scim_client import Admin
from tests.scim_client import Scim


def member(admin: Admin, user_id: str) -> dict:
    return admin.member(user_id)


def search(admin: Admin, email: str) -> list[str]:
    response = admin.call("GET", f"/organizations/{admin.org_id}/members?email={email}")
    assert response.status_code == 200, response.get_json()
    return [m["user_id"] for m in response.get_json()["members"]]


def person(db, user_id: str) -> User:
    db.expire_all()
    return db.get_one(User, user_id)


def user_id_of(created: dict) -> str:
    return created["urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"]["userId"]


def okta_put(scim: Scim, created: dict, **changes) -> dict:
    """Okta's profile update: the whole user again, changed."""
    body = {
        "schemas": [USER],
        "userName": created["userName"],
        "name": created["name"],
        "emails": created["emails"],
        "active": True,
        **changes,
    }
    response = scim.put(f"/Users/{created['id']}", body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- one organisation ---------------------------------------------------------------------------


def test_an_entra_patch_of_name_display_name_and_email_reaches_the_member(scim, admin, db):
    created = scim.create_user("ann@testuser.com", displayName="Ann Old")
    uid = user_id_of(created)
    response = scim.patch(
        f"/Users/{created['id']}", sample_operations("entra-patch-replace-attributes")
    )
    assert response.status_code == 200, response.get_json()

    shown = member(admin, uid)
    assert (shown["name"], shown["email"]) == ("Bjfe", "new@testuser.com")
    assert search(admin, "new@testuser.com") == [uid]
    assert search(admin, "NEW@TestUser.com") == [uid]
    assert search(admin, "ann@testuser.com") == []
    # This directory created the person, so the global person follows it.
    p = person(db, uid)
    assert (p.name, p.email, p.email_normalized) == ("Bjfe", "new@testuser.com", "new@testuser.com")
    [event] = db.scalars(
        select(Event).where(Event.type == "user.updated", Event.user_id == uid)
    ).all()
    assert event.before["name"] == "Ann Old" and event.after["name"] == "Bjfe"
    assert event.before["email"] == "ann@testuser.com"
    assert event.after["email"] == "new@testuser.com" and event.after["person_updated"] is True


def test_an_okta_put_of_user_name_name_and_email_reaches_the_member(scim, admin, db):
    created = scim.create_user("bo@okta.example")
    uid = user_id_of(created)
    okta_put(
        scim,
        created,
        userName="bo.new@okta.example",
        name={"givenName": "Bo", "familyName": "Renamed"},
        emails=[{"value": "bo.new@okta.example", "type": "work", "primary": True}],
    )
    shown = member(admin, uid)
    assert (shown["name"], shown["email"]) == ("Bo Renamed", "bo.new@okta.example")
    assert search(admin, "bo.new@okta.example") == [uid]
    assert search(admin, "bo@okta.example") == []
    assert person(db, uid).name == "Bo Renamed"


def test_a_patch_of_given_name_alone_changes_the_shown_name(scim, admin, db):
    created = scim.create_user("cy@example.com")  # Given Family
    uid = user_id_of(created)
    ops = [{"op": "replace", "path": "name.givenName", "value": "Cyd"}]
    assert scim.patch(f"/Users/{created['id']}", ops).status_code == 200
    assert member(admin, uid)["name"] == "Cyd Family"
    assert person(db, uid).name == "Cyd Family"


def test_a_non_primary_email_does_not_replace_the_shown_email(scim, admin):
    created = scim.create_user("dee@example.com")
    uid = user_id_of(created)
    ops = [
        {"op": "add", "path": "emails", "value": [{"value": "dee@home.example", "type": "home"}]}
    ]
    assert scim.patch(f"/Users/{created['id']}", ops).status_code == 200
    assert member(admin, uid)["email"] == "dee@example.com"
    # Search finds any email the directory lists for the member.
    assert search(admin, "dee@home.example") == [uid]


def test_a_new_primary_email_another_account_holds_stays_the_other_accounts(scim, admin, db):
    """Accounts are never merged by a directory: the organisation sees the new address, the
    person keeps the old global one, and the request succeeds (no 409 an IdP cannot fix)."""
    holder = scim.create_user("taken@example.com")
    created = scim.create_user("eve@example.com")
    uid = user_id_of(created)
    ops = [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "taken@example.com"}]
    assert scim.patch(f"/Users/{created['id']}", ops).status_code == 200
    assert member(admin, uid)["email"] == "taken@example.com"
    assert person(db, uid).email == "eve@example.com"
    assert person(db, user_id_of(holder)).email == "taken@example.com"
    assert sorted(search(admin, "taken@example.com")) == sorted([uid, user_id_of(holder)])


# --- email_verified follows the primary email ---------------------------------------------


def test_a_changed_primary_email_re_evaluates_email_verified(scim, admin, platform, org, db):
    verify_domain(platform, org.id, "acme.com")
    created = scim.create_user("fay@outside.example")
    uid = user_id_of(created)
    assert person(db, uid).email_verified is False
    path = f"/Users/{created['id']}"
    to = lambda email: [  # noqa: E731
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": email}
    ]
    assert scim.patch(path, to("fay@acme.com")).status_code == 200
    assert person(db, uid).email_verified is True
    # Verified now: the SSO login links automatically instead of account_link_required.
    sso = Sso(platform, create_connection(admin, org.id))
    assert sso.ok("fay-sub", "fay@acme.com")["user_id"] == uid
    assert scim.patch(path, to("fay@elsewhere.example")).status_code == 200
    assert person(db, uid).email_verified is False


# --- several organisations -----------------------------------------------------------------------


def test_each_organisation_sees_what_its_own_directory_supplies(
    client, scim, admin, org, other_org, db
):
    """The person was created by Acme's directory; Globex's directory adds the same person
    (a pending claim: Globex has not verified the domain). Globex's changes stay Globex's;
    Acme's reach the global person but never Globex's view."""
    created = scim.create_user("gil@shared.example", displayName="Gil Acme")
    uid = user_id_of(created)
    globex_scim = Scim(client, other_org.token)
    globex = Admin(client, other_org.management_key, other_org.id)
    theirs = globex_scim.create_user("gil@shared.example", displayName="Gil at Globex")
    assert user_id_of(theirs) == uid
    ops = [
        {"op": "replace", "path": "displayName", "value": "G. Globex"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "gil@globex.example"},
    ]
    assert globex_scim.patch(f"/Users/{theirs['id']}", ops).status_code == 200

    assert (member(globex, uid)["name"], member(globex, uid)["email"]) == (
        "G. Globex",
        "gil@globex.example",
    )
    assert (member(admin, uid)["name"], member(admin, uid)["email"]) == (
        "Gil Acme",
        "gil@shared.example",
    )
    assert search(globex, "gil@globex.example") == [uid]
    assert search(admin, "gil@globex.example") == []
    p = person(db, uid)
    assert (p.name, p.email) == ("Gil Acme", "gil@shared.example")

    rename = [{"op": "replace", "path": "displayName", "value": "Gil Renamed"}]
    assert scim.patch(f"/Users/{created['id']}", rename).status_code == 200
    assert person(db, uid).name == "Gil Renamed"
    assert member(globex, uid)["name"] == "G. Globex"


def test_sessions_show_the_profile_of_their_organisation(client, scim, org, other_org):
    created = scim.create_user("hal@shared.example", displayName="Hal Acme")
    uid = user_id_of(created)
    platform = Admin(client, PLATFORM_KEY, other_org.id)
    verify_domain(platform, other_org.id, "shared.example")  # Globex links at once (row P2)
    Scim(client, other_org.token).create_user("hal@shared.example", displayName="Hal Globex")
    shown = {}
    for org_id in (org.id, other_org.id):
        response = platform.call(
            "POST", "/sessions", {"user_id": uid, "organization_id": org_id, "method": "password"}
        )
        assert response.status_code == 201, response.get_json()
        shown[org_id] = response.get_json()["profile"]
    assert shown == {
        org.id: {"name": "Hal Acme", "email": "hal@shared.example"},
        other_org.id: {"name": "Hal Globex", "email": "hal@shared.example"},
    }


def test_losing_a_race_for_the_new_address_keeps_the_request_and_the_old_email(
    scim, admin, db, monkeypatch
):
    """The holder check passes, then another request takes the address before the write:
    the unique index refuses the move, and the PATCH still answers 200 with the
    organisation's view changed and the person's email as it was."""
    from scim_server.storage import queries

    holder = scim.create_user("raced@example.com")
    created = scim.create_user("ivy@example.com")
    uid = user_id_of(created)
    monkeypatch.setattr(queries, "email_holder_and_domain_owner", lambda *_: (None, None))
    ops = [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "raced@example.com"}]
    response = scim.patch(f"/Users/{created['id']}", ops)
    assert response.status_code == 200, response.get_json()
    assert member(admin, uid)["email"] == "raced@example.com"
    assert person(db, uid).email == "ivy@example.com"
    assert person(db, user_id_of(holder)).email == "raced@example.com"


def test_a_person_jit_created_through_the_organisations_connection_follows_its_directory(
    scim, admin, platform, org, db
):
    verify_domain(platform, org.id, "acme.com")
    sso = Sso(platform, create_connection(admin, org.id, jit_mode="create"))
    uid = sso.ok("okta-jo", "jo@acme.com", name="Jo From SSO")["user_id"]
    [listed] = scim.filter_users('userName eq "jo@acme.com"')["Resources"]
    ops = [{"op": "replace", "path": "displayName", "value": "Jo From Okta"}]
    assert scim.patch(f"/Users/{listed['id']}", ops).status_code == 200
    assert member(admin, uid)["name"] == "Jo From Okta"
    assert person(db, uid).name == "Jo From Okta"
