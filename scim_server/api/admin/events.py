"""Management API: an organisation's event feed, oldest first, by cursor, filterable."""

from __future__ import annotations

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import reply
from scim_server.api.admin.query_args import choice_arg
from scim_server.api.admin.query_args import refuse_unknown
from scim_server.api.admin.query_args import text_arg
from scim_server.api.admin.query_args import time_arg
from scim_server.db import get_session
from scim_server.services import audit
from scim_server.services.organizations import events
from scim_server.services.organizations.representation import event_page

bp = auth.blueprint("events", __name__, "/api/v1/organizations/<org_id>/events")

_ARGS = ("after", "limit", "type", "user_id", "actor_type", "since", "until")


@bp.get("")
def list_events(org_id: str) -> Response:
    org = auth.organization(org_id)
    refuse_unknown(_ARGS)
    event_type = choice_arg("type", [str(t) for t in audit.EventType])
    where = audit.FeedFilter(
        type=audit.EventType(event_type) if event_type else None,
        user_id=text_arg("user_id", max_length=36),
        actor_type=choice_arg("actor_type", audit.ACTOR_TYPES),
        since=time_arg("since"),
        until=time_arg("until"),
    )
    rows, cursor = events.page(
        get_session(), org, after=request.args.get("after"), limit=limit_arg(), where=where
    )
    return reply(event_page(rows, cursor))
