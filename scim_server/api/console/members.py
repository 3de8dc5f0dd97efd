"""Console: the Members pages — the list with each person's states at a glance, one
member's page, and the admin actions, through ``services/membership/admin`` exactly as
the management API calls it (same guards, same events)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.audit import FeedFilter
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.users import user_groups
from scim_server.services.membership import admin
from scim_server.services.membership import sessions
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.representation import describe
from scim_server.services.membership.representation import session_json
from scim_server.services.organizations import catalog
from scim_server.services.organizations import events
from scim_server.services.organizations.orgs import directory_of
from scim_server.services.organizations.representation import event_json

PAGE_SIZE = 25
HISTORY_SIZE = 20


def _admin() -> AdminActor:
    """Members need a host admin's session; portal sessions never open this section."""
    acting = current().admin
    assert acting is not None  # @section("members") let only admin sessions through
    return acting


@bp.get("/members")
@section("members")
def members() -> Response:
    db = get_session()
    email = request.args.get("email", "").strip() or None
    state = request.args.get("state", "").strip() or None
    rows, cursor = admin.list_members(
        db,
        current().org,
        email=email,
        state=state,
        cursor=request.args.get("cursor"),
        limit=PAGE_SIZE,
    )
    listed = [describe(db, m) for m in rows]
    return page(
        "members.html",
        members=listed,
        next_cursor=cursor,
        email=email or "",
        state=state or "",
        states=admin.MEMBER_STATES,
    )


@bp.get("/members/<user_id>")
@section("members")
def member(user_id: str) -> Response:
    db, org = get_session(), current().org
    shown = describe(db, admin.get_membership(db, org, user_id))
    only = FeedFilter(user_id=user_id)
    history, _ = events.page(db, org, after=None, limit=HISTORY_SIZE, where=only)
    return page(
        "member.html",
        member=shown,
        outcomes=outcomes(shown),
        groups=_groups(shown["scim_id"]),
        sessions=[
            session_json(row)
            for row in sessions.live_sessions(db, org.id, user_id, limit=HISTORY_SIZE)
        ],
        history=[event_json(e) for e in history],
        roles=[r.name for r in catalog.list_roles(db, org)],
        sites=catalog.list_sites(db, org),
    )


def _groups(scim_id: str | None) -> list[dict[str, Any]]:
    """The person's SCIM groups, as the directory's ``groups`` attribute lists them."""
    if scim_id is None:
        return []
    console = current()
    ctx = ScimContext(
        org=console.org,
        directory_id=directory_of(get_session(), console.org.id).id,
        actor=console.actor,
        base_url="",
        registry=current_app.extensions["scim_registry"],
        validators=current_app.extensions["scim_validators"],
    )
    return user_groups(get_session(), ctx, [scim_id]).get(scim_id, [])


def outcomes(member: dict[str, Any]) -> dict[str, str]:
    """What each action will do for this person, in the words of docs/lifecycle.md §2."""
    directory = member["directory_state"]
    said: dict[str, str] = {}
    if directory == "active":
        said["disable"] = (
            "The directory still lists this person as active; your disable will stick. "
            "A later active:true from the IdP will not re-enable them, and their sessions "
            "end now."
        )
    else:
        said["disable"] = "They lose access now and their sessions end."
    if directory in ("active", "unmanaged"):
        said["enable"] = "Your disable is lifted and they get access again."
    else:
        said["enable"] = (
            f"Your disable is lifted, but the directory says '{directory}': they stay "
            "without access until the directory activates them."
        )
    said["remove"] = (
        "They leave this organisation: access, role and sites are cleared and their "
        "sessions end. The audit history stays."
    )
    return said


def _done(user_id: str) -> Response:
    return redirect(url_for("console.member", user_id=user_id), 303)


@bp.post("/members/<user_id>/disable")
@section("members")
def disable(user_id: str) -> Response:
    reason = request.form.get("reason", "").strip() or None
    admin.disable(get_session(), current().org, user_id, reason=reason, by=_admin())
    return _done(user_id)


@bp.post("/members/<user_id>/enable")
@section("members")
def enable(user_id: str) -> Response:
    admin.enable(get_session(), current().org, user_id, by=_admin())
    return _done(user_id)


@bp.post("/members/<user_id>/remove")
@section("members")
def remove(user_id: str) -> Response:
    admin.remove(get_session(), current().org, user_id, by=_admin())
    return _done(user_id)


@bp.post("/members/<user_id>/role")
@section("members")
def change_role(user_id: str) -> Response:
    role = request.form.get("role", "").strip()
    admin.edit(get_session(), current().org, user_id, {"role": role}, by=_admin())
    return _done(user_id)


@bp.post("/members/<user_id>/sites")
@section("members")
def change_sites(user_id: str) -> Response:
    sites = request.form.getlist("sites")
    admin.edit(get_session(), current().org, user_id, {"sites": sites}, by=_admin())
    return _done(user_id)
