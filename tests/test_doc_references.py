"""Every reference to a document points inside the repository, at something that exists.

Code, tests, the conformance suite, scripts, the README and ``scim-server --help`` cite the
documents in ``docs/`` ("docs/lifecycle.md §2.5", "docs/idp-dialects.md §1.5") and the rows
of the lifecycle transition table ("docs/lifecycle.md rows U1–U2", "row P4"). A citation
that names a missing file, a section the file does not have, or a row the table does not
have is a broken promise to the reader: this test fails on each, and shows that it does on
planted examples (docs/architecture.md §10).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from scim_server.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
SELF = Path(__file__).resolve().relative_to(ROOT)
LIFECYCLE = Path("docs/lifecycle.md")
SCANNED_DIRS = ("scim_server", "tests", "conformance", "scripts")
SCANNED_SUFFIXES = {".py", ".json", ".md", ".sh", ".txt", ".cfg", ".toml", ".ini"}

# A path ending in .md (``docs/x.md``, ``../docs/x.md``, ``x.md``), not a longer name like
# ``hashlib.md5``.
DOC_PATH = re.compile(r"(?<![\w/.-])((?:\.\.?/)?(?:[\w.-]+/)*[\w-]+\.md)(?![\w-])")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
# Where a reference's own section list ends: the line, another document, an RFC, a URL.
TAIL_END = re.compile(r"\n|\.md(?![\w-])|RFC|://")
CODE = r"[A-Z]\d+"
ROW_LIST = re.compile(
    rf"\b[Rr]ows?\s+({CODE}(?:\s*(?:[–-]\s*[A-Z]?\d+|,\s*{CODE}|\s+(?:and|or)\s+{CODE}|/{CODE}))*)"
)
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
TABLE_ROW_CODE = re.compile(rf"^\|\s*({CODE})\s*\|", re.MULTILINE)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+\.md)\)")


@cache
def sections_of(doc: Path) -> frozenset[str]:
    """The numbered sections of a document, from headings such as ``### 2.5 The table``."""
    return frozenset(HEADING.findall((ROOT / doc).read_text(encoding="utf-8")))


@cache
def row_codes() -> frozenset[str]:
    """The row codes of the transition table: the first cell of its table rows."""
    return frozenset(TABLE_ROW_CODE.findall((ROOT / LIFECYCLE).read_text(encoding="utf-8")))


def resolve(reference: str, where: Path) -> Path | None:
    """The repository file a reference names: from the root, or beside the citing file."""
    for base in (ROOT, (ROOT / where).parent):
        candidate = (base / reference).resolve()
        if candidate.is_file() and candidate.is_relative_to(ROOT):
            return candidate.relative_to(ROOT)
    return None


def expand_rows(listing: str) -> list[str]:
    """``U1–U3, J7`` -> ``["U1", "U2", "U3", "J7"]``."""
    codes: list[str] = []
    for part in re.split(r"\s*(?:,|/|\band\b|\bor\b)\s*", listing.strip()):
        bounds = re.split(r"\s*[–-]\s*", part, maxsplit=1)
        letter, start = bounds[0][0], int(bounds[0][1:])
        last = bounds[-1] if bounds[-1][0].isalpha() else letter + bounds[-1]
        if last[0] != letter:  # "P1–K1" spans groups: check both ends
            codes.extend((bounds[0], last))
            continue
        codes.extend(f"{letter}{n}" for n in range(start, int(last[1:]) + 1))
    return codes


def problems_in(text: str, where: Path, *, links_only: bool = False) -> list[str]:
    """Every broken document reference in ``text``, which lives at ``where``."""
    problems: list[str] = []
    pattern = MARKDOWN_LINK if links_only else DOC_PATH
    for match in pattern.finditer(text):
        token_start = max(text.rfind(c, 0, match.start()) for c in " \t\n\"'`(<[") + 1
        if "://" in text[token_start : match.end()]:
            continue  # a URL to another site's file, not a document of ours
        reference = match.group(1)
        target = resolve(reference, where)
        if target is None:
            problems.append(f"{where}: {reference!r} is not a file in the repository")
            continue
        rest = text[match.end() :]
        end = TAIL_END.search(rest)
        tail = rest[: end.start() if end else len(rest)]
        problems.extend(
            f"{where}: {reference} has no section §{number}"
            for number in SECTION.findall(tail)
            if number not in sections_of(target)
        )
    for listing in ROW_LIST.findall(text):
        problems.extend(
            f"{where}: {LIFECYCLE} has no row {code}"
            for code in expand_rows(listing)
            if code not in row_codes()
        )
    return problems


def scanned_files() -> Iterator[Path]:
    """README, code, tests, conformance and scripts, and the conformance report (which
    prints every check's cited source); not this file, whose planted bad references below
    are there to be reported."""
    yield Path("README.md")
    yield Path("docs/conformance.md")
    for folder in SCANNED_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in SCANNED_SUFFIXES | {""}:
                relative = path.relative_to(ROOT)
                if "__pycache__" not in path.parts and relative != SELF:
                    yield relative


def cli_help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    return capsys.readouterr().out


# --- the repository ------------------------------------------------------------------------


def test_the_lifecycle_table_and_sections_are_found():
    """Guards the guard: an empty parse would let every reference pass."""
    assert {"P1", "U1", "U8", "X1", "A6", "J7", "I5", "S2", "K1"} <= row_codes()
    assert {"2.3", "2.5", "2.6", "3.1", "4.5", "8"} <= sections_of(LIFECYCLE)


@pytest.mark.parametrize("path", list(scanned_files()), ids=str)
def test_every_reference_in_the_repository_resolves(path: Path):
    text = (ROOT / path).read_text(encoding="utf-8", errors="replace")
    assert problems_in(text, path) == []


def test_the_scan_finds_the_citations():
    """Guards the guard: the pattern really sees the repository's many citations."""
    cited = [
        match.group(1)
        for path in scanned_files()
        for match in DOC_PATH.finditer((ROOT / path).read_text(encoding="utf-8", errors="replace"))
    ]
    assert sum(ref.endswith("docs/lifecycle.md") for ref in cited) >= 30
    assert sum(ref.endswith("docs/idp-dialects.md") for ref in cited) >= 30
    assert any(ref == "docs/api.md" for ref in cited)
    assert any(ref == "docs/architecture.md" for ref in cited)


def test_the_command_line_help_cites_only_repository_documents(capsys):
    text = cli_help(capsys)
    assert "docs/" in text  # it does cite a document, so the check below is not vacuous
    assert problems_in(text, Path("scim_server/cli.py")) == []


@pytest.mark.parametrize("doc", sorted(p.name for p in (ROOT / "docs").glob("*.md")))
def test_links_between_the_documents_resolve(doc: str):
    path = Path("docs") / doc
    text = (ROOT / path).read_text(encoding="utf-8")
    assert problems_in(text, path, links_only=True) == []


def test_the_documents_the_code_cites_exist():
    for doc in ("lifecycle.md", "idp-dialects.md", "api.md", "architecture.md"):
        assert (ROOT / "docs" / doc).is_file()
        assert sections_of(Path("docs") / doc), f"docs/{doc} has no numbered sections"


# --- the check fails on planted bad references -----------------------------------------------

HERE = Path("scim_server/example.py")


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ('"""Rules of lifecycle.md §2.5."""', "'lifecycle.md' is not a file"),  # outside docs/
        ('"""See design/" + "contracts.md §4."""', "is not a file"),
        ("# docs/nothing-here.md", "'docs/nothing-here.md' is not a file"),
        ('"""docs/lifecycle.md §9.9: no such section."""', "has no section §9.9"),
        ('"""docs/idp-dialects.md §0 #5, §2.5, §42."""', "has no section §42"),
        ('"""docs/api.md §3; docs/architecture.md §77."""', "has no section §77"),
        ('"""docs/lifecycle.md rows U1–U9."""', "has no row U9"),
        ("# row Z1: a row nobody wrote", "has no row Z1"),
        ('"""Rows A1/A7: the admin guards."""', "has no row A7"),
        ('"""docs/lifecycle.md rows J2–J5 and Q7."""', "has no row Q7"),
        ('"""rows P1–Q1."""', "has no row Q1"),
    ],
)
def test_a_planted_bad_reference_is_reported(source: str, complaint: str):
    problems = problems_in(source, HERE)
    assert problems, f"not reported: {source}"
    assert any(complaint in problem for problem in problems), problems


def test_a_planted_bad_link_between_documents_is_reported():
    assert problems_in("See [the map](nowhere.md) §1.", Path("docs/api.md"), links_only=True)


@pytest.mark.parametrize(
    "source",
    [
        '"""docs/lifecycle.md §2.5, rows U1–U5 and X1; RFC 7644 §3.6."""',
        '"""docs/idp-dialects.md §0 #5, §2.5 (https://example.com/README.md)."""',
        "# [api](../docs/api.md) §3.2",
        "import hashlib.md5 as nothing  # not a document",
    ],
)
def test_good_references_pass(source: str):
    assert problems_in(source, Path("conformance/example.py")) == []
