"""Typed vocabularies: event types, error codes and their one status table, and the
domain errors the directory services raise in place of SCIM protocol errors."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

import scim_server
from scim_server.errors import API_STATUS
from scim_server.services import audit
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.errors import ErrorCode
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import SignInSession
from tests.scim_client import PRODUCT
from tests.scim_client import Scim
from tests.scim_client import assert_api_error
from tests.scim_client import assert_scim_error

PACKAGE = Path(scim_server.__file__).parent


# --- error codes and the status table ----------------------------------------------------


def test_every_error_code_has_an_http_status():
    """A code added to ErrorCode without a row in API_STATUS fails here, not in production."""
    missing = sorted(code for code in ErrorCode if code not in API_STATUS)
    assert missing == []


def test_the_status_table_has_no_code_the_enum_lacks():
    strays = sorted(str(code) for code in API_STATUS if not isinstance(code, ErrorCode))
    assert strays == []
    assert all(400 <= status < 600 for status in API_STATUS.values())


def test_a_refused_sign_in_is_403_whatever_its_code(client, org, other_org, platform):
    """AccessRefused answers 403 even with a code the table answers otherwise."""
    assert API_STATUS[ErrorCode.MEMBERSHIP_NOT_FOUND] == 404
    outsider = Scim(client, other_org.token).create_user()[PRODUCT]["userId"]
    body = {"user_id": outsider, "organization_id": org.id, "method": "password"}
    assert_api_error(platform.call("POST", "/sessions", body), 403, "membership_not_found")


# --- event types ---------------------------------------------------------------------------


def string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_module_spells_an_event_type_as_a_string():
    """Event types are EventType members everywhere but in their own definition."""
    wire_names = {str(t) for t in EventType}
    spelled = {
        f"{path.relative_to(PACKAGE)}: {literal}"
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "services" / "audit.py"
        for literal in string_literals(path) & wire_names
    }
    assert spelled == set()


def test_the_event_type_check_sees_a_spelled_type(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('record(db, org.id, actor, "invitation.created", invitation)\n')
    assert "invitation.created" in string_literals(planted) & {str(t) for t in EventType}


def test_every_subject_type_has_a_target_type():
    """record() can describe every row the Subject union admits."""
    rows = set(typing.get_args(audit.Subject)) - {Target}
    assert rows - set(audit._TARGET_TYPES) == set()


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (Membership(id="m1", user_id="u1"), ("membership", "m1", "m1", "u1")),
        (SignInSession(id="s1", user_id="u1"), ("session", "s1", None, "u1")),
        (ScimGroup(id="g1"), ("scim_group", "g1", None, None)),
        (Target("role", "r1"), ("role", "r1", None, None)),
    ],
)
def test_record_derives_the_target_from_the_subject(subject, expected):
    assert audit._describe(subject) == expected


# --- directory services raise domain errors, answered as before ---------------------------


@pytest.fixture
def group(scim):
    alice = scim.create_user()["id"]
    return scim.create_group(members=[alice]), alice


def patch_group(scim, group_id, op):
    return scim.patch(f"/Groups/{group_id}", [op])


@pytest.mark.parametrize(
    ("op", "scim_type", "detail"),
    [
        (
            {"op": "replace", "path": "members.display", "value": "x"},
            "invalidPath",
            "Members cannot be changed one sub-attribute at a time; "
            "add or remove the member instead.",
        ),
        (
            {"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]},
            "invalidPath",
            "'add' takes the path 'members' without a filter.",
        ),
        (
            {"op": "remove", "path": 'members[display eq "x"]'},
            "invalidPath",
            "Member filters may test 'value' or 'type', not 'display'.",
        ),
        (
            {"op": "add", "path": "members", "value": [{"display": "x"}]},
            "invalidValue",
            "Each member needs a string 'value' (an id); got {'display': 'x'}.",
        ),
    ],
)
def test_group_member_errors_keep_their_status_type_and_detail(scim, group, op, scim_type, detail):
    created, _ = group
    body = assert_scim_error(patch_group(scim, created["id"], op), 400, scim_type)
    assert body["detail"] == detail


def test_a_group_in_itself_is_invalid_value(scim, group):
    created, _ = group
    op = {"op": "add", "path": "members", "value": [{"value": created["id"]}]}
    body = assert_scim_error(patch_group(scim, created["id"], op), 400, "invalidValue")
    assert body["detail"] == "A group cannot be a member of itself."


@pytest.mark.parametrize(
    ("sort_by", "detail"),
    [
        ("groups.value", "Cannot sort by 'groups.value'."),
        ("nickName.x", "Cannot sort by 'nickName.x': "),
    ],
)
def test_unsortable_attributes_are_invalid_value(scim, sort_by, detail):
    scim.create_user()
    response = scim.get("/Users", query_string={"sortBy": sort_by})
    body = assert_scim_error(response, 400, "invalidValue")
    assert body["detail"].startswith(detail)
