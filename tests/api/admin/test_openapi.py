"""The OpenAPI document (docs/api.md §6): served, complete, consistent, valid.

(1) ``GET /api/v1/openapi.json`` needs no key and answers the 3.1 document.
(2) Drift: every route Flask serves under /scim/v2 and /api/v1 is documented, and nothing
    else is; each operation's security matches what the route enforces.
(3) Every operation has a unique operationId and responses; every ``$ref`` resolves.
(4) The document validates against the OpenAPI 3.1 schema (if openapi-spec-validator is
    installed).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import scim_server
from tests.conftest import PLATFORM_KEY

DOCUMENT_PATH = Path(scim_server.__file__).resolve().parent / "openapi.json"
PYPROJECT = Path(scim_server.__file__).resolve().parents[1] / "pyproject.toml"
OPENAPI_ROUTE = "/api/v1/openapi.json"
PREFIXES = ("/scim/v2/", "/api/v1/")
METHODS = ("get", "put", "post", "patch", "delete")
_CONVERTER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def served_routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every route Flask serves under the two API prefixes."""
    served = set()
    for rule in app.url_map.iter_rules():
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        if not path.startswith(PREFIXES) or path == OPENAPI_ROUTE:
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            served.add((path, method.lower()))
    return served


def documented_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, method, _ in operations(doc) if path != OPENAPI_ROUTE}


def _listing(pairs: set[tuple[str, str]]) -> str:
    return "\n".join(f"  {method.upper():6} {path}" for path, method in sorted(pairs))


# --- (1) served --------------------------------------------------------------------------


def test_document_is_served_without_authentication(client, document):
    response = client.get(OPENAPI_ROUTE)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["openapi"] == "3.1.0"
    assert body == document


def test_info_version_is_the_package_version(document):
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert document["info"]["title"] == project["name"]
    assert document["info"]["version"] == project["version"]


# --- (2) drift against the routes ---------------------------------------------------------


def test_every_served_route_is_documented_and_nothing_else(app, document):
    served, documented = served_routes(app), documented_routes(document)
    missing, extra = served - documented, documented - served
    assert not missing and not extra, (
        "openapi.json and the Flask routes disagree.\n"
        f"Served but not documented ({len(missing)}):\n{_listing(missing) or '  -'}\n"
        f"Documented but not served ({len(extra)}):\n{_listing(extra) or '  -'}"
    )


def _schemes(op: dict[str, Any]) -> set[str]:
    return {name for requirement in op.get("security", [{}]) for name in requirement}


def _url(path: str, org_id: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: org_id if m.group(1) == "org_id" else "x", path)


def test_security_and_statuses_match_the_routes(client, document, org):
    """Probe every operation without credentials, then with each credential it accepts.

    Documented ``security: []`` answers without a token; anything else is 401 without one.
    Operations documented as platform-key only refuse an org management key with
    ``platform_key_required``; the others never do. Every status seen is documented.
    """
    bearer = {
        "scimToken": org.token,
        "managementKey": org.management_key,
        "platformKey": PLATFORM_KEY,
    }
    problems = []
    for path, method, op in operations(document):
        if path == OPENAPI_ROUTE:
            continue
        where = f"{method.upper()} {path}"
        url = _url(path, org.id)
        schemes = _schemes(op)
        anonymous = client.open(url, method=method.upper())
        if not schemes and anonymous.status_code == 401:
            problems.append(f"{where}: documented without security, got 401")
        if schemes and anonymous.status_code != 401:
            problems.append(f"{where}: no credentials got {anonymous.status_code}, not 401")
        keys = ["managementKey", "platformKey"] if path.startswith("/api/v1/") else ["scimToken"]
        for scheme in keys:
            response = client.open(
                url, method=method.upper(), headers={"Authorization": f"Bearer {bearer[scheme]}"}
            )
            if str(response.status_code) not in op["responses"]:
                problems.append(f"{where}: {scheme} got {response.status_code}, not documented")
            if scheme != "managementKey":
                continue
            code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
            if schemes == {"platformKey"} and code != "platform_key_required":
                problems.append(f"{where}: platform-key only, yet an org key got {code!r}")
            if schemes != {"platformKey"} and code == "platform_key_required":
                problems.append(f"{where}: an org key is refused; document platformKey only")
    assert not problems, "\n".join(problems)


# --- (3) internal consistency -------------------------------------------------------------


def test_operations_have_unique_ids_tags_and_responses(document):
    ids: dict[str, str] = {}
    tags = {t["name"] for t in document["tags"]}
    problems = []
    for path, method, op in operations(document):
        where = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            problems.append(f"{where}: no operationId")
        elif op_id in ids:
            problems.append(f"{where}: operationId {op_id} also used by {ids[op_id]}")
        else:
            ids[op_id] = where
        if not op.get("responses"):
            problems.append(f"{where}: no responses")
        if not op.get("summary"):
            problems.append(f"{where}: no summary")
        if not op.get("tags") or not set(op["tags"]) <= tags:
            problems.append(f"{where}: tags {op.get('tags')} not among {sorted(tags)}")
    assert not problems, "\n".join(problems)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for token in pointer.removeprefix("#/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_resolves_and_every_component_is_used(document):
    refs = set(_refs(document))
    unresolved = []
    for pointer in sorted(refs):
        try:
            assert pointer.startswith("#/")
            _resolve(document, pointer)
        except (AssertionError, KeyError, TypeError):
            unresolved.append(pointer)
    assert not unresolved, f"Unresolved $ref: {unresolved}"
    unused = [
        f"#/components/{kind}/{name}"
        for kind, entries in document["components"].items()
        if kind != "securitySchemes"
        for name in entries
        if f"#/components/{kind}/{name}" not in refs
    ]
    assert not unused, f"Components nothing refers to: {unused}"


def test_path_parameters_match_the_templates(document):
    problems = []
    for path, method, op in operations(document):
        declared = {
            p["name"]
            for p in (
                _resolve(document, p["$ref"]) if "$ref" in p else p
                for p in op.get("parameters", [])
            )
            if p["in"] == "path"
        }
        wanted = set(re.findall(r"\{([^}]+)\}", path))
        if declared != wanted:
            problems.append(f"{method.upper()} {path}: declares {sorted(declared)}")
    assert not problems, "\n".join(problems)


# --- (4) the OpenAPI 3.1 schema -----------------------------------------------------------


def test_document_validates_against_openapi_3_1(document):
    validator = pytest.importorskip(
        "openapi_spec_validator",
        reason="openapi-spec-validator is not installed (pip install openapi-spec-validator)",
    )
    validator.validate(document)


def test_real_responses_match_their_schemas(client, document, org):
    """Bodies of a few representative operations validate against the documented schemas."""
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (comes with openapi-spec-validator)"
    )
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT202012

    registry = referencing.Registry().with_resource(
        "urn:openapi", referencing.Resource(contents=document, specification=DRAFT202012)
    )

    def errors(schema: str, body: Any) -> list[str]:
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"urn:openapi#/components/schemas/{schema}"}, registry=registry
        )
        return [
            f"{schema} at {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)
        ]

    scim = {"Authorization": f"Bearer {org.token}"}
    mgmt = {"Authorization": f"Bearer {org.management_key}"}
    user = client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen@example.com",
            "emails": [{"value": "bjensen@example.com", "primary": True}],
        },
        headers=scim,
    )
    assert user.status_code == 201
    user_id = user.get_json()["id"]
    group = client.post(
        "/scim/v2/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Staff",
            "members": [{"value": user_id}],
        },
        headers=scim,
    )
    duplicate = client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen@example.com",
        },
        headers=scim,
    )
    assert duplicate.status_code == 409
    org_url = f"/api/v1/organizations/{org.id}"
    members = client.get(f"{org_url}/members", headers=mgmt).get_json()
    person = members["members"][0]["user_id"]
    checks = [
        ("ScimUser", user.get_json()),
        ("ScimGroup", group.get_json()),
        ("ScimUserListResponse", client.get("/scim/v2/Users", headers=scim).get_json()),
        ("ScimError", duplicate.get_json()),
        ("Organization", client.get(org_url, headers=mgmt).get_json()),
        ("Seats", client.get(f"{org_url}/seats", headers=mgmt).get_json()),
        ("MemberPage", members),
        (
            "Member",
            client.post(
                f"{org_url}/members/{person}/disable",
                json={"reason": "audit"},
                headers={**mgmt, "X-Acting-User": "key"},
            ).get_json(),
        ),
        ("EventPage", client.get(f"{org_url}/events", headers=mgmt).get_json()),
        ("RoleList", client.get(f"{org_url}/roles", headers=mgmt).get_json()),
        ("ApiError", client.get(f"{org_url}/members/nobody", headers=mgmt).get_json()),
    ]
    problems = [problem for schema, body in checks for problem in errors(schema, body)]
    assert not problems, "\n".join(problems)
