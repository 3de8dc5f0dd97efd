"""Console: the Directory page (connection status and the SCIM base URL to paste into the
IdP; tokens, the provisioning log and group mappings join it as their APIs land) and the
Events page (the audit feed, filtered by type, oldest first by cursor)."""

from __future__ import annotations

from flask import current_app
from flask import request
from werkzeug.wrappers import Response

from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.audit import EventType
from scim_server.services.audit import FeedFilter
from scim_server.services.organizations import events
from scim_server.services.organizations.orgs import directory_of
from scim_server.services.organizations.representation import event_json

EVENTS_PER_PAGE = 50


@bp.get("/directory")
@section("directory")
def directory() -> Response:
    row = directory_of(get_session(), current().org.id)
    base = (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")
    return page("directory.html", directory=row, scim_base_url=f"{base}/scim/v2")


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
