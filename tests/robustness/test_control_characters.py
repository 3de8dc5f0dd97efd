"""Control characters in every path parameter, query parameter and body of every route.

The cases are generated from the app's URL map and the OpenAPI document, so a new route
or a newly documented query parameter is covered without editing this file. Each request
must be a 400 with the API's error shape (SCIM ``invalidValue``/``invalidFilter``, or the
management API's ``validation_error``) — never a 5xx, on SQLite and on PostgreSQL
(``SCIM_TEST_DATABASE_URL``), where a NUL used to reach the database as a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PLATFORM_KEY

OPENAPI = json.loads(
    (Path(__file__).resolve().parents[2] / "scim_server" / "openapi.json").read_text()
)
# NUL, a C0 control, DEL and a C1 control (NEL).
CONTROLS = ("\x00", "\x1b", "\x7f", "\x85")
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    query: dict[str, str]
    body: Any
    what: str


def _param(ref_or_param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_param:
        name = ref_or_param["$ref"].rpartition("/")[2]
        found: dict[str, Any] = OPENAPI["components"]["parameters"][name]
        return found
    return ref_or_param


def _documented_query(template: str, method: str) -> list[str]:
    item = OPENAPI["paths"].get(template, {})
    params = [*item.get("parameters", ()), *item.get(method.lower(), {}).get("parameters", ())]
    return [p["name"] for p in map(_param, params) if p.get("in") == "query"]


def _cases(app: Any, org_id: str) -> Iterator[Case]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        template = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) & _METHODS):
            valid = {arg: org_id if arg == "org_id" else "x" for arg in rule.arguments}
            for control in CONTROLS:
                for arg in sorted(rule.arguments):
                    url = _url(template, {**valid, arg: f"a{control}b"})
                    yield Case(method, url, {}, None, f"{method} {template} path {arg}")
                for name in _documented_query(template, method):
                    query = {name: f"a{control}b"}
                    what = f"{method} {template} query {name}"
                    yield Case(method, _url(template, valid), query, None, what)
                if method in ("POST", "PUT", "PATCH"):
                    body = {"schemas": ["x"], "name": f"a{control}b"}
                    what = f"{method} {template} body"
                    yield Case(method, _url(template, valid), {}, body, what)


def _url(template: str, values: dict[str, str]) -> str:
    return template.format(**values)


def _headers(url: str, org: Any) -> dict[str, str]:
    key = org.token if url.startswith("/scim/") else PLATFORM_KEY
    return {"Authorization": f"Bearer {key}", "X-Acting-User": "key"}


def test_every_route_refuses_control_characters(client, org) -> None:
    cases = list(_cases(client.application, org.id))
    assert len(cases) > 300, "the URL map and OpenAPI document should give hundreds of cases"
    failures = []
    for case in cases:
        response = client.open(
            case.url,
            method=case.method,
            query_string=case.query,
            json=case.body,
            headers=_headers(case.url, org),
        )
        problem = _problem(case, response)
        if problem:
            failures.append(f"{case.what} {case.url!r} {case.query!r}: {problem}")
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} of {len(cases)})"


def _problem(case: Case, response: Any) -> str | None:
    if response.status_code != 400:
        return f"status {response.status_code}"
    if case.url.startswith("/console/"):  # the console is HTML: the reason is on the page
        page = response.get_data(as_text=True)
        return None if "control character U+" in page else f"page {page[:80]!r}"
    body = response.get_json(silent=True) or {}
    if case.url.startswith("/scim/"):
        if body.get("scimType") not in ("invalidValue", "invalidFilter"):
            return f"scimType {body.get('scimType')!r}"
        detail = str(body.get("detail", ""))
    else:
        error = body.get("error") or {}
        if error.get("code") != "validation_error":
            return f"code {error.get('code')!r}"
        detail = str(error.get("message", ""))
    if "control character U+" not in detail:
        return f"detail {detail!r}"
    return None


@pytest.mark.parametrize("field", ["addresses", "reason"])
def test_line_breaks_pass_only_in_multiline_text(scim, admin, field) -> None:
    """TAB, LF and CR are refused in names but kept in addresses and reasons."""
    if field == "addresses":
        address = {"streetAddress": "1 Main St\nFloor 2", "formatted": "1 Main St\r\nTown\t"}
        user = scim.create_user(addresses=[address])
        assert user["addresses"][0]["streetAddress"] == "1 Main St\nFloor 2"
        refused = scim.post("/Users", {"schemas": [USER], "userName": "a\nb"})
        assert refused.status_code == 400
        assert "U+000A" in refused.get_json()["detail"]
    else:
        user_id = scim.create_user()[PRODUCT]["userId"]
        ok = admin.disable(user_id, reason="left the company\nticket 42", acting="key")
        assert ok.status_code < 400, ok.get_json()
        refused = admin.call("PATCH", f"/organizations/{admin.org_id}", {"name": "a\tb"})
        assert refused.status_code == 400
        assert "U+0009" in refused.get_json()["error"]["message"]


USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PRODUCT = "urn:ietf:params:scim:schemas:extension:scim_server:2.0:User"


def test_members_cursor_decoding_to_nul_is_refused(admin) -> None:
    """``AAAA`` decodes to three NUL bytes: cursor_invalid, not a 500 from PostgreSQL."""
    response = admin.call("GET", f"/organizations/{admin.org_id}/members?cursor=AAAA")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "cursor_invalid"


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize("escaped", [True, False], ids=["escaped", "raw-utf8"])
def test_a_scim_body_is_refused_whether_the_control_is_escaped_or_raw(
    client, org, control: str, escaped: bool
) -> None:
    """JSON carries a control character as an escape (``\\u0085``) or, for DEL and the C1
    range, as raw UTF-8; the guard's quick look at the raw body must see both."""
    body = {"schemas": [USER], "userName": f"a{control}b@example.com"}
    raw = json.dumps(body, ensure_ascii=escaped).encode()
    invalid_json = not escaped and control < "\x20"  # JSON has no raw C0 inside a string
    if invalid_json:
        raw = raw.replace(json.dumps(control)[1:-1].encode(), control.encode())
    response = client.post("/scim/v2/Users", data=raw, headers=_scim_json(org))
    assert response.status_code == 400, response.get_data(as_text=True)
    expected = "invalidSyntax" if invalid_json else "invalidValue"
    assert response.get_json()["scimType"] == expected


def test_a_pretty_printed_scim_body_with_plain_text_is_accepted(client, org) -> None:
    """TAB, LF and CR between tokens are formatting, not content: not a reason to refuse."""
    body = {"schemas": [USER], "userName": "plain@example.com", "displayName": "Zoë Ñandú"}
    raw = json.dumps(body, indent="\t", ensure_ascii=False).replace("\n", "\r\n").encode()
    response = client.post("/scim/v2/Users", data=raw, headers=_scim_json(org))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["displayName"] == "Zoë Ñandú"


def _scim_json(org: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {org.token}", "Content-Type": "application/scim+json"}
