"""SCIM attribute paths -> SQL, for filters and sortBy.

Promoted attributes (id, userName, externalId, active, meta dates, …) are columns with
indexes; other singular attributes are read from the stored JSON document; multi-valued
attributes are EXISTS over their child rows. With ``storage/models.py`` and
``services/directory/scim_documents.py`` this is where SCIM names meet our columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from sqlalchemy import SQLColumnExpression
from sqlalchemy import exists
from sqlalchemy import literal
from sqlalchemy import select

from scim_server.scim.filter import Column
from scim_server.scim.filter import Condition
from scim_server.scim.filter import MultiValued
from scim_server.scim.filter import Target
from scim_server.scim.filter import UnresolvedAttribute
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType
from scim_server.storage import access_sql
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import GroupMember
from scim_server.storage.models import LinkState
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue

# Attributes that exist in the schema but cannot be filtered or sorted on, with why.
UNFILTERABLE = {
    "password": "it is never returned (RFC 7643 §4.1.1)",
    "meta.location": "it is derived from the request URL",
    "meta.version": "compare versions with If-Match instead",
}


# Built once: SQL expressions are immutable, and composing these (effective access above
# all) per filtered request cost more Python than the lookup they serve.
@cache
def _user_columns() -> dict[str, SQLColumnExpression[Any]]:
    return {
        "id": ScimUser.id,
        "externalid": ScimUser.external_id,
        "username": ScimUser.user_name,
        "displayname": ScimUser.display_name,
        "active": access_sql.scim_active(),
        "meta.created": ScimUser.created_at,
        "meta.lastmodified": ScimUser.updated_at,
        "meta.resourcetype": literal("User"),
        f"{PRODUCT_USER.lower()}:userid": Membership.user_id,
        f"{PRODUCT_USER.lower()}:admindisabled": Membership.admin_override
        == AdminOverride.DISABLED,
        f"{PRODUCT_USER.lower()}:effectiveaccess": access_sql.effective_access(),
        f"{PRODUCT_USER.lower()}:linkpending": Membership.link_state == LinkState.PENDING_CLAIM,
    }


@cache
def _group_columns() -> dict[str, SQLColumnExpression[Any]]:
    return {
        "id": ScimGroup.id,
        "externalid": ScimGroup.external_id,
        "displayname": ScimGroup.display_name,
        "meta.created": ScimGroup.created_at,
        "meta.lastmodified": ScimGroup.updated_at,
        "meta.resourcetype": literal("Group"),
    }


def _user_values(attr: AttributeDef) -> MultiValued:
    """emails, phoneNumbers, … as EXISTS over ``scim_user_values``."""

    def exists_(cond: Condition | None) -> Condition:
        where = [ScimUserValue.scim_user_id == ScimUser.id, ScimUserValue.attribute == attr.name]
        if cond is not None:
            where.append(cond)
        return exists(select(ScimUserValue.id).where(*where))

    def sub(sub_attr: AttributeDef) -> Column:
        name = sub_attr.name
        if name == "value" and not sub_attr.case_exact:
            return Column(ScimUserValue.value_lower, sub_attr, lowered=True)
        if name == "value":
            expr: SQLColumnExpression[Any] = ScimUserValue.value
        elif name == "type":
            expr = ScimUserValue.type
        elif name == "primary":
            expr = ScimUserValue.primary
        else:
            expr = ScimUserValue.element[name].as_string()
        return Column(expr, sub_attr)

    return MultiValued(attr, exists_, sub)


def id_reference(sub_attr: AttributeDef) -> AttributeDef:
    """A member's or group's ``value`` is a resource id, and ids are caseExact (RFC 7643
    §3.1): compared exactly, the primary key serves it instead of a scan of lower(id)."""
    return replace(sub_attr, case_exact=True) if sub_attr.name == "value" else sub_attr


def _members(
    attr: AttributeDef, owner: Callable[[], SQLColumnExpression[Any]], key: str
) -> MultiValued:
    """Group ``members`` (owner = the group) or User ``groups`` (owner = the user)."""

    def exists_(cond: Condition | None) -> Condition:
        where = [getattr(GroupMember, key) == owner()]
        if cond is not None:
            where.append(cond)
        return exists(select(GroupMember.group_id).where(*where))

    def sub(sub_attr: AttributeDef) -> Column:
        other = "group_id" if key == "member_id" else "member_id"
        columns: dict[str, SQLColumnExpression[Any]] = {
            "value": getattr(GroupMember, other),
            "type": GroupMember.member_type if key == "group_id" else literal("direct"),
        }
        if sub_attr.name not in columns:
            raise UnresolvedAttribute(
                f"Filtering on '{attr.name}.{sub_attr.name}' is not supported."
            )
        return Column(columns[sub_attr.name], sub_attr)

    return MultiValued(attr, exists_, sub)


class _Resolver:
    def __init__(
        self,
        rtype: ResourceType,
        columns: dict[str, SQLColumnExpression[Any]],
        json_column: Any,
        multi: Callable[[AttributeDef], MultiValued],
    ) -> None:
        self.rtype, self.columns, self.json_column, self.multi = rtype, columns, json_column, multi

    def __call__(self, urn: str | None, name: str, sub: str | None) -> Target:
        attr = self.rtype.attribute(name, urn)
        if attr is None:
            raise UnresolvedAttribute(f"Unknown attribute '{_show(urn, name, sub)}'.")
        sub_attr = attr.sub(sub) if sub else None
        if sub and sub_attr is None:
            raise UnresolvedAttribute(f"Unknown attribute '{_show(urn, name, sub)}'.")
        dotted = (sub_attr or attr).dotted
        if dotted in UNFILTERABLE:
            raise UnresolvedAttribute(f"'{dotted}' cannot be filtered: {UNFILTERABLE[dotted]}.")
        if attr.multi_valued:
            return self.multi(attr)
        if attr.is_complex and sub_attr is None:
            raise UnresolvedAttribute(f"'{attr.name}' is complex: name a sub-attribute.")
        key = (
            dotted.lower()
            if attr.schema in (self.rtype.core.id, "common")
            else (f"{attr.schema.lower()}:{dotted.lower()}")
        )
        if key in self.columns:
            return Column(self.columns[key], sub_attr or attr)
        if attr.schema == PRODUCT_USER:
            raise UnresolvedAttribute(f"'{dotted}' cannot be filtered.")
        path = [attr.name] if sub_attr is None else [attr.name, sub_attr.name]
        if attr.schema not in (self.rtype.core.id, "common"):
            path.insert(0, attr.schema)
        return Column(self.json_column[tuple(path)].as_string(), sub_attr or attr)


def _show(urn: str | None, name: str, sub: str | None) -> str:
    text = f"{urn}:{name}" if urn else name
    return f"{text}.{sub}" if sub else text


def user_resolver(rtype: ResourceType) -> _Resolver:
    def multi(attr: AttributeDef) -> MultiValued:
        if attr.name == "groups":
            return _members(attr, lambda: ScimUser.id, "member_id")
        return _user_values(attr)

    return _Resolver(rtype, _user_columns(), ScimUser.attributes, multi)


def group_resolver(rtype: ResourceType) -> _Resolver:
    def multi(attr: AttributeDef) -> MultiValued:
        return _members(attr, lambda: ScimGroup.id, "group_id")

    return _Resolver(rtype, _group_columns(), ScimGroup.attributes, multi)
