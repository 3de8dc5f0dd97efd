"""Discovery (RFC 7644 §4) is served from schemas/ and advertises what is enforced."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scim_client import LIST
from tests.scim_client import PRODUCT
from tests.scim_client import Scim
from tests.scim_client import assert_scim_error

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def test_service_provider_config_advertises_enforced_limits(client, app):
    body = client.get("/scim/v2/ServiceProviderConfig").get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"]["supported"] is True
    assert body["filter"] == {"supported": True, "maxResults": app.config["MAX_PAGE_SIZE"]}
    assert body["sort"]["supported"] is True and body["etag"]["supported"] is True
    assert body["changePassword"]["supported"] is False
    assert body["bulk"] == {
        "supported": True,
        "maxOperations": app.config["BULK_MAX_OPERATIONS"],
        "maxPayloadSize": app.config["BULK_MAX_PAYLOAD_BYTES"],
    }
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_count_is_capped_at_the_advertised_max_results(client, org, app):
    app.config["MAX_PAGE_SIZE"] = 2
    scim = Scim(client, org.token)
    for _ in range(3):
        scim.create_user()
    page = scim.get("/Users", query_string={"count": 50}).get_json()
    assert page["totalResults"] == 3 and page["itemsPerPage"] == 2


def test_schemas_are_exactly_the_files(client):
    body = client.get("/scim/v2/Schemas").get_json()
    assert body["schemas"] == [LIST]
    served = {s["id"]: s for s in body["Resources"]}
    for name in ("User.json", "Group.json", "EnterpriseUser.json", "ScimServerUser.json"):
        doc = json.loads((SCHEMAS / name).read_text())
        assert served[doc["id"]]["attributes"] == doc["attributes"]
    assert body["totalResults"] == len(served) == 4
    one = client.get(f"/scim/v2/Schemas/{PRODUCT}").get_json()
    assert all(a["mutability"] == "readOnly" for a in one["attributes"])
    assert one["meta"]["location"].endswith(f"/scim/v2/Schemas/{PRODUCT}")


def test_resource_types(client):
    body = client.get("/scim/v2/ResourceTypes").get_json()
    assert {r["name"] for r in body["Resources"]} == {"User", "Group"}
    user = client.get("/scim/v2/ResourceTypes/User").get_json()
    assert user["endpoint"] == "/Users"
    assert {e["schema"] for e in user["schemaExtensions"]} >= {PRODUCT}
    assert_scim_error(client.get("/scim/v2/ResourceTypes/Nope"), 404)


def test_discovery_endpoints_refuse_writes(client):
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        assert_scim_error(client.post(f"/scim/v2{path}", json={}), 405)
