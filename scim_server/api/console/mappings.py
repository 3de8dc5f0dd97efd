"""Console: the directory's groups with their member counts and mappings, and creating or
deleting a group mapping (docs/lifecycle.md §2.7).

Through ``services/organizations/group_mappings.py`` exactly as ``…/group-mappings`` and
``…/groups`` call it, with the same guards (only an Owner maps the Admin role; nobody maps
Owner). A mapping changes who holds which role, so it needs a host admin's session: the
guards are about the acting member's own role, and a set-up link acts for nobody. A
portal session with the ``directory`` section sees tokens and the provisioning log only.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import redirect
from flask import request
from flask import url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from scim_server.api.console.directory import emails_of
from scim_server.api.console.web import View
from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.grants import ADMIN
from scim_server.services.membership.grants import OWNER
from scim_server.services.organizations import catalog
from scim_server.services.organizations import group_mappings as mappings
from scim_server.services.organizations.representation import group_row_json
from scim_server.services.organizations.representation import mapping_json
from scim_server.storage.models import Organization

PAGE_SIZE = 50


def host_admin(view: View) -> View:
    """A view for a host admin's session only: a set-up link gets a 403 page saying why."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Response:
        if current().admin is None:
            message = "Group mappings need a host admin's console session, not a set-up link."
            return page("error.html", status=403, message=message)
        return view(*args, **kwargs)

    return guarded


def _by() -> AdminActor:
    acting = current().admin
    assert acting is not None  # @host_admin let only admin sessions through
    return acting


@bp.get("/directory/groups")
@section("directory")
@host_admin
def groups() -> Response:
    db, org = get_session(), current().org
    rows, group_cursor = mappings.list_groups(
        db, org, cursor=request.args.get("groups_after") or None, limit=PAGE_SIZE
    )
    listed, mapping_cursor = mappings.list_mappings(
        db, org, cursor=request.args.get("mappings_after") or None, limit=PAGE_SIZE
    )
    names = mappings.grant_names(db, listed + [mp for row in rows for mp in row.mappings])
    matched = mappings.matched_groups(db, org, listed)
    return page(
        "groups.html",
        groups=[group_row_json(r, names) for r in rows],
        group_cursor=group_cursor,
        mappings=[mapping_json(mp, names, matched.get(mp.id)) for mp in listed],
        people=emails_of(db, [mp.created_by for mp in listed]),
        mapping_cursor=mapping_cursor,
        roles=_mappable_roles(db, org),
        sites={site.id: site.name for site in catalog.list_sites(db, org)},
        site_roles=[r.name for r in catalog.list_site_roles(db, org)],
    )


@bp.post("/directory/group-mappings")
@section("directory")
@host_admin
def create_group_mapping() -> Response:
    mappings.create_mapping(get_session(), current().org, mapping_body(request.form), by=_by())
    return redirect(url_for("console.groups", created="1"), 303)


@bp.post("/directory/group-mappings/<mapping_id>/delete")
@section("directory")
@host_admin
def delete_group_mapping(mapping_id: str) -> Response:
    mappings.delete_mapping(get_session(), current().org, mapping_id, by=_by())
    return redirect(url_for("console.groups", deleted="1"), 303)


def _mappable_roles(db: Session, org: Organization) -> list[str]:
    """The roles the form offers: never Owner, Admin only to an Owner (the service refuses
    anything else all the same; this only keeps a sure refusal off the list)."""
    hidden = {OWNER} if _by().role == OWNER else {OWNER, ADMIN}
    return [r.name for r in catalog.list_roles(db, org) if r.name not in hidden]


def mapping_body(form: Any) -> dict[str, Any]:
    """The management API's body from the form: the group by id or display name, and
    either a role or a site with its site role (the service validates every part)."""
    by = "id" if form.get("group_by") == "id" else "display_name"
    body: dict[str, Any] = {"group": {by: form.get("group", "").strip()}}
    if form.get("grant") == "site":
        body["site"] = {"site": form.get("site", ""), "role": form.get("site_role") or None}
    else:
        body["role"] = form.get("role", "")
    return body
