"""Management API: group mappings, the directory's groups, site roles, and returning a
member's grants to directory control (docs/api.md §3.8, docs/lifecycle.md §2.7)."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.membership.representation import describe
from scim_server.services.organizations import catalog
from scim_server.services.organizations import group_mappings as mappings
from scim_server.services.organizations.representation import group_row_json
from scim_server.services.organizations.representation import mapping_json
from scim_server.services.organizations.representation import site_role_json

bp: Blueprint = auth.blueprint("group_mappings", __name__, "/api/v1/organizations/<org_id>")


@bp.get("/group-mappings")
def list_mappings(org_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    rows, cursor = mappings.list_mappings(
        db, org, cursor=request.args.get("cursor"), limit=limit_arg()
    )
    names = mappings.grant_names(db, rows)
    matched = mappings.matched_groups(db, org, rows)
    page = [mapping_json(mp, names, matched.get(mp.id)) for mp in rows]
    return reply({"group_mappings": page, "next_cursor": cursor})


@bp.post("/group-mappings")
def create_mapping(org_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    by = auth.acting(org)
    mapping = mappings.create_mapping(db, org, fields(*sorted(mappings.FIELDS)), by=by)
    names = mappings.grant_names(db, [mapping])
    matched = mappings.matched_groups(db, org, [mapping]).get(mapping.id)
    return reply(mapping_json(mapping, names, matched), 201)


@bp.delete("/group-mappings/<mapping_id>")
def delete_mapping(org_id: str, mapping_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    mappings.delete_mapping(db, org, mapping_id, by=auth.acting(org))
    return Response(status=204)


@bp.get("/groups")
def list_groups(org_id: str) -> Response:
    db = get_session()
    org = auth.organization(org_id)
    rows, cursor = mappings.list_groups(
        db, org, cursor=request.args.get("cursor"), limit=limit_arg()
    )
    names = mappings.grant_names(db, [mp for row in rows for mp in row.mappings])
    return reply({"groups": [group_row_json(r, names) for r in rows], "next_cursor": cursor})


@bp.get("/site-roles")
def list_site_roles(org_id: str) -> Response:
    rows = catalog.list_site_roles(get_session(), auth.organization(org_id))
    return reply({"site_roles": [site_role_json(r) for r in rows]})


@bp.post("/site-roles")
def create_site_role(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    row = catalog.create_site_role(get_session(), org, fields("name", "rank"), actor=actor)
    return reply(site_role_json(row), 201)


@bp.post("/members/<user_id>/return-to-directory")
def return_to_directory(org_id: str, user_id: str) -> Response:
    """Clear the admin's role and/or sites override (``{"grants": ["role", "sites"]}``,
    both when omitted): the directory's group mappings decide them again."""
    db = get_session()
    org = auth.organization(org_id)
    by = auth.acting(org)
    sent = fields("grants")
    m = mappings.return_to_directory(db, org, user_id, sent.get("grants"), by=by)
    return reply(describe(db, m))
