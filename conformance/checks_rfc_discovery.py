"""Discovery: /ServiceProviderConfig, /ResourceTypes, /Schemas (RFC 7644 §4; RFC 7643 §5–§7).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

from .common import GROUP
from .common import LIST
from .common import RESOURCE_TYPE
from .common import SCHEMA
from .common import SPC
from .common import USER
from .common import expect_list
from .common import expect_scim_json
from .common import is_int
from .registry import Context
from .registry import check
from .registry import expect

G = "rfc"


# =========================================================================== discovery


@check("rfc.discovery.service_provider_config", G, "RFC 7643 §5; RFC 7644 §4")
def spc_required_attributes(ctx: Context) -> None:
    reply = ctx.client.get("/ServiceProviderConfig")
    expect(
        reply.status == 200 and isinstance(reply.body, dict),
        "GET /ServiceProviderConfig should be 200",
        reply,
    )
    expect_scim_json(reply)
    body = reply.body
    expect(SPC in (body.get("schemas") or []), f"schemas must contain {SPC}", reply)
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        entry = body.get(feature)
        expect(
            isinstance(entry, dict) and isinstance(entry.get("supported"), bool),
            f"'{feature}.supported' is REQUIRED and must be a boolean",
            reply,
        )
    for feature, attr in (
        ("bulk", "maxOperations"),
        ("bulk", "maxPayloadSize"),
        ("filter", "maxResults"),
    ):
        expect(
            is_int(body[feature].get(attr)),
            f"'{feature}.{attr}' is REQUIRED and must be an integer",
            reply,
        )
    schemes = body.get("authenticationSchemes")
    expect(
        isinstance(schemes, list) and schemes,
        "'authenticationSchemes' is REQUIRED (non-empty array)",
        reply,
    )
    for scheme in schemes:
        for attr in ("type", "name", "description"):
            expect(
                isinstance(scheme, dict) and isinstance(scheme.get(attr), str) and scheme[attr],
                f"authenticationSchemes[].{attr} is REQUIRED",
                reply,
            )


def _by_key(resources: list, key: str, value: str) -> dict | None:
    return next((r for r in resources if isinstance(r, dict) and r.get(key) == value), None)


@check("rfc.discovery.resource_types", G, "RFC 7644 §4; RFC 7643 §6")
def resource_types(ctx: Context) -> None:
    reply = ctx.client.get("/ResourceTypes")
    resources = expect_list(reply).get("Resources") or []
    for name, endpoint, schema in (("User", "/Users", USER), ("Group", "/Groups", GROUP)):
        rt = _by_key(resources, "name", name)
        expect(rt, f"/ResourceTypes should list the {name} resource type", reply)
        expect(
            rt.get("endpoint") == endpoint and rt.get("schema") == schema,
            f"{name} resource type should have endpoint {endpoint} and schema {schema}",
            reply,
        )
    single = ctx.client.get("/ResourceTypes/User")
    expect(
        single.status == 200 and isinstance(single.body, dict),
        "GET /ResourceTypes/User should be 200",
        single,
    )
    expect(
        LIST not in (single.body.get("schemas") or []) and "Resources" not in single.body,
        "/ResourceTypes/User must be a single ResourceType, not a ListResponse",
        single,
    )
    expect(
        RESOURCE_TYPE in (single.body.get("schemas") or []),
        f"schemas must contain {RESOURCE_TYPE}",
        single,
    )
    expect(
        single.body.get("name") == "User" and single.body.get("endpoint") == "/Users",
        "/ResourceTypes/User should describe the User endpoint",
        single,
    )


@check("rfc.discovery.schemas", G, "RFC 7644 §4; RFC 7643 §7")
def schemas(ctx: Context) -> None:
    reply = ctx.client.get("/Schemas")
    resources = expect_list(reply).get("Resources") or []
    for urn in (USER, GROUP):
        schema = _by_key(resources, "id", urn)
        expect(
            schema and isinstance(schema.get("attributes"), list) and schema["attributes"],
            f"/Schemas should list {urn} with its attributes",
            reply,
        )
    single = ctx.client.get(f"/Schemas/{USER}")
    expect(
        single.status == 200 and isinstance(single.body, dict),
        f"GET /Schemas/{USER} should be 200",
        single,
    )
    expect(
        single.body.get("id") == USER and "Resources" not in single.body,
        "/Schemas/{urn} must return the single schema",
        single,
    )
    attrs = {a.get("name"): a for a in single.body.get("attributes") or [] if isinstance(a, dict)}
    expect(
        "userName" in attrs and attrs["userName"].get("required") is True,
        "the User schema must define userName as required (RFC 7643 §4.1.1)",
        single,
    )


@check(
    "rfc.discovery.post_is_405",
    G,
    "docs/idp-dialects.md §1.7 Okta SCIM 2.0 SPEC test; RFC 7644 §4 (GET only)",
)
def discovery_post_405(ctx: Context) -> None:
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        reply = ctx.client.post(path, {"schemas": [SCHEMA], "id": "urn:conformance:probe"})
        expect(reply.status == 405, f"POST {path} should answer 405 Method Not Allowed", reply)
