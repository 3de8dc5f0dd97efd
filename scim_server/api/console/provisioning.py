"""Console: the provisioning log — every SCIM request of the organisation, newest first,
failures marked, filterable, and one entry's detail with the events its request wrote.

Read through ``services/organizations/provisioning_log.py`` exactly as
``GET …/provisioning-log`` does (same ``Search``, same cursor, same refusals), so a set-up
link with the ``directory`` section shows the customer's IT admin why their IdP got a 409.
"""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.scim import idp
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.organizations import provisioning_log
from scim_server.services.organizations.representation import log_entry_detail
from scim_server.services.organizations.representation import log_entry_json

LOG_PAGE_SIZE = 50
FILTERS = ("status", "error", "user_name", "idp")


@bp.get("/directory/log")
@section("directory")
def provisioning_log_view() -> Response:
    chosen = {name: request.args.get(name, "").strip() for name in FILTERS}
    rows, cursor = provisioning_log.search(
        get_session(),
        current().org,
        _search(chosen),
        after=request.args.get("after") or None,
        limit=LOG_PAGE_SIZE,
    )
    return page(
        "provisioning_log.html",
        entries=[log_entry_json(e) for e in rows],
        next_cursor=cursor,
        chosen=chosen,
        status_classes=list(provisioning_log.STATUS_CLASSES),
        idps=sorted(idp.KNOWN),
    )


@bp.get("/directory/log/<entry_id>")
@section("directory")
def provisioning_log_entry(entry_id: str) -> Response:
    db = get_session()
    entry = provisioning_log.get_entry(db, current().org, entry_id)
    return page(
        "provisioning_entry.html",
        entry=log_entry_detail(entry, provisioning_log.events_of(db, entry)),
    )


def _search(chosen: dict[str, str]) -> provisioning_log.Search:
    """The filters as the API takes them; an unknown IdP or an overlong error type is
    refused as the API refuses it (the status is checked by the service itself)."""
    if chosen["idp"] and chosen["idp"] not in idp.KNOWN:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"The IdP must be one of {', '.join(sorted(idp.KNOWN))}.",
        )
    if len(chosen["error"]) > 40:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "The error type is a scimType such as uniqueness."
        )
    return provisioning_log.Search(
        status=chosen["status"] or None,
        error=chosen["error"] or None,
        user_name=chosen["user_name"] or None,
        idp=chosen["idp"] or None,
    )
