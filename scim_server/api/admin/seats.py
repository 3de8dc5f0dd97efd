"""Management API: an organisation's seat count."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.membership import seats
from scim_server.services.membership.representation import seats_json

bp = auth.blueprint("seats", __name__, "/api/v1/organizations/<org_id>/seats")


@bp.get("")
def get_seats(org_id: str) -> Response:
    org = auth.organization(org_id)
    return reply(seats_json(seats.count(get_session(), org), org))
