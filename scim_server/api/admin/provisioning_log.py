"""Management API: an organisation's provisioning log, newest first, by cursor."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import reply
from scim_server.api.admin.query_args import choice_arg
from scim_server.api.admin.query_args import refuse_unknown
from scim_server.api.admin.query_args import text_arg
from scim_server.api.admin.query_args import time_arg
from scim_server.db import get_session
from scim_server.scim import idp
from scim_server.services.organizations import provisioning_log
from scim_server.services.organizations.representation import log_entry_detail
from scim_server.services.organizations.representation import log_page

bp = auth.blueprint("provisioning_log", __name__, "/api/v1/organizations/<org_id>/provisioning-log")

_ARGS = (
    "status",
    "error",
    "resource_id",
    "user_name",
    "external_id",
    "idp",
    "since",
    "until",
    "after",
    "limit",
)


@bp.get("")
def list_entries(org_id: str) -> Response:
    org = auth.organization(org_id)
    refuse_unknown(_ARGS)
    query = provisioning_log.Search(
        status=text_arg("status", max_length=3),
        error=text_arg("error", max_length=40),
        resource_id=text_arg("resource_id", max_length=64),
        user_name=text_arg("user_name"),
        external_id=text_arg("external_id"),
        idp=choice_arg("idp", idp.KNOWN),
        since=time_arg("since"),
        until=time_arg("until"),
    )
    rows, cursor = provisioning_log.search(
        get_session(), org, query, after=text_arg("after", max_length=18), limit=limit_arg()
    )
    return reply(log_page(rows, cursor))


@bp.get("/<entry_id>")
def get_entry(org_id: str, entry_id: str) -> Response:
    org = auth.organization(org_id)
    db = get_session()
    entry = provisioning_log.get_entry(db, org, entry_id)
    return reply(log_entry_detail(entry, provisioning_log.events_of(db, entry)))
