"""Console: the Directory page (connection status, the SCIM base URL and the SCIM tokens to
paste into the IdP; ``tokens.py`` creates and revokes them, ``provisioning.py`` shows the
provisioning log, ``mappings.py`` the groups and their mappings) and the Events page (the
audit feed, filtered by type, oldest first by cursor)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.audit import EventType
from scim_server.services.audit import FeedFilter
from scim_server.services.organizations import events
from scim_server.services.organizations import tokens
from scim_server.services.organizations.orgs import directory_of
from scim_server.services.organizations.representation import event_json
from scim_server.services.organizations.representation import token_json
from scim_server.storage.models import User

EVENTS_PER_PAGE = 50


@bp.get("/directory")
@section("directory")
def directory() -> Response:
    return directory_page(revoked=request.args.get("revoked", ""))


def directory_page(**extra: Any) -> Response:
    """The Directory page; ``extra`` carries a new token's secret right after creating it."""
    db, org = get_session(), current().org
    base = (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")
    listed = [token_json(t) for t in reversed(tokens.list_tokens(db, org, "scim"))]
    return page(
        "directory.html",
        directory=directory_of(db, org.id),
        scim_base_url=f"{base}/scim/v2",
        tokens=listed,
        people=emails_of(db, [t["created_by"] for t in listed]),
        **extra,
    )


def emails_of(db: Session, ids: list[str | None]) -> dict[str, str]:
    """user id -> email for the ids that name a person ("created by" columns also hold
    ``portal:<link id>`` or ``system``), in one indexed statement for the page."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {uid: email for uid, email in rows if email}


@bp.get("/events")
@section("events")
def event_feed() -> Response:
    chosen = request.args.get("type", "").strip()
    if chosen and chosen not in {str(t) for t in EventType}:
        chosen = ""
    user = request.args.get("user", "").strip() or None
    rows, cursor = events.page(
        get_session(),
        current().org,
        after=request.args.get("after") or None,
        limit=EVENTS_PER_PAGE,
        where=FeedFilter(type=EventType(chosen) if chosen else None, user_id=user),
    )
    return page(
        "events.html",
        events=[event_json(e) for e in rows],
        next_cursor=cursor,
        chosen=chosen,
        user=user or "",
        types=[str(t) for t in EventType],
        more=len(rows) == EVENTS_PER_PAGE,
    )
