"""Drift guards: cheap checks that the registry and the routes still agree.

(The import rules between layers live in ``test_imports.py`` beside this file.)

(a) Every attribute of the registry is filterable, or its being unfilterable is written down:
    in ``attr_map.UNFILTERABLE`` or, for members/groups sub-attributes, reported by the
    resolver, and in ``NOT_FILTERABLE`` below, so none can silently become unfilterable.
(b) ``/Schemas`` serves exactly the schema files; every ResourceType has a route and every
    SCIM collection route is a ResourceType or discovery.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from scim_server.scim.filter import MultiValued
from scim_server.scim.filter import UnresolvedAttribute
from scim_server.scim.schema import DEFAULT_SCHEMA_DIR
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import ResourceType
from scim_server.scim.schema import load_registry
from scim_server.storage.attr_map import UNFILTERABLE
from scim_server.storage.attr_map import group_resolver
from scim_server.storage.attr_map import user_resolver
from tests.scim_client import LIST
from tests.scim_client import Scim

# --- (a) every registry attribute is filterable, or says why not ---------------------------

# attr_map.UNFILTERABLE, plus the members/groups sub-attributes the resolver refuses.
NOT_FILTERABLE = {
    "User": {"password", "meta.location", "meta.version", "groups.$ref", "groups.display"},
    "Group": {"meta.location", "meta.version", "members.$ref", "members.display"},
}
RESOLVERS = {"User": user_resolver, "Group": group_resolver}


def attribute_paths(rtype: ResourceType) -> Iterator[tuple[str | None, AttributeDef, str]]:
    """(URN or None, attribute, filter path) for every attribute a filter could name.

    A singular complex attribute (``name``, ``meta``, ``manager``) is named by its
    sub-attributes only; a multi-valued one both by itself (``emails pr``) and by them.
    """
    groups: list[tuple[str | None, tuple[AttributeDef, ...]]] = [
        (None, rtype.common),
        (None, rtype.core.attributes),
        *((ext.id, ext.attributes) for ext in rtype.extensions),
    ]
    for urn, attrs in groups:
        for attr in attrs:
            prefix = f"{urn}:" if urn else ""
            if attr.multi_valued or not attr.is_complex:
                yield urn, attr, prefix + attr.name
            for sub in attr.sub_attributes:
                yield urn, sub, prefix + sub.dotted


def filterable(rtype: ResourceType, urn: str | None, attr: AttributeDef) -> bool:
    resolve = RESOLVERS[rtype.name](rtype)
    parent = rtype.attribute(attr.parent, urn) if attr.parent else None
    try:
        if parent is None:
            resolve(urn, attr.name, None)
            return True
        target = resolve(urn, parent.name, attr.name)
        if isinstance(target, MultiValued):
            target.sub(attr)  # members/groups refuse sub-attributes they have no column for
    except UnresolvedAttribute:
        return False
    return True


def short(urn: str | None, path: str) -> str:
    """The path without its extension URN, for the expected sets (they name core paths)."""
    return path[len(urn) + 1 :] if urn else path


@pytest.mark.parametrize("name", ["User", "Group"])
def test_every_attribute_is_filterable_or_listed(name):
    rtype = load_registry().resource_types[name]
    refused = {
        short(urn, path)
        for urn, attr, path in attribute_paths(rtype)
        if not filterable(rtype, urn, attr)
    }
    assert refused == NOT_FILTERABLE[name]
    for path in refused:  # each refusal has a reason: UNFILTERABLE, or a members/groups sub
        assert path in UNFILTERABLE or path.split(".")[0] in ("members", "groups"), path


def test_unfilterable_names_registry_attributes():
    registry = load_registry()
    known = {
        short(urn, path)
        for rtype in registry.resource_types.values()
        for urn, _, path in attribute_paths(rtype)
    }
    assert set(UNFILTERABLE) <= known


def api_mismatches(client, org, name: str, *, multi_valued_subs: bool) -> list[str]:
    """Paths whose ``path pr`` through the API disagrees with ``filterable``.

    Filterable means 200 (the SQL runs, on this database); refused means 400 invalidFilter.
    ``multi_valued_subs`` picks the sub-attributes of multi-valued attributes, or the rest.
    """
    rtype = load_registry().resource_types[name]
    scim = Scim(client, org.token)
    found = []
    for urn, attr, path in attribute_paths(rtype):
        parent = rtype.attribute(attr.parent, urn) if attr.parent else None
        if bool(parent and parent.multi_valued) != multi_valued_subs:
            continue
        response = scim.get(rtype.endpoint, query_string={"filter": f"{path} pr"})
        wanted = 200 if filterable(rtype, urn, attr) else 400
        body = response.get_json()
        if response.status_code != wanted or (
            wanted == 400 and body["scimType"] != "invalidFilter"
        ):
            found.append(f"{path} pr: {response.status_code} {body.get('detail', '')}")
    return found


@pytest.mark.parametrize("name", ["User", "Group"])
def test_every_filterable_attribute_runs_in_sql(client, org, name):
    assert api_mismatches(client, org, name, multi_valued_subs=False) == []


@pytest.mark.parametrize("name", ["User", "Group"])
def test_every_filterable_sub_attribute_runs_in_sql(client, org, name):
    assert api_mismatches(client, org, name, multi_valued_subs=True) == []


# --- (b) discovery serves the files; ResourceTypes and routes match -------------------------

# Files in schemas/ that are not schema documents, and why /Schemas does not serve them.
NOT_SCHEMAS = {
    "ResourceTypes.json": "served by /ResourceTypes",
    "ServiceProviderConfig.json": "served by /ServiceProviderConfig",
    "common-attributes.json": "RFC 7643 §3.1 attributes, in no schema document",
}
SCHEMA_FILES = {"User.json", "Group.json", "EnterpriseUser.json", "ScimServerUser.json"}
DISCOVERY = {"ServiceProviderConfig", "ResourceTypes", "Schemas"}
# Root-level endpoints that serve no one resource type: search across types (RFC 7644
# §3.4.3), /Me, answered 501 (RFC 7644 §3.11), and Bulk over several types (§3.7).
ROOT_ENDPOINTS = {".search", "Me", "Bulk"}


def schema_files() -> dict[str, dict[str, object]]:
    paths = DEFAULT_SCHEMA_DIR.glob("*.json")
    files = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    assert set(files) == SCHEMA_FILES | set(NOT_SCHEMAS)
    return {name: doc for name, doc in files.items() if name in SCHEMA_FILES}


def test_schemas_serves_exactly_the_schema_files(client):
    files = schema_files()
    for name, doc in files.items():
        assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"], name
    body = client.get("/scim/v2/Schemas").get_json()
    assert body["schemas"] == [LIST]
    served = {doc["id"]: doc for doc in body["Resources"]}
    assert body["totalResults"] == len(body["Resources"]) == len(served)
    expected = {doc["id"]: doc for doc in files.values()}
    assert set(served) == set(expected)
    for urn, doc in served.items():
        meta = doc.pop("meta")
        assert meta["location"].endswith(f"/Schemas/{urn}")
        assert doc == {k: v for k, v in expected[urn].items() if k != "meta"}, urn


def test_every_resource_type_has_a_route_and_back(app, client, org):
    registry = load_registry()
    served = client.get("/scim/v2/ResourceTypes").get_json()["Resources"]
    assert {rt["name"] for rt in served} == set(registry.resource_types)
    endpoints = {rt["endpoint"] for rt in served}
    assert endpoints == {rt.endpoint for rt in registry.resource_types.values()}
    scim = Scim(client, org.token)
    for endpoint in endpoints:
        response = scim.get(endpoint)
        assert response.status_code == 200, (endpoint, response.get_json())
        assert response.get_json()["schemas"] == [LIST]
    collections = {
        rule.rule.removeprefix("/scim/v2/").split("/")[0]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/scim/v2/")
    }
    assert collections - DISCOVERY - ROOT_ENDPOINTS == {e.strip("/") for e in endpoints}
