"""IdP request bodies, kept as JSON files in ``tests/samples/`` and loaded by name.

A sample is what an identity provider sends, copied from its public documentation or seen on
the wire, named ``<idp>-<operation>.json``. The IdP replay tests (``tests/idp/``) send them
over HTTP and the dialect tests (``tests/scim/test_compat.py``) normalise them, so both read
one copy. Values that must differ per test (the ids a test has just created) are written as
``{placeholder}`` and filled in by keyword; a placeholder left unfilled is an error, so a
sample never reaches a test half-filled.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parent / "samples"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def sample(name: str, **values: str) -> Any:
    """The request body ``tests/samples/<name>.json`` with its placeholders filled in."""
    document = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return _fill(document, values, name)


def sample_operations(name: str, **values: str) -> list[dict[str, Any]]:
    """The ``Operations`` of a PatchOp sample."""
    ops: list[dict[str, Any]] = sample(name, **values)["Operations"]
    return ops


def _fill(node: Any, values: dict[str, str], name: str) -> Any:
    if isinstance(node, dict):
        return {_fill(k, values, name): _fill(v, values, name) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(item, values, name) for item in node]
    if isinstance(node, str):
        return PLACEHOLDER.sub(lambda m: _value(m.group(1), values, name), node)
    return node


def _value(key: str, values: dict[str, str], name: str) -> str:
    if key not in values:
        raise KeyError(f"sample {name!r} needs a value for {{{key}}}")
    return values[key]


def placeholders(name: str) -> set[str]:
    """The placeholder names a sample uses (for the tests of the samples themselves)."""
    return set(PLACEHOLDER.findall((SAMPLES / f"{name}.json").read_text(encoding="utf-8")))
