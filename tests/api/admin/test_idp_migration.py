"""Moving an organisation to another IdP (issue 15) through the management and SCIM APIs:
stage a candidate directory, match, report, cut over, roll back."""

from __future__ import annotations

import csv
import io

import pytest

from scim_server import auth
from tests.api.admin.test_jit import verify_domain
from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim
from tests.scim_client import assert_api_error
from tests.scim_client import assert_scim_error

REWRITE = {"domain_rewrites": [{"from": "delta.onmicrosoft.com", "to": "delta.co"}]}


@pytest.fixture(autouse=True)
def fresh_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens move and are revoked here: every SCIM read authenticates afresh."""
    monkeypatch.setattr(auth, "READ_CREDENTIALS_SECONDS", 0.0)


def base(org_id: str, suffix: str = "") -> str:
    return f"/organizations/{org_id}/idp-migration{suffix}"


def okta_user(scim: Scim, local: str, **extra) -> dict:
    return scim.create_user(f"{local}@delta.co", externalId=f"okta-{local}", **extra)


def entra_user(scim: Scim, local: str, email: str | None = None, **extra) -> dict:
    email = email or f"{local}@delta.co"
    return scim.create_user(
        f"{local}@delta.onmicrosoft.com",
        externalId=f"entra-{local}",
        emails=[{"value": email, "type": "work", "primary": True}],
        **extra,
    )


def stage(who: Admin, org_id: str, rules: dict | None = None) -> tuple[dict, Scim]:
    response = who.call("POST", base(org_id), {"rules": rules or REWRITE})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body, Scim(who.client, body["scim_token"]["token"])


def report(who: Admin, org_id: str, category: str = "ambiguous") -> dict:
    response = who.call("GET", base(org_id, f"/report?category={category}"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ---- directory/disconnect keeps groups ---------------------------------------------------


def disconnect(admin: Admin, org_id: str, body: dict):
    return admin.call("POST", f"/organizations/{org_id}/directory/disconnect", body)


def test_disconnect_keeps_groups_unless_asked_and_says_which(client, scim, admin, org):
    member = scim.create_user()
    group = scim.create_group("Engineering", [member["id"]])
    kept = disconnect(admin, org.id, {"confirm": True})
    assert kept.status_code == 200
    assert kept.get_json()["groups"] == "kept" and kept.get_json()["groups_kept"] == 1
    fresh = Scim(client, issue_token(admin, org.id))
    found = fresh.get("/Groups", query_string={"filter": 'displayName eq "Engineering"'})
    assert [g["id"] for g in found.get_json()["Resources"]] == [group["id"]]
    removed = disconnect(admin, org.id, {"confirm": True, "remove_groups": True})
    assert removed.get_json()["groups"] == "removed"
    assert removed.get_json()["groups_removed"] == 1
    again = Scim(client, issue_token(admin, org.id))
    assert again.get("/Groups").get_json()["totalResults"] == 0


def test_disconnect_refuses_a_non_boolean_remove_groups(scim, admin, org):
    scim.create_group("Kept")
    assert_api_error(
        disconnect(admin, org.id, {"confirm": True, "remove_groups": "yes"}),
        400,
        "validation_error",
    )
    assert scim.get("/Groups").status_code == 200  # nothing changed: the token still works


def issue_token(admin: Admin, org_id: str) -> str:
    response = admin.call("POST", f"/organizations/{org_id}/scim-tokens")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


# ---- staging -----------------------------------------------------------------------------


def test_a_staged_candidate_records_pushes_without_changing_access(client, scim, admin, org):
    carl = okta_user(scim, "carl")
    _, candidate = stage(admin, org.id)
    pushed = entra_user(candidate, "carl")
    newcomer = entra_user(candidate, "nina")
    # the candidate's reads answer from its own view, so the new IdP's lookups work
    found = candidate.filter_users('userName eq "carl@delta.onmicrosoft.com"')
    assert [u["id"] for u in found["Resources"]] == [pushed["id"]]
    assert candidate.get(f"/Users/{carl['id']}").status_code == 404
    # the active directory and the organisation's members are untouched
    assert scim.get("/Users").get_json()["totalResults"] == 1
    members = admin.call("GET", f"/organizations/{org.id}/members").get_json()
    listed = {m["user_id"] for m in members["members"]}
    assert listed == {carl[PRODUCT]["userId"]}
    assert newcomer[PRODUCT]["userId"] not in listed
    # pushing a deactivation through the candidate changes nothing here either
    assert (
        candidate.patch(
            f"/Users/{pushed['id']}", [{"op": "replace", "path": "active", "value": False}]
        ).status_code
        == 200
    )
    assert admin.member(carl[PRODUCT]["userId"])["effective_access"] is True


def test_a_second_candidate_is_refused(admin, org):
    stage(admin, org.id)
    assert_api_error(
        admin.call("POST", base(org.id), {"rules": REWRITE}), 409, "migration_already_staged"
    )


def test_bad_rules_are_refused_and_stage_nothing(admin, org):
    for rules in (
        {"domain_rewrites": [{"from": "not a domain", "to": "delta.co"}]},
        {"domain_rewrites": "delta"},
        {"rewrite": []},
    ):
        assert_api_error(
            admin.call("POST", base(org.id), {"rules": rules}), 400, "migration_rule_invalid"
        )
    assert_api_error(admin.call("GET", base(org.id)), 404, "migration_not_found")


def test_the_candidate_organisation_is_hidden_from_the_management_api(client, platform, org):
    body, candidate = stage(platform, org.id)
    entra_user(candidate, "carl")
    orgs = platform.call("GET", "/organizations").get_json()["organizations"]
    assert [o["id"] for o in orgs] == [org.id]


# ---- matching and the report -------------------------------------------------------------


def moving_org(scim: Scim, admin: Admin, platform: Admin, org_id: str):
    """Okta: carl, dana, erin (only in the old IdP), dup; Entra: carl, dana (same emails,
    UPN userNames), nina (new), and two accounts both claiming dup."""
    verify_domain(platform, org_id, "delta.co")
    old = {name: okta_user(scim, name) for name in ("carl", "dana", "erin", "dup")}
    _, candidate = stage(admin, org_id)
    new = {name: entra_user(candidate, name) for name in ("carl", "dana", "nina")}
    new["dup"] = entra_user(candidate, "dup")  # matches dup by email
    # userName rewrites to dup@delta.co too, but its email is another person's
    new["dup2"] = candidate.create_user(
        "dup@delta.onmicrosoft.com".replace("dup@", "dup.admin@"),
        emails=[{"value": "dup.admin@elsewhere.example", "type": "work"}],
    )
    return old, new, candidate


def test_the_report_counts_and_lists_each_category(client, scim, admin, platform, org):
    old, new, candidate = moving_org(scim, admin, platform, org.id)
    pair = candidate.create_user(
        "dup.alias@delta.onmicrosoft.com",
        externalId="okta-dup",
        emails=[{"value": "alias@elsewhere.example", "type": "work"}],
    )
    body = report(admin, org.id)
    assert body["counts"]["users"] == {
        "matched": 2,
        "ambiguous": 2,
        "only_in_new": 2,
        "only_in_old": 1,
        "conflicts": 0,
    }
    ambiguous = {r["candidate_id"] for r in body["rows"]}
    assert ambiguous == {new["dup"]["id"], pair["id"]}
    matched = report(admin, org.id, "matched")["rows"]
    assert {(r["candidate_user_name"], r["old_user_name"], r["rule"]) for r in matched} == {
        ("carl@delta.onmicrosoft.com", "carl@delta.co", "email"),
        ("dana@delta.onmicrosoft.com", "dana@delta.co", "email"),
    }
    left = report(admin, org.id, "only_in_old")["rows"]
    assert [(r["user_id"], r["email"]) for r in left] == [
        (old["erin"][PRODUCT]["userId"], "erin@delta.co")
    ]
    exported = admin.call("GET", base(org.id, "/report.csv"))
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(lines) == 2 + 2 + 1 + 2
    assert {line["category"] for line in lines} == {
        "matched",
        "ambiguous",
        "only_in_old",
        "only_in_new",
    }


def test_user_name_rewrite_matches_when_no_email_does(client, scim, admin, platform, org):
    old = okta_user(scim, "olga")
    _, candidate = stage(admin, org.id)
    pushed = candidate.create_user(
        "olga@delta.onmicrosoft.com",
        emails=[{"value": "olga.private@elsewhere.example", "type": "work"}],
    )
    rows = report(admin, org.id, "matched")["rows"]
    assert [(r["candidate_id"], r["user_id"], r["rule"]) for r in rows] == [
        (pushed["id"], old[PRODUCT]["userId"], "user_name")
    ]
    # ... and the same match is a conflict: the candidate's email is another person's
    assert report(admin, org.id)["counts"]["users"]["conflicts"] == 1


def test_an_unknown_report_category_is_refused(admin, org):
    stage(admin, org.id)
    assert_api_error(
        admin.call("GET", base(org.id, "/report?category=everyone")), 400, "validation_error"
    )


# ---- cutover and rollback ----------------------------------------------------------------


def cutover(who: Admin, org_id: str, acting: str = "key", **body):
    return who.call("POST", base(org_id, "/cutover"), {"confirm": True, **body}, acting)


def test_cutover_refusals(client, scim, admin, platform, org):
    old, new, candidate = moving_org(scim, admin, platform, org.id)
    candidate.create_user(
        "dup.alias@delta.onmicrosoft.com",
        externalId="okta-dup",
        emails=[{"value": "alias@elsewhere.example", "type": "work"}],
    )
    assert_api_error(cutover(admin, org.id), 403, "owner_required")  # an org key is no Owner
    assert_api_error(cutover(platform, org.id), 409, "migration_ambiguous")
    assert_api_error(
        platform.call("POST", base(org.id, "/cutover"), {"only_in_old": "keep"}),
        400,
        "confirmation_required",
    )
    assert_api_error(cutover(platform, org.id, only_in_old="delete"), 400, "validation_error")
    assert_api_error(cutover(platform, org.id, rollback_days=0), 400, "validation_error")
    assert_api_error(
        platform.call("POST", base(org.id, "/rollback"), {"confirm": True}), 409, "migration_state"
    )
    assert scim.get("/Users").get_json()["totalResults"] == 4  # the old IdP still rules


def test_cutover_then_rollback_keeps_everyone_and_restores_the_old_directory(
    client, scim, admin, platform, org
):
    old, new, candidate = moving_org(scim, admin, platform, org.id)
    carl_id = old["carl"][PRODUCT]["userId"]
    group = scim.create_group("Engineering", [old["carl"]["id"], old["dana"]["id"]])
    new_group = candidate.create_group("engineering", [new["carl"]["id"], new["dana"]["id"]])
    mapping = admin.call(
        "POST",
        f"/organizations/{org.id}/group-mappings",
        {"group": {"id": group["id"]}, "role": "viewer"},
    )
    assert mapping.status_code == 201, mapping.get_json()
    assert admin.edit(old["dana"][PRODUCT]["userId"], {"role": "admin"}).status_code == 200
    from tests.api.admin.test_members import open_session
    from tests.api.admin.test_members import session_state

    session = open_session(platform, org.id, carl_id)
    before = {n: admin.member(old[n][PRODUCT]["userId"]) for n in ("carl", "dana", "erin")}
    pairs = admin.call(
        "PUT",
        base(org.id, "/pairs"),
        {
            "users": [
                {"candidate_id": new["dup"]["id"], "existing_id": old["dup"][PRODUCT]["userId"]}
            ]
        },
    )
    assert pairs.status_code == 200, pairs.get_json()
    done = cutover(platform, org.id, only_in_old="deactivate")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["outcome"] == {
        "relinked": 3,
        "created": 2,
        "only_in_old": 1,
        "left_out": 0,
        "groups_moved": 1,
    }
    assert done.get_json()["status"] == "cut_over"
    # idempotent: the same call again changes nothing and says so
    again = cutover(platform, org.id, only_in_old="deactivate")
    assert again.get_json()["already_cut_over"] is True
    assert again.get_json()["outcome"] == done.get_json()["outcome"]
    # the old IdP is out; the new one now manages the organisation
    assert scim.get("/Users").status_code == 401
    carl = candidate.get(f"/Users/{new['carl']['id']}").get_json()
    assert carl[PRODUCT]["userId"] == carl_id
    for name in ("carl", "dana"):
        after = admin.member(old[name][PRODUCT]["userId"])
        for key in ("role", "sites", "effective_access", "admin_override", "created_at"):
            assert after[key] == before[name][key], (name, key)
    assert admin.member(old["erin"][PRODUCT]["userId"])["effective_access"] is False
    assert session_state(platform, session)["valid"] is True
    mappings = admin.call("GET", f"/organizations/{org.id}/group-mappings").get_json()
    assert [m["group"]["id"] for m in mappings["group_mappings"]] == [new_group["id"]]
    nina = admin.member(new["nina"][PRODUCT]["userId"])
    assert nina["effective_access"] is True
    # rollback: the old directory and its members come back, with a new token
    rolled = platform.call("POST", base(org.id, "/rollback"), {"confirm": True})
    assert rolled.status_code == 200, rolled.get_json()
    restored = Scim(client, rolled.get_json()["scim_token"]["token"])
    assert restored.get(f"/Users/{old['carl']['id']}").status_code == 200
    assert restored.get("/Users").get_json()["totalResults"] == 4
    assert candidate.get("/Users").get_json()["totalResults"] == 5  # staged again
    for name in ("carl", "dana", "erin"):
        after = admin.member(old[name][PRODUCT]["userId"])
        for key in ("role", "sites", "effective_access", "directory_state"):
            assert after[key] == before[name][key], (name, key)
    assert admin.call("GET", admin.member_path(new["nina"][PRODUCT]["userId"])).status_code == 404
    mappings = admin.call("GET", f"/organizations/{org.id}/group-mappings").get_json()
    assert [m["group"]["id"] for m in mappings["group_mappings"]] == [group["id"]]
    assert session_state(platform, session)["valid"] is True
    types = [e["type"] for e in admin.events()["events"]]
    assert {"idp_migration.staged", "idp_migration.cut_over", "idp_migration.rolled_back"} <= set(
        types
    )


def test_a_second_rollback_and_a_late_one_are_refused(client, scim, admin, platform, org, db):
    okta_user(scim, "carl")
    _, candidate = stage(admin, org.id)
    entra_user(candidate, "carl")
    assert cutover(platform, org.id).status_code == 200
    from sqlalchemy import update

    from scim_server.storage.models import IdpMigration
    from scim_server.storage.models import utcnow

    db.execute(update(IdpMigration).values(rollback_until=utcnow()))
    db.commit()
    assert_api_error(
        platform.call("POST", base(org.id, "/rollback"), {"confirm": True}),
        409,
        "migration_rollback_expired",
    )
    assert_scim_error(scim.get("/Users"), 401)


def test_mapped_roles_follow_the_new_groups_and_come_back_on_rollback(
    client, scim, admin, platform, org
):
    verify_domain(platform, org.id, "delta.co")
    carl, dana = okta_user(scim, "carl"), okta_user(scim, "dana")
    scim.create_group("Sales", [carl["id"], dana["id"]])
    mapped = admin.call(
        "POST",
        f"/organizations/{org.id}/group-mappings",
        {"group": {"display_name": "Sales"}, "role": "viewer"},
    )
    assert mapped.status_code == 201, mapped.get_json()
    _, candidate = stage(admin, org.id)
    new_carl = entra_user(candidate, "carl")
    entra_user(candidate, "dana")
    candidate.create_group("Sales", [new_carl["id"]])  # the new IdP leaves dana out
    role = lambda user: admin.member(user[PRODUCT]["userId"])["role"]["name"]  # noqa: E731
    assert (role(carl), role(dana)) == ("viewer", "viewer")
    assert cutover(platform, org.id).status_code == 200
    assert (role(carl), role(dana)) == ("viewer", "member")
    assert platform.call("POST", base(org.id, "/rollback"), {"confirm": True}).status_code == 200
    assert (role(carl), role(dana)) == ("viewer", "viewer")


def test_cancel_revokes_the_candidate_token(client, admin, org):
    _, candidate = stage(admin, org.id)
    assert candidate.get("/Users").status_code == 200
    cancelled = admin.call("POST", base(org.id, "/cancel"), {})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert candidate.get("/Users").status_code == 401
    stage(admin, org.id)  # a new candidate may be staged again


def test_a_candidate_view_is_no_membership_for_the_one_organisation_policy(
    client, admin, org, other_org
):
    _, candidate = stage(admin, org.id)
    entra_user(candidate, "nina", email="nina@globex.example")
    globex = Admin(client, PLATFORM_KEY, other_org.id)
    changed = globex.call("PATCH", f"/organizations/{other_org.id}", {"exclusive_membership": True})
    assert changed.status_code == 200, changed.get_json()
    Scim(client, other_org.token).create_user("nina@globex.example")


def test_a_former_member_pushed_as_new_is_a_conflict_and_left_out(
    client, scim, admin, platform, org
):
    gone = okta_user(scim, "gone")
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    _, candidate = stage(admin, org.id)
    back = entra_user(candidate, "gone")
    body = report(admin, org.id, "conflicts")
    assert body["counts"]["users"]["conflicts"] == 1
    assert [(r["candidate_id"], r["rule"]) for r in body["rows"]] == [(back["id"], "member_exists")]
    done = cutover(platform, org.id)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["outcome"]["left_out"] == 1
    assert admin.member(gone[PRODUCT]["userId"])["ended_at"] is not None  # not revived


def test_rollback_does_not_revive_a_person_the_new_idp_deleted(
    client, scim, admin, platform, org, db
):
    """The new IdP deleted carl during the window (row X1: the membership ended). The old
    directory comes back without him, so it lists only people who are members, and the
    directory's state agrees with what it lists (queries.directory_active)."""
    from scim_server.storage import queries

    verify_domain(platform, org.id, "delta.co")
    old = okta_user(scim, "carl")
    _, candidate = stage(admin, org.id)
    new = entra_user(candidate, "carl")
    assert cutover(platform, org.id).status_code == 200
    assert candidate.delete(f"/Users/{new['id']}").status_code == 204
    rolled = platform.call("POST", base(org.id, "/rollback"), {"confirm": True})
    assert rolled.status_code == 200, rolled.get_json()
    restored = Scim(client, rolled.get_json()["scim_token"]["token"])
    assert restored.get(f"/Users/{old['id']}").status_code == 404
    assert restored.get("/Users").get_json()["totalResults"] == 0
    db.expire_all()
    assert not queries.directory_active(db, org.id)
    again = restored.create_user("carl@delta.co")  # the old IdP re-adds him (row P)
    assert again["userName"] == "carl@delta.co"
    assert queries.directory_active(db, org.id)
