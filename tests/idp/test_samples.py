"""The IdP request samples in ``tests/samples/``: well named, well formed, used, and filled."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.idp_samples import SAMPLES
from tests.idp_samples import placeholders
from tests.idp_samples import sample
from tests.idp_samples import sample_operations
from tests.scim_client import PATCH_OP

TESTS = Path(__file__).resolve().parents[1]
NAME = re.compile(
    r"^(okta|entra|onelogin|jumpcloud|google|rippling|pingfederate)-(create|patch)-[a-z0-9-]+$"
)
NAMES = sorted(path.stem for path in SAMPLES.glob("*.json"))


def test_there_are_samples_and_only_json_and_the_readme():
    assert NAMES
    assert {p.name for p in SAMPLES.iterdir()} == {f"{n}.json" for n in NAMES} | {"README.md"}


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_named_by_idp_and_operation_and_shaped_like_one(name):
    assert NAME.match(name), name
    document = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    if "-patch-" in name:
        assert document["schemas"] == [PATCH_OP] and document["Operations"]
    else:
        assert isinstance(document["schemas"], list) and document["schemas"]


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_used_by_a_test(name):
    sources = (p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py"))
    assert any(f'"{name}"' in source for source in sources if "idp_samples" in source)


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_listed_in_the_readme(name):
    assert f"`{name}.json`" in (SAMPLES / "README.md").read_text(encoding="utf-8")


def test_placeholders_are_filled_and_a_missing_one_is_an_error():
    needed = placeholders("entra-patch-remove-members-legacy")
    assert needed == {"first", "second"}
    filled = sample_operations("entra-patch-remove-members-legacy", first="a", second="b")
    assert [v["value"] for v in filled[0]["value"]] == ["a", "b"]
    with pytest.raises(KeyError, match="second"):
        sample("entra-patch-remove-members-legacy", first="a")


def test_each_load_is_a_fresh_copy():
    sample("okta-create-user")["userName"] = "changed"
    assert sample("okta-create-user")["userName"] == "test.user@okta.local"
