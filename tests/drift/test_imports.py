"""Import rules per layer and package, read from each module's ``ast``.

The layers are HTTP (``api/``) → SCIM protocol (``scim/``, pure) → domain services
(``services/``) → storage (``storage/``); nothing imports upward. Each rule below is checked
over the tree, and each is shown failing on a planted violation, so a rule that stopped
seeing anything would fail here rather than pass quietly.

A violation that another change is removing is listed in ``KNOWN`` and checked by a strict
``xfail`` of its own: the rule still holds for every other name in that file, and the day the
violation is gone the ``xfail`` turns into a failure that says to delete the entry.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.drift.layering import ROOT
from tests.drift.layering import Rule
from tests.drift.layering import file_violations
from tests.drift.layering import files_under
from tests.drift.layering import imported_names
from tests.drift.layering import matches
from tests.drift.layering import module_name
from tests.drift.layering import raised_scim_errors
from tests.drift.layering import scim_error_classes

WEB = ("flask", "flask_*", "werkzeug")
# Modules that exist only for the HTTP app: its factory, server, CLI and error renderer.
APP_SHELL = (
    "scim_server.api",
    "scim_server.app",
    "scim_server.server",
    "scim_server.cli",
    "scim_server.errors",
)
# scim/ may import the standard library, marshmallow, scim2-filter-parser (and sly, its
# parser generator, which paths.py extends), sqlalchemy expressions, and itself.
SCIM_TOPS = frozenset(
    {*sys.stdlib_module_names, "marshmallow", "scim2_filter_parser", "sly", "sqlalchemy"}
    | {"scim_server"}
)

RULES = (
    Rule(
        "scim-is-pure",
        under=("scim_server.scim",),
        forbidden=("scim_server", "sqlalchemy.orm.Session"),
        allowed=("scim_server.scim",),
        only_top=SCIM_TOPS,
        why="the protocol layer knows no storage, services, web framework or DB session",
    ),
    Rule(
        "storage-is-the-bottom",
        under=("scim_server.storage",),
        forbidden=(*WEB, *APP_SHELL, "scim_server.services", "scim_server.auth"),
        why="storage is the lowest layer: no services, no HTTP",
    ),
    Rule(
        "services-know-no-http",
        under=("scim_server.services",),
        forbidden=(*WEB, *APP_SHELL, "scim_server.db", "scim_server.auth"),
        why="domain services take a db session and plain values; the app wires the rest",
    ),
    Rule(
        "membership-does-not-reach-into-directory",
        under=("scim_server.services.membership",),
        forbidden=("scim_server.services.directory",),
        why="directory (SCIM) builds on membership, never the other way round",
    ),
    Rule(
        "conformance-is-black-box",
        under=("conformance",),
        forbidden=("scim_server",),
        why="the conformance suite speaks HTTP to any server and must not lean on ours",
    ),
)
BY_NAME = {rule.name: rule for rule in RULES}

# (rule, file, refused-name pattern) → why it is still there.
KNOWN: dict[tuple[str, str, str], str] = {}

# Files below scim/ and api/ must raise domain errors; the HTTP layer maps them.
RAISE_FREE = ("scim_server.services", "scim_server.storage")
RAISE_FIX = "directory services still raise SCIM errors; issue 8 moves them to domain errors"
# (file, SCIM error class) → why it is still raised there.
KNOWN_RAISES: dict[tuple[str, str], str] = {}


def rel_to(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def rel(path: Path) -> str:
    return rel_to(path, ROOT)


def tolerated(rule: Rule, path: str, name: str) -> bool:
    return any(r == rule.name and p == path and matches(name, pattern) for (r, p, pattern) in KNOWN)


# --- the checker sees every form of import -----------------------------------------------


def test_imported_names_sees_every_form():
    source = (
        "import flask\nfrom flask import g\nfrom ..storage import models\n"
        "from .paths import parse_path\nfrom sqlalchemy.orm import Session as S\n"
        "import sqlalchemy.orm\nx: sqlalchemy.orm.Session\n"
        "def f():\n    from scim_server import db\n"
    )
    names = imported_names(source, "scim_server.scim.example")
    assert {"flask", "flask.g", "scim_server.storage.models", "scim_server.scim.paths"} <= names
    assert {"sqlalchemy.orm.Session", "scim_server.db"} <= names
    assert imported_names("from . import errors", "scim_server.scim", is_package=True) >= {
        "scim_server.scim.errors"
    }


def test_every_rule_governs_some_files():
    for rule in RULES:
        assert files_under(rule.under), rule.name


# --- each rule holds over the tree ---------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_holds(rule: Rule):
    found = [
        f"{rel(path)}: {name}  ({rule.why})"
        for path in files_under(rule.under)
        for name in file_violations(rule, path)
        if not tolerated(rule, rel(path), name)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("rule_name", "path", "pattern"),
    [
        pytest.param(*key, marks=pytest.mark.xfail(strict=True, reason=reason))
        for key, reason in KNOWN.items()
    ],
)
def test_known_violation_is_gone(rule_name: str, path: str, pattern: str):
    """Fails (as expected) while the violation stands; passes, and so fails strict, once fixed."""
    names = file_violations(BY_NAME[rule_name], ROOT / path)
    assert not [n for n in names if matches(n, pattern)]


# --- each rule fails on a planted violation ------------------------------------------------

PLANTED = [
    ("scim-is-pure", "scim_server.scim.patch", "from scim_server.storage import models"),
    ("scim-is-pure", "scim_server.scim.patch", "from ..services import audit"),
    ("scim-is-pure", "scim_server.scim.patch", "from sqlalchemy.orm import Session"),
    ("scim-is-pure", "scim_server.scim.patch", "import flask"),
    ("scim-is-pure", "scim_server.scim.patch", "import requests"),
    ("scim-is-pure", "scim_server.scim.patch", "from scim_server import db"),
    ("storage-is-the-bottom", "scim_server.storage.queries", "from ..services import seats"),
    ("storage-is-the-bottom", "scim_server.storage.queries", "from scim_server.api import x"),
    ("storage-is-the-bottom", "scim_server.storage.queries", "from flask import g"),
    ("storage-is-the-bottom", "scim_server.storage.queries", "import werkzeug.exceptions"),
    ("services-know-no-http", "scim_server.services.directory.users", "import werkzeug"),
    (
        "services-know-no-http",
        "scim_server.services.directory.users",
        "from scim_server.db import get_session",
    ),
    ("services-know-no-http", "scim_server.services.signin.jit", "from ...db import x"),
    ("services-know-no-http", "scim_server.services.signin.jit", "from scim_server import auth"),
    ("services-know-no-http", "scim_server.services.audit", "from flask_httpauth import A"),
    ("services-know-no-http", "scim_server.services.audit", "from ..api.scim import users"),
    ("services-know-no-http", "scim_server.services.audit", "import scim_server.errors"),
    (
        "membership-does-not-reach-into-directory",
        "scim_server.services.membership.seats",
        "from ..directory import groups",
    ),
    (
        "membership-does-not-reach-into-directory",
        "scim_server.services.membership.seats",
        "from scim_server.services.directory.search import search",
    ),
    ("conformance-is-black-box", "conformance.runner", "import scim_server"),
    ("conformance-is-black-box", "conformance.runner", "from scim_server.scim import filter"),
]


@pytest.mark.parametrize(("rule_name", "module", "source"), PLANTED)
def test_rule_reports_a_planted_violation(rule_name: str, module: str, source: str):
    rule = BY_NAME[rule_name]
    assert rule.governs(module)
    clean = "from __future__ import annotations\nimport datetime\n"
    assert rule.violations(clean, module) == []
    assert rule.violations(clean + source + "\n", module) != []


def test_the_tree_walk_reports_a_planted_file(tmp_path):
    """The walk over files (not only the source checker) finds a planted module."""
    for relpath, source in [
        ("conformance/planted.py", "import scim_server\n"),
        ("scim_server/services/signin/planted.py", "from scim_server.db import get_session\n"),
        ("scim_server/services/membership/__init__.py", "from ..directory import groups\n"),
    ]:
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text(source, encoding="utf-8")
    found = {
        (rule.name, rel_to(path, tmp_path), name)
        for rule in RULES
        for path in files_under(rule.under, tmp_path)
        for name in file_violations(rule, path, tmp_path)
    }
    assert found == {
        ("conformance-is-black-box", "conformance/planted.py", "scim_server"),
        (
            "services-know-no-http",
            "scim_server/services/signin/planted.py",
            "scim_server.db",
        ),
        (
            "services-know-no-http",
            "scim_server/services/signin/planted.py",
            "scim_server.db.get_session",
        ),
        (
            "membership-does-not-reach-into-directory",
            "scim_server/services/membership/__init__.py",
            "scim_server.services.directory",
        ),
        (
            "membership-does-not-reach-into-directory",
            "scim_server/services/membership/__init__.py",
            "scim_server.services.directory.groups",
        ),
    }


def test_allowed_names_are_not_reported():
    assert (
        BY_NAME["scim-is-pure"].violations(
            "from .errors import NoTargetError\nfrom sqlalchemy import select\n"
            "import marshmallow\n",
            "scim_server.scim.patch",
        )
        == []
    )
    assert (
        BY_NAME["services-know-no-http"].violations(
            "from scim_server.storage import queries\nfrom scim_server.scim.patch import apply\n",
            "scim_server.services.directory.users",
        )
        == []
    )


# --- no SCIM protocol error is raised below scim/ and api/ ---------------------------------


def test_no_scim_error_raised_below_the_protocol_layer():
    found = [
        f"{rel(path)}: raise {hit}"
        for path in files_under(RAISE_FREE)
        for hit in raised_scim_errors(path.read_text(encoding="utf-8"), module_name(path))
        if (rel(path), hit.partition(":")[0]) not in KNOWN_RAISES
    ]
    assert found == []


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param(*key, marks=pytest.mark.xfail(strict=True, reason=reason))
        for key, reason in KNOWN_RAISES.items()
    ],
)
def test_known_scim_error_raise_is_gone(path: str, error: str):
    source = (ROOT / path).read_text(encoding="utf-8")
    hits = raised_scim_errors(source, module_name(ROOT / path))
    assert not [h for h in hits if h.startswith(f"{error}:")]


PLANTED_RAISES = [
    "from scim_server.scim.errors import InvalidValueError\nraise InvalidValueError('x')\n",
    "from ...scim.errors import NoTargetError as Gone\ndef f():\n    raise Gone('x')\n",
    "from scim_server.scim import errors\nraise errors.UniquenessError('x')\n",
    "import scim_server.scim.errors\nraise scim_server.scim.errors.ScimError\n",
    "import scim_server.scim.errors as e\nraise e.TooManyError('x') from None\n",
    "from scim_server.services.directory.helpers import InvalidPathError\n"
    "raise InvalidPathError('re-exported')\n",
]


@pytest.mark.parametrize("source", PLANTED_RAISES)
def test_raise_rule_reports_a_planted_raise(source: str):
    assert raised_scim_errors(source, "scim_server.services.directory.groups") != []


def test_raise_rule_ignores_domain_errors_and_bare_reraise():
    source = (
        "from scim_server.scim.errors import ScimError\n"
        "from scim_server.services.errors import InvalidInput\n"
        "try:\n    pass\nexcept ScimError:\n    raise\n"
        "raise InvalidInput('x')\n"
    )
    assert raised_scim_errors(source, "scim_server.services.directory.groups") == []


def test_raise_rule_knows_the_protocol_errors():
    assert {"ScimError", "InvalidValueError", "NoTargetError"} <= scim_error_classes()
