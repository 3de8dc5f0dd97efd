"""The organisations package's management-API JSON: organisations (with the credentials
shown once at creation), roles, sites and the event feed.

Rendering lives here, apart from the rules, so the services return rows and a field added
to the API is added in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from scim_server.services.formats import timestamp
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Event
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import IdpMigration
from scim_server.storage.models import Organization
from scim_server.storage.models import ProvisioningLogEntry
from scim_server.storage.models import Role
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import Site
from scim_server.storage.models import SiteRole

if TYPE_CHECKING:  # orgs renders its audit snapshots with org_json
    from scim_server.services.organizations.group_mappings import GroupRow
    from scim_server.services.organizations.orgs import ProvisionedOrg


def org_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "active": org.active,
        "exclusive_membership": org.exclusive_membership,
        "seat_limit": org.seat_limit,
        "over_seat_limit": org.over_seat_limit_at is not None,
        "created_at": timestamp(org.created_at),
        "sso_required": org.sso_required,
        "sso_owner_break_glass": org.sso_owner_break_glass,
    }


def provisioned_json(created: ProvisionedOrg, base_url: str) -> dict[str, Any]:
    """``POST /organizations``: the organisation, where its IdP connects, and its secrets."""
    return {
        **org_json(created.org),
        "scim_base_url": f"{base_url}/scim/v2",
        "scim_token": created.scim_token.secret,
        "management_key": created.management_key.secret,
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    """A token as listed: what identifies it to a person, never its secret or its hash."""
    return {
        "id": token.id,
        "prefix": token.prefix,
        "created_at": timestamp(token.created_at),
        "created_by": token.created_by,
        "last_used_at": timestamp(token.last_used_at),
        "revoked": token.revoked_at is not None,
        "revoked_at": timestamp(token.revoked_at),
    }


def role_json(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "builtin": role.builtin,
        "privileged": role.privileged,
    }


def site_json(site: Site) -> dict[str, Any]:
    return {"id": site.id, "name": site.name}


def event_json(event: Event) -> dict[str, Any]:
    """One event as the feed shows it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "actor": {"type": event.actor_type, "id": event.actor_id},
        "target": {"type": event.target_type, "id": event.target_id},
        "membership_id": event.membership_id,
        "user_id": event.user_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "at": timestamp(event.at),
    }


def event_page(events: list[Event], cursor: str | None) -> dict[str, Any]:
    """One page of ``GET …/events``: ``next_cursor`` is the ``after`` of the next call."""
    return {"events": [event_json(e) for e in events], "next_cursor": cursor}


# Group mappings and site roles (issue 9 item 1, part `map`)


def site_role_json(site_role: SiteRole) -> dict[str, Any]:
    return {
        "id": site_role.id,
        "name": site_role.name,
        "builtin": site_role.builtin,
        "rank": site_role.rank,
    }


def mapping_json(
    mapping: GroupMapping,
    names: dict[str, str],
    matched: ScimGroup | None,
) -> dict[str, Any]:
    """A mapping: the group as it was named (by id or display name), the group it names
    today (``matched_group``, null until the IdP pushes it) and the one grant it gives.
    ``names`` maps role and site role ids to names."""
    group = (
        {"id": mapping.group_id}
        if mapping.group_id is not None
        else {"display_name": mapping.group_name}
    )
    site = (
        {"site": mapping.site_id, "role": names.get(mapping.site_role_id or "")}
        if mapping.site_id is not None
        else None
    )
    role = (
        {"id": mapping.role_id, "name": names.get(mapping.role_id)}
        if mapping.role_id is not None
        else None
    )
    return {
        "id": mapping.id,
        "group": group,
        "matched_group": (
            {"id": matched.id, "display_name": matched.display_name} if matched else None
        ),
        "role": role,
        "site": site,
        "created_by": mapping.created_by,
        "created_at": timestamp(mapping.created_at),
    }


def group_row_json(row: GroupRow, names: dict[str, str]) -> dict[str, Any]:
    """``GET …/groups``: a directory group, its User member count and its mappings."""
    return {
        "id": row.group.id,
        "display_name": row.group.display_name,
        "external_id": row.group.external_id,
        "member_count": row.member_count,
        "mappings": [mapping_json(mp, names, row.group) for mp in row.mappings],
    }


def log_entry_json(entry: ProvisioningLogEntry) -> dict[str, Any]:
    """One provisioning log entry as ``GET …/provisioning-log`` lists it."""
    return {
        "id": str(entry.id),
        "at": timestamp(entry.at),
        "request_id": entry.request_id,
        "token_id": entry.token_id,
        "idp": entry.idp,
        "method": entry.method,
        "path": entry.path,
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "user_name": entry.user_name,
        "external_id": entry.external_id,
        "status": entry.status,
        "scim_type": entry.scim_type,
        "detail": entry.detail,
        "duration_ms": entry.duration_ms,
        "request_body": entry.request_body,
    }


def log_page(entries: list[ProvisioningLogEntry], cursor: str | None) -> dict[str, Any]:
    """Newest first; ``next_cursor`` (None on the last page) is the ``after`` of the next."""
    return {"entries": [log_entry_json(e) for e in entries], "next_cursor": cursor}


def log_entry_detail(entry: ProvisioningLogEntry, events: list[Event]) -> dict[str, Any]:
    """One entry with the events its request wrote (none for a failure: it rolled back)."""
    return {**log_entry_json(entry), "events": [event_json(e) for e in events]}


# IdP migration (issue 15, part `migrate`)


def migration_json(migration: IdpMigration) -> dict[str, Any]:
    """An IdP migration as the management API shows it (docs/api.md §3.9)."""
    return {
        "id": migration.id,
        "status": migration.status,
        "rules": migration.rules,
        "only_in_old": migration.only_in_old,
        "created_at": timestamp(migration.created_at),
        "created_by": migration.created_by,
        "cut_over_at": timestamp(migration.cut_over_at) if migration.cut_over_at else None,
        "rollback_until": (
            timestamp(migration.rollback_until) if migration.rollback_until else None
        ),
        "finished_at": timestamp(migration.finished_at) if migration.finished_at else None,
    }
