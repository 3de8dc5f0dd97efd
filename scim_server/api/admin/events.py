"""Management API: an organisation's event feed, oldest first, by cursor."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.organizations import events
from scim_server.services.organizations.representation import event_page

bp = auth.blueprint("events", __name__, "/api/v1/organizations/<org_id>/events")


@bp.get("")
def list_events(org_id: str) -> Response:
    org = auth.organization(org_id)
    rows, cursor = events.page(
        get_session(), org, after=request.args.get("after"), limit=limit_arg()
    )
    return reply(event_page(rows, cursor))
