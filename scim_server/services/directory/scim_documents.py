"""SCIM documents <-> our rows. With ``storage/attr_map.py`` the only place both meet."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import Protocol

from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import PRODUCT_USER
from scim_server.services.formats import etag
from scim_server.services.formats import timestamp
from scim_server.services.membership.lifecycle import AccessFacts
from scim_server.services.membership.lifecycle import MemberState
from scim_server.services.membership.lifecycle import effective_access
from scim_server.services.membership.lifecycle import scim_active
from scim_server.services.profiles import display_name as display_name
from scim_server.services.profiles import primary_email as primary_email
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import LinkState
from scim_server.storage.models import ScimGroup

# Keys kept in columns or derived, never in the stored attribute document.
_USER_COLUMN_KEYS = (
    "schemas",
    "id",
    "meta",
    "externalId",
    "userName",
    "active",
    "password",
    "groups",
    PRODUCT_USER,
)
_GROUP_COLUMN_KEYS = ("schemas", "id", "meta", "externalId", "displayName", "members")
# Multi-valued User attributes indexed in scim_user_values for filtering.
INDEXED_MULTI_VALUED = (
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
)


def stored_attributes(doc: dict[str, Any], *, group: bool = False) -> dict[str, Any]:
    """The part of a validated document kept as JSON (everything not in a column)."""
    skip = _GROUP_COLUMN_KEYS if group else _USER_COLUMN_KEYS
    return {k: v for k, v in doc.items() if k not in skip}


class UserColumns(Protocol):
    """What a User's representation reads of its SCIM row: a ``ScimUser`` or a Core row
    (``storage/scim_reads.py``) whose columns carry these names."""

    @property
    def id(self) -> str: ...
    @property
    def user_name(self) -> str: ...
    @property
    def external_id(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def version(self) -> int: ...


class MembershipColumns(Protocol):
    """What a User's representation reads of its membership (a ``Membership`` or a row)."""

    @property
    def user_id(self) -> str: ...
    @property
    def directory_state(self) -> str: ...
    @property
    def admin_override(self) -> str: ...
    @property
    def end_reason(self) -> str | None: ...
    @property
    def link_state(self) -> str: ...


def user_to_scim(
    row: UserColumns,
    m: MembershipColumns,
    *,
    location: str,
    groups: list[dict[str, Any]] | None = None,
    user_disabled: bool = False,
    org_active: bool = True,
) -> dict[str, Any]:
    """The full SCIM User, before projection. ``active`` is D; E is in the extension."""
    attributes = dict(row.attributes)
    extensions = {k: attributes.pop(k) for k in list(attributes) if k.startswith("urn:")}
    doc: dict[str, Any] = {"schemas": [CORE_USER, *extensions, PRODUCT_USER], "id": row.id}
    if row.external_id is not None:
        doc["externalId"] = row.external_id
    doc["userName"] = row.user_name
    doc.update(attributes)
    doc["active"] = scim_active(m.directory_state)
    if groups:
        doc["groups"] = groups
    doc.update(extensions)
    state = MemberState(m.directory_state, m.admin_override, m.end_reason, m.link_state)
    facts = AccessFacts(user_disabled=user_disabled, org_active=org_active)
    doc[PRODUCT_USER] = {
        "userId": m.user_id,
        "adminDisabled": m.admin_override == AdminOverride.DISABLED,
        "effectiveAccess": effective_access(state, facts),
        "linkPending": m.link_state == LinkState.PENDING_CLAIM,
    }
    doc["meta"] = _meta("User", row.created_at, row.updated_at, location, row.version)
    return doc


def group_to_scim(
    row: ScimGroup, *, location: str, members: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The SCIM Group; ``members`` is None when the request excluded them (never loaded)."""
    doc: dict[str, Any] = {"schemas": [CORE_GROUP], "id": row.id}
    if row.external_id is not None:
        doc["externalId"] = row.external_id
    doc["displayName"] = row.display_name
    doc.update(row.attributes)
    if members:
        doc["members"] = members
    doc["meta"] = _meta("Group", row.created_at, row.updated_at, location, row.version)
    return doc


def _meta(
    kind: str, created: datetime, modified: datetime, location: str, version: int
) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": etag(version),
    }


def value_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Child rows for the multi-valued attributes of a stored User document."""
    rows = []
    for name in INDEXED_MULTI_VALUED:
        for element in doc.get(name) or ():
            value = element.get("value")
            text = None if value is None else str(value)
            rows.append(
                {
                    "attribute": name,
                    "value": text,
                    "value_lower": None if text is None else text.lower(),
                    "type": element.get("type"),
                    "primary": element.get("primary"),
                    "element": element,
                }
            )
    return rows
