"""The conformance suite's registry: every check loads, once, and nothing imports the runner.

The suite runs against a live server elsewhere (``scripts/conformance-live.sh``); here only
its shape is checked, which needs no server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import conformance
from conformance import runner
from conformance.registry import GROUPS

PACKAGE = Path(conformance.__file__).resolve().parent
# The number of checks when the RFC checks were split by area; it may grow, never shrink.
CHECKS_AT_SPLIT = 100
RFC_AREAS = ("discovery", "errors", "filtering", "groups", "patch", "users")


def relative_imports(source: str) -> set[str]:
    """The sibling modules a source imports (``from .x import …`` and ``from . import x``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update([node.module] if node.module else [a.name for a in node.names])
    return names


def test_every_check_loads_once_in_a_known_group():
    checks = runner.load_checks()
    names = [c.name for c in checks]
    assert len(names) == len(set(names)) >= CHECKS_AT_SPLIT
    assert {c.group for c in checks} == set(GROUPS)
    assert [c.group for c in checks] == sorted((c.group for c in checks), key=GROUPS.index)


def test_each_rfc_area_module_registers_its_checks():
    modules = {c.func.__module__.rpartition(".")[2] for c in runner.load_checks()}
    assert {f"checks_rfc_{area}" for area in RFC_AREAS} <= modules
    assert "checks_rfc" not in modules


def test_no_module_but_the_entry_point_imports_the_runner():
    importers = {
        path.name
        for path in PACKAGE.glob("*.py")
        if "runner" in relative_imports(path.read_text(encoding="utf-8"))
    }
    assert importers == {"__main__.py"}


def test_relative_imports_sees_both_forms():
    """The runner test above would pass vacuously if this missed an import form."""
    source = "from .runner import run\nfrom . import runner as r\nfrom .registry import check\n"
    assert relative_imports(source) == {"runner", "registry"}
    assert relative_imports("from . import runner\n") == {"runner"}
