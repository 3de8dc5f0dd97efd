"""Users CRUD: create, read, PUT, DELETE, attribute projection and Bulk (RFC 7644 §3.3–§3.7, §3.9).

Group ``rfc``; one module per RFC area, registered through ``registry.check``.
"""

from __future__ import annotations

from .common import BULK_REQUEST
from .common import BULK_RESPONSE
from .common import USER
from .common import create_user
from .common import email_values
from .common import eq_filter
from .common import expect_error
from .common import expect_scim_json
from .common import expect_status
from .common import find_users
from .common import get_user
from .common import ids
from .common import patch
from .common import query
from .common import random_id
from .common import tag
from .common import track
from .common import user_body
from .common import user_name
from .registry import Context
from .registry import check
from .registry import expect

G = "rfc"


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
