"""PATCH properties (hypothesis): idempotence, add/remove round trips, and any operation
either yields a document or raises a SCIM error."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scim_server.scim.errors import ScimError
from scim_server.scim.patch import PatchOperation
from scim_server.scim.patch import apply_patch
from scim_server.scim.patch import parse_patch
from scim_server.scim.paths import parse_path
from scim_server.scim.schema import ENTERPRISE_USER
from scim_server.scim.schema import PRODUCT_USER
from tests.scim.patch_documents import USER
from tests.scim.patch_documents import body
from tests.scim.patch_documents import emails
from tests.scim.patch_documents import minimal_user_doc
from tests.scim.patch_documents import patch
from tests.scim.patch_documents import user_doc

# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

_TEXT = st.text(min_size=1, max_size=8)
_EMAIL = st.fixed_dictionaries(
    {"value": _TEXT},
    optional={"type": st.sampled_from(["work", "home", "other"]), "primary": st.booleans()},
)
_DOCS = st.sampled_from([user_doc(), minimal_user_doc()])

_REPLACEMENTS = st.one_of(
    st.tuples(st.just("userName"), _TEXT),
    st.tuples(st.just("displayName"), _TEXT),
    st.tuples(st.just("active"), st.booleans()),
    st.tuples(st.just("name.givenName"), _TEXT),
    st.tuples(st.just("name"), st.fixed_dictionaries({}, optional={"givenName": _TEXT})),
    st.tuples(st.just("emails"), st.lists(_EMAIL, max_size=3)),
    st.tuples(st.just('emails[type eq "work"].value'), _TEXT),
    st.tuples(st.just('emails[type eq "home"].primary'), st.booleans()),
    st.tuples(st.just(f"{ENTERPRISE_USER}:employeeNumber"), _TEXT),
    st.tuples(st.just(f"{ENTERPRISE_USER}:manager"), st.fixed_dictionaries({"value": _TEXT})),
    st.tuples(
        st.none(),
        st.fixed_dictionaries({}, optional={"title": _TEXT, "active": st.booleans()}),
    ),
)


@given(_DOCS, _REPLACEMENTS)
def test_replace_is_idempotent(doc, replacement):
    path, value = replacement
    operation = {"op": "replace", "value": value} | ({"path": path} if path else {})
    try:
        once = patch(doc, operation)
    except ScimError:
        assume(False)
    assert patch(once, operation) == once


@given(_DOCS, _TEXT, st.sampled_from(["work", "home", "other", None]))
def test_add_then_remove_of_a_new_email_restores_the_document(doc, value, kind):
    existing = {email["value"].casefold() for email in doc.get("emails", [])}
    assume(value.casefold() not in existing)
    new = {"value": value} | ({"type": kind} if kind else {})
    added = patch(doc, {"op": "add", "path": "emails", "value": [new]})
    assert new in emails(added)
    removed = patch(added, {"op": "remove", "path": f"emails[value eq {json.dumps(value)}]"})
    assert removed == doc


_PATHS = st.sampled_from(
    [
        None,
        "userName",
        "UserName",
        "name",
        "name.givenName",
        "emails",
        'emails[type eq "work"]',
        'emails[type eq "work"].value',
        'emails[primary eq "True"].type',
        "emails.primary",
        "active",
        "id",
        "meta.version",
        "groups",
        f"{ENTERPRISE_USER}:manager",
        f"{ENTERPRISE_USER}:manager.value",
        f"{PRODUCT_USER}:adminDisabled",
        "nickName",
        "bogus",
        "emails[bogus eq 1]",
    ]
)
_KEYS = st.sampled_from(
    [
        "value",
        "type",
        "primary",
        "givenName",
        "active",
        "userName",
        "id",
        "display",
        "name",
        ENTERPRISE_USER,
        "emails",
        "x",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "work", "True", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
_PLAUSIBLE = st.sampled_from(
    [
        "x",
        True,
        False,
        {"givenName": "G"},
        {"value": "a@x", "type": "work", "primary": True},
        [{"value": "b@x", "type": "home"}],
        {"title": "T", "active": False},
        {"id": "other", "displayName": "D"},
        {"value": "boss"},
    ]
)
_SENSIBLE = st.sampled_from(
    [
        ("userName", "new"),
        ("name", {"givenName": "G"}),
        ("name.givenName", "G"),
        ("emails", [{"value": "b@x", "type": "home", "primary": True}]),
        ("emails", {"value": "c@x"}),
        ('emails[type eq "work"]', {"value": "w@x", "type": "work"}),
        ('emails[type eq "work"].value', "w2@x"),
        ('emails[primary eq "True"].type', "other"),
        ("emails.primary", False),
        ("active", False),
        (f"{ENTERPRISE_USER}:manager", {"value": "boss"}),
        (f"{ENTERPRISE_USER}:manager.value", "boss2"),
        (None, {"title": "T", "active": True}),
        (None, {"id": "other", "displayName": "D"}),
        (None, {ENTERPRISE_USER: {"department": "Ops"}}),
    ]
)


def _raw_op(op: str, path: str | None, value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"op": op}
    if path is not None:
        raw["path"] = path
    if op.lower() != "remove":
        raw["value"] = value
    return raw


_RANDOM_OP = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "replace", "remove", "Add", "copy"])},
    optional={"path": _PATHS, "value": _PLAUSIBLE | _JSON},
)
_SENSIBLE_OP = st.builds(
    lambda op, pair: _raw_op(op, *pair), st.sampled_from(["add", "replace", "remove"]), _SENSIBLE
)
_RAW_OPS = st.lists(_SENSIBLE_OP | _SENSIBLE_OP | _RANDOM_OP, min_size=1, max_size=4)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_DOCS, _RAW_OPS)
def test_parse_and_apply_on_random_operations_return_a_document_or_raise_scim_error(doc, raw):
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, parse_patch(body(*raw), USER, max_operations=10), USER)
    except ScimError:
        assert doc == snapshot
        return
    assert isinstance(result, dict)
    assert doc == snapshot
    assert (result["id"], result["meta"]) == (doc["id"], doc["meta"])


_PARSED_PATHS = st.sampled_from(
    [None]
    + [
        parse_path(text, USER)
        for text in (
            "userName",
            "name",
            "name.givenName",
            "emails",
            'emails[type eq "work"]',
            'emails[type eq "work"].value',
            "emails.type",
            "active",
            f"{ENTERPRISE_USER}:manager",
            f"{ENTERPRISE_USER}:employeeNumber",
        )
    ]
)


@given(
    _DOCS,
    st.lists(
        st.builds(
            PatchOperation,
            st.sampled_from(["add", "replace", "remove"]),
            _PARSED_PATHS,
            _PLAUSIBLE | _JSON,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_apply_patch_on_hand_built_operations_returns_a_document_or_scim_error(doc, operations):
    snapshot = copy.deepcopy(doc)
    try:
        result = apply_patch(doc, operations, USER)
    except ScimError:
        assert doc == snapshot
        return
    assert isinstance(result, dict)
    assert doc == snapshot
