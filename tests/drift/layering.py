"""The layering checker the import-rule tests run: pure functions over a module's source.

Everything here reads source text through ``ast`` and never imports the module it judges, so
a test can feed it a planted violation and see it reported, and a module that would fail to
import (a cycle, a missing dependency) is still judged.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import scim_server

PACKAGE = Path(scim_server.__file__).resolve().parent
ROOT = PACKAGE.parent
SCIM_ERRORS = "scim_server.scim.errors"


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name of a file under ``root`` (``__init__`` names its package)."""
    parts = path.resolve().relative_to(root.resolve()).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from … import`` names, relative dots resolved against ``module``."""
    base = node.module or ""
    if not node.level:
        return base
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".")
    anchor = parts[: len(parts) - node.level + 1]
    return ".".join([*anchor, base] if base else anchor)


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a chain of attribute accesses on a name, else the empty string."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module (and ``module.name`` for ``from module import name``) a source imports.

    Imports anywhere count (inside functions and ``TYPE_CHECKING`` blocks too: they are
    still a dependency a reader must follow). A dotted ``….Session`` attribute, as in
    ``sqlalchemy.orm.Session`` after ``import sqlalchemy.orm``, counts as imported too.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Attribute) and node.attr == "Session":
            names.add(dotted(node))
    return {n for n in names if n}


def matches(name: str, pattern: str) -> bool:
    """``pattern`` names ``name`` or a package above it; a trailing ``*`` is a prefix."""
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern or name.startswith(pattern + ".")


@dataclass(frozen=True)
class Rule:
    """One import rule: the files it governs and the names they may not import.

    ``allowed`` carves exceptions out of ``forbidden`` (``scim/`` may import
    ``scim_server.scim`` though it may import nothing else of ours); ``only_top`` lists
    the only top-level packages a file may import at all (``None``: no such list).
    """

    name: str
    under: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] = ()
    only_top: frozenset[str] | None = field(default=None)

    def governs(self, module: str) -> bool:
        return any(matches(module, prefix) for prefix in self.under)

    def refuses(self, name: str) -> bool:
        if self.only_top is not None and name.split(".")[0] not in self.only_top:
            return True
        return any(matches(name, f) for f in self.forbidden) and not any(
            matches(name, a) for a in self.allowed
        )

    def violations(self, source: str, module: str, *, is_package: bool = False) -> list[str]:
        """The names in ``source`` this rule refuses, sorted."""
        names = imported_names(source, module, is_package=is_package)
        return sorted(n for n in names if self.refuses(n))


def python_files(root: Path = ROOT) -> Iterator[Path]:
    """Every module of the server and of the conformance suite."""
    for top in ("scim_server", "conformance"):
        yield from sorted((root / top).rglob("*.py"))


def files_under(under: tuple[str, ...], root: Path = ROOT) -> list[Path]:
    """The modules below any of the dotted names in ``under``."""
    return [p for p in python_files(root) if any(matches(module_name(p, root), u) for u in under)]


def file_violations(rule: Rule, path: Path, root: Path = ROOT) -> list[str]:
    source = path.read_text(encoding="utf-8")
    return rule.violations(source, module_name(path, root), is_package=path.stem == "__init__")


def scim_error_classes() -> frozenset[str]:
    """The class names ``scim/errors.py`` defines: the SCIM protocol errors."""
    tree = ast.parse((PACKAGE / "scim" / "errors.py").read_text(encoding="utf-8"))
    return frozenset(node.name for node in tree.body if isinstance(node, ast.ClassDef))


def _error_aliases(tree: ast.Module, module: str, is_package: bool) -> dict[str, str]:
    """Local name → what it stands for in ``scim_server.scim.errors`` (or the module itself)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if base == SCIM_ERRORS or full == SCIM_ERRORS:
                    aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if matches(SCIM_ERRORS, alias.name) or alias.name == SCIM_ERRORS:
                    local = alias.asname or alias.name.split(".")[0]
                    aliases[local] = alias.name if alias.asname else local
    return aliases


def raised_scim_errors(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """``Class:line`` for every ``raise`` of a SCIM protocol error class in ``source``.

    A raised name counts when it resolves, through the module's imports, to a class of
    ``scim_server.scim.errors``, or when it simply is one of those class names (a re-export
    elsewhere must not hide it). A bare ``raise`` re-raises what it caught and is not counted.
    """
    classes = scim_error_classes()
    tree = ast.parse(source)
    aliases = _error_aliases(tree, module, is_package)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = dotted(target)
        head, _, rest = name.partition(".")
        resolved = f"{aliases[head]}.{rest}".rstrip(".") if head in aliases else name
        last = resolved.rpartition(".")[2]
        if last in classes and (resolved.startswith(SCIM_ERRORS) or resolved == last):
            found.append(f"{last}:{node.lineno}")
    return found
