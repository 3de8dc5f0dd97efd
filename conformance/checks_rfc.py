"""RFC 7643 / RFC 7644 checks (group ``rfc``)."""

from __future__ import annotations

import datetime as dt
import time

from .common import BULK_REQUEST
from .common import BULK_RESPONSE
from .common import GROUP
from .common import LIST
from .common import RESOURCE_TYPE
from .common import SCHEMA
from .common import SPC
from .common import USER
from .common import create
from .common import create_group
from .common import create_user
from .common import email_values
from .common import eq_filter
from .common import expect_error
from .common import expect_list
from .common import expect_members
from .common import expect_scim_json
from .common import expect_status
from .common import find_users
from .common import get_group
from .common import get_user
from .common import group_name
from .common import ids
from .common import is_int
from .common import patch
from .common import patch_ok
from .common import query
from .common import random_id
from .common import tag
from .common import track
from .common import user_body
from .common import user_name
from .runner import Context
from .runner import check
from .runner import expect
from .runner import fail

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


# =========================================================================== auth & errors


@check("rfc.auth.missing_or_invalid_token_401", G, "RFC 7644 §2, §3.12 (401)")
def invalid_token(ctx: Context) -> None:
    expect_error(
        ctx.client.get("/Users", params={"count": 1}, headers={"Authorization": None}), 401
    )
    bad = {"Authorization": f"Bearer conformance-invalid-{tag()}{tag()}"}
    for path in ("/Users", f"/Users/{random_id()}", "/Groups"):
        expect_error(ctx.client.get(path, headers=bad), 401)


@check(
    "rfc.error.unknown_id_404", G, "RFC 7644 §3.4.1, §3.5.1 (PUT MUST NOT create), §3.5.2, §3.12"
)
def unknown_id(ctx: Context) -> None:
    expect_error(ctx.client.get(f"/Users/{random_id()}"), 404)
    expect_error(ctx.client.get(f"/Groups/{random_id()}"), 404)
    missing = random_id()
    reply = ctx.client.put(f"/Users/{missing}", user_body(tag()))
    track(ctx, reply, "/Users")
    expect_error(reply, 404)
    expect_error(
        patch(ctx, f"/Users/{missing}", {"op": "replace", "path": "nickName", "value": "x"}), 404
    )


@check(
    "rfc.error.invalid_body_400",
    G,
    "RFC 7644 §3.12 (invalidSyntax, invalidValue); RFC 7643 §4.1.1 (userName REQUIRED)",
)
def invalid_body(ctx: Context) -> None:
    reply = ctx.client.request("POST", "/Users", data='{"schemas": ["' + USER + '"], "userName": ')
    track(ctx, reply, "/Users")
    expect_error(reply, 400, "invalidSyntax")
    body = user_body(tag())
    del body["userName"]
    reply = ctx.client.post("/Users", body)
    track(ctx, reply, "/Users")
    expect_error(reply, 400, ("invalidValue", "invalidSyntax"))


@check("rfc.content_type.application_json_accepted", G, "RFC 7644 §3.8; docs/api.md §4")
def application_json(ctx: Context) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    reply = ctx.client.post("/Users", user_body(tag()), headers=headers)
    track(ctx, reply, "/Users")
    expect(
        reply.status == 201,
        "POST with Content-Type/Accept application/json should be accepted (201)",
        reply,
    )
    got = ctx.client.get(f"/Users/{reply.body['id']}", headers={"Accept": "application/json"})
    expect(got.status == 200, "GET with Accept: application/json should answer 200", got)


# =========================================================================== create / read


@check("rfc.create.201_location_and_meta", G, "RFC 7644 §3.3, §3.1; RFC 7643 §3.1")
def create_201(ctx: Context) -> None:
    body = user_body(tag())
    reply = ctx.client.post("/Users", body)
    track(ctx, reply, "/Users")
    expect(reply.status == 201, "POST /Users should answer 201 Created", reply)
    expect_scim_json(reply)
    res = reply.body
    meta = res.get("meta") or {}
    expect(USER in (res.get("schemas") or []), f"schemas should contain {USER}", reply)
    expect(meta.get("resourceType") == "User", "meta.resourceType should be 'User'", reply)
    for attr in ("created", "lastModified", "location"):
        expect(meta.get(attr), f"meta.{attr} should be set", reply)
    expect(
        reply.headers.get("Location") == meta["location"],
        f"Location header ({reply.headers.get('Location')!r}) must equal meta.location",
        reply,
    )
    got = ctx.client.get(meta["location"])
    expect(
        got.status == 200 and got.body.get("id") == res["id"],
        "GET meta.location should return the user",
        got,
    )
    _expect_same_user(got.body, body, got)


def _expect_same_user(got: dict, sent: dict, reply) -> None:
    expect(got.get("userName") == sent["userName"], "userName should read back as sent", reply)
    expect(
        got.get("externalId") == sent["externalId"], "externalId should read back as sent", reply
    )
    expect(
        (got.get("name") or {}).get("givenName") == sent["name"]["givenName"]
        and (got.get("name") or {}).get("familyName") == sent["name"]["familyName"],
        "name.givenName/familyName should read back as sent",
        reply,
    )
    expect(email_values(got) == email_values(sent), "emails should read back as sent", reply)
    expect(got.get("active") is True, "active should read back as true", reply)


@check(
    "rfc.create.read_only_attributes_ignored",
    G,
    "RFC 7644 §3.3 (readOnly SHALL be ignored); RFC 7643 §2.2",
)
def create_read_only_ignored(ctx: Context) -> None:
    t = tag()
    bogus_id = f"conf-bogus-{t}"
    body = user_body(
        t,
        id=bogus_id,
        groups=[{"value": random_id(), "display": "conf"}],
        meta={
            "resourceType": "Group",
            "created": "2001-01-01T00:00:00Z",
            "location": "https://attacker.invalid/Users/x",
        },
    )
    reply = ctx.client.post("/Users", body)
    track(ctx, reply, "/Users")
    expect(reply.status == 201, "POST with read-only id/meta/groups should still answer 201", reply)
    res = get_user(ctx, reply.body["id"])
    expect(res["id"] != bogus_id, "client-supplied id must be ignored", reply)
    meta = res.get("meta") or {}
    expect(
        meta.get("resourceType") == "User"
        and "attacker.invalid" not in str(meta.get("location"))
        and not str(meta.get("created", "")).startswith("2001"),
        f"client-supplied meta must be ignored: {meta}",
    )
    expect(
        not res.get("groups"), f"client-supplied groups must be ignored, got {res.get('groups')}"
    )


@check(
    "rfc.create.duplicate_userName_409_any_case",
    G,
    "RFC 7644 §3.3, §3.12 (uniqueness); RFC 7643 §4.1.1 (userName caseExact=false, uniqueness=server)",
)
def duplicate_user(ctx: Context) -> None:
    t = tag()
    create_user(ctx, t)
    reply = ctx.client.post("/Users", user_body(t, externalId=f"conf-other-{t}"))
    track(ctx, reply, "/Users")
    expect_error(reply, 409, "uniqueness")
    reply = ctx.client.post(
        "/Users", user_body(t, userName=user_name(t).upper(), externalId=f"conf-other-{t}")
    )
    track(ctx, reply, "/Users")
    expect_error(reply, 409, "uniqueness")


# =========================================================================== PUT


@check("rfc.put.replaces_resource", G, "RFC 7644 §3.5.1")
def put_replaces(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    body = user_body(
        t,
        displayName=f"Replaced {t}",
        nickName="replaced",
        name={"givenName": "Replaced", "familyName": "Person"},
    )
    reply = ctx.client.put(f"/Users/{user['id']}", body)
    expect(
        reply.status == 200 and isinstance(reply.body, dict),
        "PUT should answer 200 with the resource",
        reply,
    )
    expect(reply.body.get("id") == user["id"], "PUT must not change the id", reply)
    got = get_user(ctx, user["id"], "after PUT")
    expect(
        got.get("displayName") == f"Replaced {t}"
        and got.get("nickName") == "replaced"
        and (got.get("name") or {}).get("givenName") == "Replaced",
        f"PUT values should be stored, got displayName={got.get('displayName')!r} "
        f"nickName={got.get('nickName')!r} name={got.get('name')!r}",
    )


# =========================================================================== PATCH


def _patched_user(ctx: Context, uid: str, *ops: dict) -> dict:
    reply = patch_ok(ctx, f"/Users/{uid}", *ops)
    got = get_user(ctx, uid, "after PATCH")
    if reply.status == 200:
        expect(
            reply.body.get("userName") == got.get("userName"),
            "a 200 PATCH response must carry the entire resource",
            reply,
        )
    return got


@check(
    "rfc.patch.add_with_path",
    G,
    "RFC 7644 §3.5.2.1 (single-valued; multi-valued appends)",
    requires="patch",
)
def patch_add_path(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    got = _patched_user(ctx, user["id"], {"op": "add", "path": "nickName", "value": "Addy"})
    expect(got.get("nickName") == "Addy", f"nickName should be 'Addy', got {got.get('nickName')!r}")
    home = f"home-{t}@example.org"
    got = _patched_user(
        ctx, user["id"], {"op": "add", "path": "emails", "value": [{"value": home, "type": "home"}]}
    )
    expect(
        set(email_values(got)) == {user_name(t), home},
        f"add to multi-valued emails should append (work and home), got {email_values(got)}",
    )


@check("rfc.patch.add_without_path", G, "RFC 7644 §3.5.2.1", requires="patch")
def patch_add_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "add", "value": {"nickName": "Nick", "title": "Tester"}}
    )
    expect(
        got.get("nickName") == "Nick" and got.get("title") == "Tester",
        f"nickName/title should be set, got {got.get('nickName')!r}/{got.get('title')!r}",
    )


@check("rfc.patch.replace_with_path", G, "RFC 7644 §3.5.2.3", requires="patch")
def patch_replace_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "path": "name.givenName", "value": "Rita"}
    )
    name = got.get("name") or {}
    expect(name.get("givenName") == "Rita", f"name.givenName should be 'Rita', got {name}")
    expect(
        name.get("familyName") == user["name"]["familyName"],
        f"name.familyName must be unchanged, got {name}",
    )


@check("rfc.patch.replace_without_path", G, "RFC 7644 §3.5.2.3", requires="patch")
def patch_replace_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "value": {"displayName": "Whole New", "nickName": "wn"}}
    )
    expect(
        got.get("displayName") == "Whole New" and got.get("nickName") == "wn",
        f"displayName/nickName should be replaced, got {got.get('displayName')!r}/{got.get('nickName')!r}",
    )
    expect(got.get("userName") == user["userName"], "attributes not named must be unchanged")


@check(
    "rfc.patch.replace_complex_keeps_other_sub_attributes",
    G,
    "RFC 7644 §3.5.2.3 (sub-attributes not specified are left unchanged)",
    requires="patch",
)
def patch_replace_complex(ctx: Context) -> None:
    user = create_user(ctx)
    got = _patched_user(
        ctx, user["id"], {"op": "replace", "path": "name", "value": {"givenName": "Only"}}
    )
    name = got.get("name") or {}
    expect(
        name.get("givenName") == "Only" and name.get("familyName") == user["name"]["familyName"],
        f"replace on 'name' with only givenName must keep familyName, got {name}",
    )


@check(
    "rfc.patch.remove_with_path",
    G,
    "RFC 7644 §3.5.2.2 (attribute path; valuePath filter)",
    requires="patch",
)
def patch_remove_path(ctx: Context) -> None:
    t = tag()
    emails = [
        {"value": user_name(t), "type": "work", "primary": True},
        {"value": f"h-{t}@example.org", "type": "home"},
    ]
    user = create_user(ctx, t, nickName="Gone", title="Stays", emails=emails)
    got = _patched_user(ctx, user["id"], {"op": "remove", "path": "nickName"})
    expect(
        got.get("nickName") in (None, ""),
        f"nickName should be removed, got {got.get('nickName')!r}",
    )
    expect(got.get("title") == "Stays", "other attributes must be unchanged")
    got = _patched_user(ctx, user["id"], {"op": "remove", "path": 'emails[type eq "home"]'})
    expect(
        email_values(got) == [user_name(t)],
        f"only the home email should be removed, got {got.get('emails')}",
    )


@check(
    "rfc.patch.remove_without_path_400_noTarget",
    G,
    "RFC 7644 §3.5.2.2, §3.12 (noTarget)",
    requires="patch",
)
def patch_remove_no_path(ctx: Context) -> None:
    user = create_user(ctx)
    expect_error(patch(ctx, f"/Users/{user['id']}", {"op": "remove"}), 400, "noTarget")


@check("rfc.patch.atomic", G, "RFC 7644 §3.5.2 (PATCH is atomic)", requires="patch")
def patch_atomic(ctx: Context) -> None:
    user = create_user(ctx, nickName="Before")
    reply = patch(
        ctx,
        f"/Users/{user['id']}",
        {"op": "replace", "path": "nickName", "value": "After"},
        {"op": "remove"},
    )
    expect(
        reply.status == 400, "a PATCH whose second operation is invalid should answer 400", reply
    )
    got = get_user(ctx, user["id"], "after the failed PATCH")
    expect(
        got.get("nickName") == "Before",
        f"a failed PATCH must change nothing: nickName is now {got.get('nickName')!r}",
    )


# =========================================================================== ETags


def _etag_user(ctx: Context) -> tuple[dict, str]:
    user = create_user(ctx)
    reply = ctx.client.get(f"/Users/{user['id']}")
    etag = reply.headers.get("ETag")
    expect(
        reply.status == 200 and etag,
        "GET of a resource must carry an ETag header when etag is supported",
        reply,
    )
    return reply.body, etag


@check(
    "rfc.etag.header_and_if_none_match",
    G,
    "RFC 7644 §3.14 (ETag header, If-None-Match: 304); RFC 7643 §3.1 (meta.version)",
    requires="etag",
)
def etag_header(ctx: Context) -> None:
    body, etag = _etag_user(ctx)
    version = (body.get("meta") or {}).get("version")
    expect(version == etag, f"ETag header {etag!r} should equal meta.version {version!r}")
    reply = ctx.client.get(f"/Users/{body['id']}", headers={"If-None-Match": etag})
    expect(reply.status == 304, "GET with a matching If-None-Match should answer 304", reply)


@check(
    "rfc.etag.if_match",
    G,
    "RFC 7644 §3.14 (If-Match; 412 Precondition Failed)",
    requires=("etag", "patch"),
)
def etag_if_match(ctx: Context) -> None:
    body, etag = _etag_user(ctx)
    path = f"/Users/{body['id']}"
    op = {"op": "replace", "path": "nickName", "value": "etagged"}
    stale = patch(ctx, path, op, headers={"If-Match": 'W/"conformance-stale"'})
    expect_error(stale, 412)
    expect(
        get_user(ctx, body["id"]).get("nickName") != "etagged", "a 412 update must not be applied"
    )
    fresh = patch(ctx, path, op, headers={"If-Match": etag})
    expect(
        fresh.status in (200, 204), "PATCH with the current ETag in If-Match should succeed", fresh
    )
    after = ctx.client.get(path)
    expect(
        after.headers.get("ETag") and after.headers.get("ETag") != etag,
        "the ETag must change when the resource changes",
        after,
    )


# =========================================================================== DELETE


@check("rfc.delete.204_then_404", G, "RFC 7644 §3.6")
def delete_user(ctx: Context) -> None:
    user = create_user(ctx)
    path = f"/Users/{user['id']}"
    reply = ctx.client.delete(path)
    expect(reply.status == 204, "DELETE should answer 204 No Content", reply)
    expect_error(ctx.client.get(path), 404)
    expect_error(ctx.client.delete(path), 404)
    expect_error(ctx.client.put(path, user_body(tag())), 404)
    expect_error(patch(ctx, path, {"op": "replace", "path": "nickName", "value": "x"}), 404)


@check(
    "rfc.delete.omitted_from_queries",
    G,
    "RFC 7644 §3.6 (MUST be omitted from queries)",
    requires="filter",
)
def delete_omitted(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    expect_status(ctx.client.delete(f"/Users/{user['id']}"), 204, what="DELETE")
    by_name = query(ctx, "/Users", eq_filter("userName", user["userName"]))
    expect(
        by_name["totalResults"] == 0,
        f"deleted user still returned by filter: {ids(by_name.get('Resources') or [])}",
    )
    by_prefix = find_users(ctx, f'userName sw "conf-{t}"', count=100)
    expect(user["id"] not in ids(by_prefix), "deleted user still returned by a sw filter")


# =========================================================================== filters


def _users(ctx: Context, t: str, labels: str, **per_label: dict) -> dict[str, dict]:
    return {label: create_user(ctx, t, label, **per_label.get(label, {})) for label in labels}


def _matched(ctx: Context, filter_: str) -> set[str]:
    body = query(ctx, "/Users", filter_, count=100)
    resources = body.get("Resources") or []
    expect(
        body["totalResults"] == len(resources),
        f"filter {filter_!r}: totalResults {body['totalResults']} != {len(resources)} resources returned",
    )
    return set(ids(resources))


def _expect_match(ctx: Context, filter_: str, users: dict[str, dict], labels: str) -> None:
    want = {users[label]["id"] for label in labels}
    got = _matched(ctx, filter_)
    names = {u["id"]: label for label, u in users.items()}
    if got != want:
        fail(
            f"filter {filter_!r} should match {sorted(labels) or 'nothing'}, "
            f"got {sorted(names.get(i, i) for i in got) or 'nothing'}"
        )


def _scope(t: str) -> str:
    return f'userName sw "conf-{t}-"'


@check("rfc.filter.eq", G, "RFC 7644 §3.4.2.2 (eq)", requires="filter")
def filter_eq(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, eq_filter("userName", users["a"]["userName"]), users, "a")
    _expect_match(ctx, eq_filter("externalId", users["b"]["externalId"]), users, "b")


@check(
    "rfc.filter.eq_userName_case_insensitive",
    G,
    "RFC 7644 §3.4.2.2 (names/operators case-insensitive; caseExact); RFC 7643 §4.1.1",
    requires="filter",
)
def filter_case(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, eq_filter("userName", users["a"]["userName"].upper()), users, "a")
    _expect_match(ctx, f'USERNAME EQ "{users["a"]["userName"]}"', users, "a")


@check(
    "rfc.filter.externalId_case_exact",
    G,
    "RFC 7643 §3.1 (externalId caseExact=true); RFC 7644 §3.4.2.2",
    requires="filter",
)
def filter_external_case(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "a")
    _expect_match(ctx, eq_filter("externalId", users["a"]["externalId"].upper()), users, "")


@check("rfc.filter.ne_co_sw_ew", G, "RFC 7644 §3.4.2.2 (ne, co, sw, ew)", requires="filter")
def filter_string_ops(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "ab")
    _expect_match(ctx, f'{_scope(t)} and userName ne "{users["a"]["userName"]}"', users, "b")
    _expect_match(ctx, f'userName co "{t}-b@"', users, "b")
    _expect_match(ctx, _scope(t), users, "ab")
    _expect_match(ctx, f'externalId sw "conf-ext-{t}-b"', users, "b")
    _expect_match(ctx, f'userName ew "{t}-b@example.com"', users, "b")


@check("rfc.filter.pr", G, "RFC 7644 §3.4.2.2 (pr)", requires="filter")
def filter_pr(ctx: Context) -> None:
    t = tag()
    users = {"a": create_user(ctx, t, "a")}
    body = user_body(t, "b")
    del body["externalId"]
    users["b"] = create(ctx, "/Users", body)
    _expect_match(ctx, f"{_scope(t)} and externalId pr", users, "a")


@check(
    "rfc.filter.gt_ge_lt_le_string",
    G,
    "RFC 7644 §3.4.2.2 (gt ge lt le, lexicographic)",
    requires="filter",
)
def filter_ordering_strings(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "abc")
    b = users["b"]["userName"]
    for op, labels in (("gt", "c"), ("ge", "bc"), ("lt", "a"), ("le", "ab")):
        _expect_match(ctx, f'{_scope(t)} and userName {op} "{b}"', users, labels)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _two_timed_users(ctx: Context, t: str) -> dict[str, dict]:
    a = create_user(ctx, t, "a")
    time.sleep(1.2)
    b = create_user(ctx, t, "b")
    users = {"a": get_user(ctx, a["id"]), "b": get_user(ctx, b["id"])}
    ta, tb = (_parse_time(users[x]["meta"]["lastModified"]) for x in "ab")
    expect(ta < tb, f"meta.lastModified should increase between creates 1.2 s apart: {ta} vs {tb}")
    return users


@check(
    "rfc.filter.gt_ge_lt_le_meta_lastModified",
    G,
    "RFC 7644 §3.4.2.2 (gt ge lt le on dateTime; ge/le include equality)",
    requires="filter",
)
def filter_last_modified(ctx: Context) -> None:
    t = tag()
    users = _two_timed_users(ctx, t)
    stamp = {x: users[x]["meta"]["lastModified"] for x in "ab"}
    ta, tb = (_parse_time(stamp[x]) for x in "ab")
    mid = (ta + (tb - ta) / 2).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified gt "{mid}"', users, "b")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified lt "{mid}"', users, "a")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified ge "{stamp["b"]}"', users, "b")
    _expect_match(ctx, f'{_scope(t)} and meta.lastModified le "{stamp["a"]}"', users, "a")


@check(
    "rfc.filter.logical_operators",
    G,
    "RFC 7644 §3.4.2.2 (and, or, not, grouping, order of operations)",
    requires="filter",
)
def filter_logical(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "abc")
    a, b = users["a"]["userName"], users["b"]["userName"]
    ext_b = users["b"]["externalId"]
    _expect_match(ctx, f'userName eq "{a}" or userName eq "{b}"', users, "ab")
    _expect_match(ctx, f'{_scope(t)} and externalId eq "{users["c"]["externalId"]}"', users, "c")
    _expect_match(ctx, f'{_scope(t)} and not (userName eq "{a}")', users, "bc")
    _expect_match(
        ctx, f'(userName eq "{a}" or userName eq "{b}") and externalId eq "{ext_b}"', users, "b"
    )
    # "and" binds tighter than "or": a or (b and nomatch) -> a
    _expect_match(
        ctx,
        f'userName eq "{a}" or userName eq "{b}" and externalId eq "conf-nomatch-{t}"',
        users,
        "a",
    )


@check(
    "rfc.filter.value_path_and_sub_attribute",
    G,
    "RFC 7644 §3.4.2.2 (valuePath, emails.value)",
    requires="filter",
)
def filter_value_path(ctx: Context) -> None:
    t = tag()
    users = _users(
        ctx, t, "ab", b={"emails": [{"value": f"b-{t}@home.example.org", "type": "home"}]}
    )
    _expect_match(ctx, f'emails[type eq "work" and value co "{t}"]', users, "a")
    _expect_match(ctx, f'emails[type eq "home" and value co "{t}"]', users, "b")
    _expect_match(ctx, f'emails.value eq "b-{t}@home.example.org"', users, "b")


@check(
    "rfc.filter.invalid_400_invalidFilter",
    G,
    "RFC 7644 §3.4.2.2, §3.12 (invalidFilter)",
    requires="filter",
)
def filter_invalid(ctx: Context) -> None:
    for bad in (
        "userName eq",
        'userName regex "conf"',
        '(userName eq "conf"',
        'userName eq "conf" and',
    ):
        expect_error(ctx.client.get("/Users", params={"filter": bad}), 400, "invalidFilter")


@check(
    "rfc.filter.unknown_attribute_400_invalidFilter",
    G,
    "RFC 7644 §3.12 (invalidFilter: attribute/comparison not supported)",
    requires="filter",
)
def filter_unknown_attribute(ctx: Context) -> None:
    reply = ctx.client.get("/Users", params={"filter": f'conformanceNoSuchAttribute{tag()} eq "x"'})
    expect_error(reply, 400, "invalidFilter")


# =========================================================================== pagination & sorting


def _five_users(ctx: Context) -> tuple[str, set[str]]:
    t = tag()
    users = _users(ctx, t, "abcde")
    return _scope(t), {u["id"] for u in users.values()}


def _page(ctx: Context, filter_: str, start: int, count: int) -> dict:
    return query(ctx, "/Users", filter_, startIndex=start, count=count)


def _walk(ctx: Context, filter_: str, count: int, total: int) -> list[str]:
    seen: list[str] = []
    for start in range(1, total + 1, count):
        body = _page(ctx, filter_, start, count)
        page = ids(body.get("Resources") or [])
        expect(
            body["totalResults"] == total,
            f"totalResults should be {total} on every page, got {body['totalResults']}",
        )
        expect(
            body.get("startIndex") == start,
            f"startIndex should echo {start}, got {body.get('startIndex')}",
        )
        expect(
            body.get("itemsPerPage") == len(page),
            f"itemsPerPage {body.get('itemsPerPage')} != {len(page)} returned",
        )
        expect(
            len(page) == min(count, total - start + 1),
            f"page at startIndex={start} count={count} should hold {min(count, total - start + 1)}, got {len(page)}",
        )
        seen += page
    return seen


@check(
    "rfc.page.stable_order_across_pages",
    G,
    "RFC 7644 §3.4.2.4; docs/idp-dialects.md §1.2 (Okta: stable ordering)",
    requires="filter",
)
def page_stable(ctx: Context) -> None:
    scope, mine = _five_users(ctx)
    by_two = _walk(ctx, scope, 2, 5)
    expect(
        sorted(by_two) == sorted(mine),
        f"paging with count=2 should return each user exactly once, got {by_two}",
    )
    by_three = _walk(ctx, scope, 3, 5)
    expect(
        by_three == by_two, "ordering must be the same whatever the page size (count=2 vs count=3)"
    )


@check("rfc.page.start_index_and_count", G, "RFC 7644 §3.4.2.4", requires="filter")
def page_arithmetic(ctx: Context) -> None:
    scope, _ = _five_users(ctx)
    full = ids(_page(ctx, scope, 1, 10).get("Resources") or [])
    expect(len(full) == 5, f"count=10 should return all 5 users, got {len(full)}")
    middle = _page(ctx, scope, 2, 2)
    expect(
        ids(middle.get("Resources") or []) == full[1:3],
        "startIndex=2&count=2 should return items 2-3 of the set",
    )
    last = _page(ctx, scope, 5, 2)
    expect(
        ids(last.get("Resources") or []) == full[4:],
        "startIndex=5&count=2 should return only the 5th item",
    )
    beyond = _page(ctx, scope, 9, 2)
    expect(
        beyond["totalResults"] == 5 and not beyond.get("Resources"),
        f"startIndex past the end should return no resources and totalResults 5: {beyond}",
    )


@check(
    "rfc.page.out_of_range_values",
    G,
    "RFC 7644 §3.4.2.4 (startIndex < 1 is 1; count=0 returns only totalResults; negative count is 0)",
    requires="filter",
)
def page_edge_values(ctx: Context) -> None:
    scope, _ = _five_users(ctx)
    first = ids(_page(ctx, scope, 1, 2).get("Resources") or [])
    for start in (0, -3):
        body = _page(ctx, scope, start, 2)
        expect(
            body.get("startIndex") == 1,
            f"startIndex={start} should be answered as 1, got {body.get('startIndex')}",
        )
        expect(
            ids(body.get("Resources") or []) == first,
            f"startIndex={start} should return the first page",
        )
    for count in (0, -1):
        body = _page(ctx, scope, 1, count)
        expect(
            body["totalResults"] == 5,
            f"count={count}: totalResults should be 5, got {body['totalResults']}",
        )
        expect(
            not body.get("Resources"),
            f"count={count} should return no resources, got {len(body.get('Resources') or [])}",
        )
        expect(body.get("itemsPerPage", 0) == 0, f"count={count}: itemsPerPage should be 0")


def _sorted_labels(ctx: Context, scope: str, users: dict, **params: str) -> list[str]:
    label = {u["id"]: k for k, u in users.items()}
    body = query(ctx, "/Users", scope, count=10, **params)
    return [label.get(i, "?") for i in ids(body.get("Resources") or [])]


@check("rfc.sort.sortBy_sortOrder", G, "RFC 7644 §3.4.2.3", requires=("sort", "filter"))
def sort_users(ctx: Context) -> None:
    t = tag()
    users = _users(ctx, t, "cab")
    got = _sorted_labels(ctx, _scope(t), users, sortBy="userName")
    expect(
        got == ["a", "b", "c"],
        f"sortBy=userName should order a,b,c (ascending by default), got {got}",
    )
    got = _sorted_labels(ctx, _scope(t), users, sortBy="userName", sortOrder="descending")
    expect(
        got == ["c", "b", "a"],
        f"sortBy=userName&sortOrder=descending should order c,b,a, got {got}",
    )


# =========================================================================== attribute projection


@check(
    "rfc.attributes.attributes_parameter",
    G,
    "RFC 7644 §3.4.2.5, §3.9, §3.10; RFC 7643 §7 (id returned always)",
)
def attributes_param(ctx: Context) -> None:
    user = create_user(ctx)
    got = get_user(ctx, f"{user['id']}?attributes=userName")
    expect(
        got.get("id") == user["id"] and got.get("userName") == user["userName"],
        f"attributes=userName should return id and userName, got keys {sorted(got)}",
    )
    leaked = [k for k in ("emails", "name", "displayName", "externalId") if k in got]
    expect(
        not leaked,
        f"attributes=userName should return only the requested attributes, also got {leaked}",
    )
    sub = get_user(ctx, f"{user['id']}?attributes=name.givenName")
    expect(
        (sub.get("name") or {}).get("givenName") and "familyName" not in (sub.get("name") or {}),
        f"attributes=name.givenName should return only that sub-attribute, got name={sub.get('name')}",
    )
    listed = query(ctx, "/Users", eq_filter("userName", user["userName"]), attributes="userName")
    res = (listed.get("Resources") or [{}])[0]
    expect(
        res.get("id") == user["id"] and "emails" not in res,
        f"attributes=userName on a query should project each resource, got keys {sorted(res)}",
    )


@check(
    "rfc.attributes.excludedAttributes_parameter",
    G,
    "RFC 7644 §3.4.2.5; RFC 7643 §7 (returned always)",
)
def excluded_attributes(ctx: Context) -> None:
    user = create_user(ctx)
    got = get_user(ctx, f"{user['id']}?excludedAttributes=emails,name")
    expect(
        "emails" not in got and "name" not in got,
        f"emails and name should be excluded, got keys {sorted(got)}",
    )
    expect(
        got.get("userName") == user["userName"], "attributes not excluded should still be returned"
    )
    keep_id = get_user(ctx, f"{user['id']}?excludedAttributes=id")
    expect(keep_id.get("id") == user["id"], "id is returned always, even when excluded")


@check("rfc.attributes.password_never_returned", G, "RFC 7643 §4.1.1 (password returned=never)")
def password_never_returned(ctx: Context) -> None:
    t = tag()
    reply = ctx.client.post("/Users", user_body(t, password=f"Pw-{t}-secret!"))
    track(ctx, reply, "/Users")
    expect(reply.status == 201, "POST with a password should answer 201", reply)
    uid = reply.body["id"]
    expect("password" not in reply.body, "the POST response must not contain the password", reply)
    for path in (f"/Users/{uid}", f"/Users/{uid}?attributes=password,userName"):
        got = ctx.client.get(path)
        expect(
            got.status == 200 and "password" not in (got.body or {}) and f"Pw-{t}" not in got.text,
            "GET must never return the password",
            got,
        )
    listed = ctx.client.get("/Users", params={"filter": eq_filter("userName", user_name(t))})
    expect(
        f"Pw-{t}" not in listed.text and '"password"' not in listed.text,
        "queries must never return the password",
        listed,
    )


# =========================================================================== groups


@check("rfc.groups.create_get_filter", G, "RFC 7644 §3.3, §3.4.1, §3.4.2.2; RFC 7643 §4.2")
def group_create(ctx: Context) -> None:
    t = tag()
    user = create_user(ctx, t)
    reply = ctx.client.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": group_name(t), "members": [{"value": user["id"]}]},
    )
    track(ctx, reply, "/Groups")
    expect(reply.status == 201, "POST /Groups should answer 201", reply)
    meta = reply.body.get("meta") or {}
    expect(meta.get("resourceType") == "Group", "meta.resourceType should be 'Group'", reply)
    expect(
        reply.headers.get("Location") == meta.get("location"),
        "Location header must equal meta.location",
        reply,
    )
    group = get_group(ctx, reply.body["id"])
    expect(group.get("displayName") == group_name(t), "displayName should read back as sent")
    expect_members(ctx, group["id"], [user["id"]], "create with members")
    if ctx.features.supported("filter"):
        body = query(ctx, "/Groups", eq_filter("displayName", group_name(t)))
        expect(
            ids(body.get("Resources") or []) == [group["id"]] and body["totalResults"] == 1,
            f"displayName eq should find exactly the group, got {ids(body.get('Resources') or [])}",
        )


@check(
    "rfc.groups.duplicate_displayName_other_case_409",
    G,
    "docs/idp-dialects.md §5 (Entra requires unique displayName; RFC 7643 §4.2 leaves uniqueness to the server); "
    "RFC 7644 §3.3",
)
def group_duplicate_case(ctx: Context) -> None:
    group = create_group(ctx)
    reply = ctx.client.post(
        "/Groups", {"schemas": [GROUP], "displayName": group["displayName"].upper()}
    )
    track(ctx, reply, "/Groups")
    expect_error(reply, 409, "uniqueness")


@check("rfc.groups.patch_members_add_remove", G, "RFC 7644 §3.5.2.1, §3.5.2.2", requires="patch")
def group_members(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t)
    path = f"/Groups/{group['id']}"
    patch_ok(
        ctx,
        path,
        {"op": "add", "path": "members", "value": [{"value": u1["id"]}, {"value": u2["id"]}]},
    )
    expect_members(ctx, group["id"], [u1["id"], u2["id"]], "adding two members")
    patch_ok(ctx, path, {"op": "remove", "path": f'members[value eq "{u1["id"]}"]'})
    expect_members(ctx, group["id"], [u2["id"]], "removing one member by filter")


@check("rfc.groups.put_replaces", G, "RFC 7644 §3.5.1")
def group_put(ctx: Context) -> None:
    t = tag()
    u1, u2 = create_user(ctx, t, "a"), create_user(ctx, t, "b")
    group = create_group(ctx, t, members=[u1["id"]])
    reply = ctx.client.put(
        f"/Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "displayName": group_name(t, "renamed"),
            "members": [{"value": u2["id"]}],
        },
    )
    expect(reply.status == 200, "PUT /Groups/{id} should answer 200", reply)
    got = get_group(ctx, group["id"])
    expect(
        got.get("displayName") == group_name(t, "renamed"),
        f"displayName should be replaced, got {got.get('displayName')!r}",
    )
    expect_members(ctx, group["id"], [u2["id"]], "PUT with a new member list")


@check("rfc.groups.delete_204_then_404", G, "RFC 7644 §3.6")
def group_delete(ctx: Context) -> None:
    group = create_group(ctx)
    path = f"/Groups/{group['id']}"
    expect_status(ctx.client.delete(path), 204, what="DELETE group")
    expect_error(ctx.client.get(path), 404)
    expect_error(ctx.client.delete(path), 404)
    body = query(ctx, "/Groups", eq_filter("displayName", group["displayName"]))
    expect(body["totalResults"] == 0, "a deleted group must be omitted from queries")


# =========================================================================== bulk


@check("rfc.bulk.create_user", G, "RFC 7644 §3.7", requires="bulk")
def bulk_create(ctx: Context) -> None:
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "conf1", "data": user_body(tag())}
        ],
    }
    reply = ctx.client.post("/Bulk", body)
    expect(
        reply.status == 200 and isinstance(reply.body, dict), "POST /Bulk should answer 200", reply
    )
    ops = reply.body.get("Operations") or [{}]
    location = ops[0].get("location")
    if isinstance(location, str) and location:
        ctx.delete_later(location)
    expect(
        BULK_RESPONSE in (reply.body.get("schemas") or []),
        f"schemas must contain {BULK_RESPONSE}",
        reply,
    )
    expect(
        str(ops[0].get("status")) == "201" and location,
        "the bulk POST operation should report 201 and a location",
        reply,
    )
    expect(
        ctx.client.get(location).status == 200,
        "the bulk-created user should be readable at its location",
    )
