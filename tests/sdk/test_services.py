"""The Python API (``scim_server.sdk``) called directly, without HTTP: every capability,
its refusals, and its transactions (commit on return, roll back on raise)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from scim_server.sdk import Claims
from scim_server.sdk import NotFound
from scim_server.sdk import ProvisioningError
from scim_server.sdk import Services
from scim_server.services.signin import jit
from scim_server.storage.models import Invitation
from scim_server.storage.models import User
from tests.api.admin.test_jit import create_connection
from tests.api.admin.test_jit import verify_domain
from tests.conftest import PLATFORM_KEY
from tests.scim_client import Admin

ISSUER = "https://idp.acme.example"


@pytest.fixture
def services(app) -> Services:
    return Services.from_app(app)


def refused(code: str) -> pytest.RaisesExc:
    """``ProvisioningError`` with exactly this code."""
    return pytest.raises(ProvisioningError, check=lambda e: e.code == code)


def member(services: Services, org_id: str, email: str, role: str = "member") -> str:
    """A new account and its membership, by invitation: the user id."""
    issued = services.invite(org_id, email, role=role, acting_user="key")
    return services.accept_invitation(issued.token, name=email.split("@")[0]).user_id


def event_types(services: Services, org_id: str) -> list[str]:
    return [e["type"] for e in services.events(org_id, limit=1000).events]


# --- organisations ------------------------------------------------------------------------


def test_create_organization_returns_working_credentials(services, client):
    created = services.create_organization("  Initech ", seat_limit=5)
    assert created.name == "Initech"
    users = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {created.scim_token}"})
    assert users.status_code == 200
    admin = Admin(client, created.management_key, created.id)
    shown = admin.call("GET", f"/organizations/{created.id}").get_json()
    assert shown["seat_limit"] == 5


def test_create_organization_refuses_a_blank_name(services):
    with refused("validation_error"):
        services.create_organization("   ")


# --- invitations --------------------------------------------------------------------------


def test_invite_and_accept_signs_the_person_up(services, org, db):
    issued = services.invite(org.id, "Ada@Acme.com", role="viewer", acting_user="key")
    assert issued.accept_url == f"/invitations/accept?token={issued.token}"
    assert issued.invitation["status"] == "pending"
    assert issued.invitation["role"]["name"] == "viewer"
    result = services.accept_invitation(issued.token, name="Ada")
    assert (result.outcome, result.created_user) == ("accepted", True)
    assert db.get(User, result.user_id).name == "Ada"
    assert "invitation.accepted" in event_types(services, org.id)


def test_invite_refusals(services, org):
    with refused("invitation_role_invalid"):
        services.invite(org.id, "ada@acme.com", role="no-such-role", acting_user="key")
    with refused("ttl_invalid"):
        services.invite(org.id, "ada@acme.com", expires_in=60, acting_user="key")
    with pytest.raises(NotFound):
        services.invite("no-such-org", "ada@acme.com", acting_user="key")


def test_a_wrong_token_is_refused_and_its_failed_attempt_is_kept(services, org, db):
    issued = services.invite(org.id, "ada@acme.com", acting_user="key")
    selector = issued.token.partition(".")[0]
    with refused("invitation_invalid"):
        services.accept_invitation(f"{selector}.wrong-secret")
    db.expire_all()
    assert db.get(Invitation, selector).failed_attempts == 1  # committed despite the error


def test_an_email_mismatch_is_refused_and_the_invitation_lives(services, org):
    issued = services.invite(org.id, "ada@acme.com", acting_user="key")
    with refused("invitation_email_mismatch"):
        services.accept_invitation(issued.token, email="eve@acme.com")
    assert services.accept_invitation(issued.token).outcome == "accepted"


def test_resend_kills_the_old_link(services, org):
    first = services.invite(org.id, "ada@acme.com", acting_user="key")
    second = services.resend_invitation(org.id, first.id, acting_user="key")
    assert second.id == first.id and second.token != first.token
    with refused("invitation_invalid"):
        services.accept_invitation(first.token)
    assert services.accept_invitation(second.token).outcome == "accepted"


def test_revoke_is_immediate_and_only_once(services, org):
    issued = services.invite(org.id, "ada@acme.com", acting_user="key")
    assert services.revoke_invitation(org.id, issued.id, acting_user="key")["status"] == "revoked"
    with refused("invitation_invalid"):
        services.accept_invitation(issued.token)
    with refused("invitation_not_pending"):
        services.revoke_invitation(org.id, issued.id, acting_user="key")
    with refused("invitation_not_pending"):
        services.resend_invitation(org.id, issued.id, acting_user="key")
    with pytest.raises(NotFound):
        services.revoke_invitation(org.id, "no-such-invitation", acting_user="key")


def test_a_link_made_in_python_is_accepted_over_http(services, org, client):
    issued = services.invite(org.id, "ada@acme.com", acting_user="key")
    response = Admin(client, PLATFORM_KEY).call(
        "POST", "/invitations/accept", {"token": issued.token, "user": {"name": "Ada"}}
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["outcome"] == "accepted"


def test_a_link_made_over_http_is_accepted_in_python(services, admin):
    response = admin.call("POST", f"/organizations/{admin.org_id}/invitations", {"email": "a@b.io"})
    assert response.status_code == 201, response.get_json()
    result = services.accept_invitation(response.get_json()["token"])
    assert result.outcome == "accepted"


# --- members ------------------------------------------------------------------------------


def test_disable_and_enable_a_member(services, org):
    user_id = member(services, org.id, "ada@acme.com")
    session = services.create_session(user_id, org.id, method="password")
    disabled = services.disable_member(org.id, user_id, reason="offboarding", acting_user="key")
    assert disabled["admin_override"]["state"] == "disabled"
    assert disabled["effective_access"] is False
    assert services.validate_session(session.id).valid is False
    enabled = services.enable_member(org.id, user_id, acting_user="key")
    assert enabled["effective_access"] is True
    assert "membership.override_set" in event_types(services, org.id)


def test_member_refusals(services, org):
    owner = member(services, org.id, "olga@acme.com", role="owner")
    with refused("cannot_disable_self"):
        services.disable_member(org.id, owner, acting_user="olga@acme.com")
    with pytest.raises(NotFound):
        services.disable_member(org.id, "no-such-user", acting_user="key")
    with pytest.raises(NotFound):
        services.enable_member("no-such-org", owner, acting_user="key")


# --- sessions -----------------------------------------------------------------------------


def test_session_create_validate_revoke(services, org):
    user_id = member(services, org.id, "ada@acme.com")
    session = services.create_session(user_id, org.id, method="password")
    assert (session.user_id, session.organization_id, session.method) == (
        user_id,
        org.id,
        "password",
    )
    status = services.validate_session(session.id)
    assert (status.valid, status.reason) == (True, None)
    services.revoke_session(session.id)
    status = services.validate_session(session.id)
    assert (status.valid, status.reason) == (False, "signed_out")


def test_session_refusals(services, org, other_org):
    user_id = member(services, org.id, "ada@acme.com")
    with refused("membership_not_found"):
        services.create_session(user_id, other_org.id, method="password")
    with refused("validation_error"):
        services.create_session(user_id, org.id, method="carrier-pigeon")
    with pytest.raises(NotFound):
        services.validate_session("no-such-session")
    with pytest.raises(NotFound):
        services.revoke_session("no-such-session")


# --- JIT sign-in --------------------------------------------------------------------------


@pytest.fixture
def connection_id(platform, admin, org) -> str:
    verify_domain(platform, org.id, "acme.com")
    return create_connection(admin, org.id)


def test_sso_sign_in_provisions_and_issues_a_session(services, org, connection_id):
    claims = Claims(ISSUER, "00u1", "bob@acme.com", True, "Bob")
    first = services.sso_sign_in(connection_id, claims)
    assert (first.provisioned, first.created_user, first.linked_identity) == (True, True, True)
    assert first.organization_id == org.id
    assert first.session.sso_connection_id == connection_id
    assert services.validate_session(first.session.id).valid is True
    again = services.sso_sign_in(connection_id, claims)
    assert (again.user_id, again.provisioned) == (first.user_id, False)


def test_sso_sign_in_refusals_write_nothing(services, connection_id, db):
    with refused("sso_connection_not_found"):
        services.sso_sign_in("no-such-connection", Claims(ISSUER, "00u1", "bob@acme.com"))
    with refused("email_domain_not_verified"):
        services.sso_sign_in(connection_id, Claims(ISSUER, "00u2", "eve@globex.com", True))
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_a_failure_after_writes_rolls_the_whole_call_back(services, connection_id, db, monkeypatch):
    def no_session(*_args, **_kwargs):
        raise ProvisioningError("sso_connection_disabled", "planted after JIT wrote the user")

    monkeypatch.setattr(jit, "create_session", no_session)
    with refused("sso_connection_disabled"):
        services.sso_sign_in(connection_id, Claims(ISSUER, "00u1", "bob@acme.com", True))
    db.expire_all()
    assert db.scalar(select(User.id).where(User.email_normalized == "bob@acme.com")) is None


def test_sso_complete_link_links_a_signed_in_account(services, org, connection_id, db):
    """docs/lifecycle.md §3.6: the account's email was never verified, so the login needs
    the person to confirm the link from their signed-in account."""
    account = User(email="ann@acme.com", email_normalized="ann@acme.com", email_verified=False)
    other = User(email="bo@acme.com", email_normalized="bo@acme.com", email_verified=False)
    db.add_all([account, other])
    db.commit()
    claims = Claims(ISSUER, "00u9", "ann@acme.com", True)
    with refused("account_link_required"):
        services.sso_sign_in(connection_id, claims)
    with refused("sso_link_email_mismatch"):
        services.sso_complete_link(connection_id, other.id, claims)
    linked = services.sso_complete_link(connection_id, account.id, claims)
    assert (linked.user_id, linked.linked_identity, linked.provisioned) == (account.id, True, True)
    assert services.sso_sign_in(connection_id, claims).user_id == account.id
    assert "sso_identity.linked" in event_types(services, org.id)


# --- the event feed -----------------------------------------------------------------------


def test_events_page_by_cursor(services, org):
    member(services, org.id, "ada@acme.com")
    everything = services.events(org.id, limit=1000).events
    first = services.events(org.id, limit=2)
    assert len(first.events) == 2
    rest = services.events(org.id, after=first.next_cursor, limit=1000)
    assert first.events + rest.events == everything
    assert services.events(org.id, after=rest.next_cursor).events == []


def test_event_feed_refusals(services, org):
    with refused("cursor_invalid"):
        services.events(org.id, after="not-a-cursor")
    with refused("validation_error"):
        services.events(org.id, limit=0)
    with pytest.raises(NotFound):
        services.events("no-such-org")


def test_the_acting_user_must_be_an_effective_admin_or_the_key(services, org, other_org):
    """The SDK follows X-Acting-User's rule (docs/api.md §1): never a name that is nobody."""
    target = member(services, org.id, "ada@acme.com")
    viewer = member(services, org.id, "val@acme.com", role="viewer")
    outsider = member(services, other_org.id, "oz@globex.com", role="admin")
    with refused("acting_user_required"):
        services.disable_member(org.id, target, acting_user="")
    for nobody in ("nobody@acme.com", "no-such-id", outsider, "oz@globex.com"):
        with refused("acting_user_unknown"):
            services.disable_member(org.id, target, acting_user=nobody)
    with refused("insufficient_role"):
        services.disable_member(org.id, target, acting_user="val@acme.com")
    with refused("insufficient_role"):
        services.invite(org.id, "new@acme.com", acting_user=viewer)
    assert services.disable_member(org.id, target, acting_user="key")["effective_access"] is False
