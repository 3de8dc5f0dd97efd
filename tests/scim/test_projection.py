"""``project`` (RFC 7643 §7 ``returned``; RFC 7644 §3.4.2.5): a request that names no
attributes takes a shorter way (``_by_default``), which must cut exactly what the general
way cuts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from scim_server.scim.projection import Projection
from scim_server.scim.projection import parse_projection
from scim_server.scim.projection import project
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PRODUCT_USER
from scim_server.scim.schema import ResourceType
from scim_server.scim.schema import load_registry

USER = load_registry().user


def _returning(rtype: ResourceType, returned: dict[tuple[str, str], str]) -> ResourceType:
    """The resource type with some top-level attributes' ``returned`` changed."""

    def schema_with(schema: Any) -> Any:
        attributes = tuple(
            dataclasses.replace(a, returned=returned.get((schema.id, a.name), a.returned))
            for a in schema.attributes
        )
        return dataclasses.replace(schema, attributes=attributes)

    return dataclasses.replace(
        rtype,
        core=schema_with(rtype.core),
        extensions=tuple(schema_with(ext) for ext in rtype.extensions),
    )


# nickName only on request, the enterprise manager never: as a schema could say.
RTYPE = _returning(
    USER, {(CORE_USER, "nickName"): "request", (ENTERPRISE_USER, "manager"): "never"}
)
DOC: dict[str, Any] = {
    "schemas": [CORE_USER, ENTERPRISE_USER, PRODUCT_USER],
    "id": "2819c223",
    "userName": "bjensen@example.com",
    "nickName": "Babs",
    "password": "t1meMa$heen",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "primary": True}],
    "active": True,
    "x-unknown": 1,
    ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
    PRODUCT_USER: {"userId": "u-1", "adminDisabled": False},
    "meta": {"resourceType": "User", "version": 'W/"1"'},
}


def test_a_request_naming_no_attributes_gets_neither_never_nor_request_attributes() -> None:
    got = project(DOC, RTYPE, Projection())

    assert "password" not in got and "nickName" not in got
    assert got[ENTERPRISE_USER] == {"employeeNumber": "701984"}
    assert got["userName"] == "bjensen@example.com" and got["x-unknown"] == 1
    assert list(got) == [k for k in DOC if k not in ("password", "nickName")]


def test_an_extension_left_empty_is_left_out() -> None:
    doc = {**DOC, ENTERPRISE_USER: {"manager": {"value": "26118915"}}}

    assert ENTERPRISE_USER not in project(doc, RTYPE, Projection())


@pytest.mark.parametrize("rtype", [USER, RTYPE], ids=["schemas as shipped", "request/never"])
def test_the_short_way_cuts_what_the_general_way_cuts(rtype: ResourceType) -> None:
    """Excluding an attribute no document has takes the general way and changes nothing
    else, so both ways must agree on every document."""
    general = parse_projection(rtype, None, "urn:example:none:absent")
    docs = [
        DOC,
        {**DOC, "NickName": "upper-case key"},
        {k: v for k, v in DOC.items() if k != ENTERPRISE_USER},
    ]
    for doc in docs:
        assert project(doc, rtype, Projection()) == project(doc, rtype, general)
