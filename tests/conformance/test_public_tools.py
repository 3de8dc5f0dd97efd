"""The public-tools driver's judgement: unlisted failures fail the run, listed ones need reasons.

The tools themselves run against a live server in ``scripts/public-tools.sh`` (a stage of
``make test``); here the allow-list file, the verdict and the report are checked without one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import public_tools
from conformance.public_tools import Allowed
from conformance.public_tools import Finding

ROOT = Path(__file__).resolve().parents[2]


def test_the_allow_list_loads_and_every_entry_has_a_reason():
    entries = public_tools.load_allowlist()
    assert entries
    assert all(e.tool in public_tools.TOOLS and len(e.reason) > 20 for e in entries)
    assert len({(e.tool, e.check) for e in entries}) == len(entries)


def test_an_entry_without_a_reason_is_refused(tmp_path):
    bad = tmp_path / "allow.toml"
    bad.write_text('[[allow]]\ntool = "scim-sanity"\ncheck = "x"\nreason = " "\n')
    with pytest.raises(ValueError, match="reason"):
        public_tools.load_allowlist(bad)


def test_only_unlisted_failures_fail_and_unmatched_entries_are_stale():
    findings = [
        Finding("scim-sanity", "listed", True, "fail: 204"),
        Finding("scim-sanity", "unlisted", True, "fail: 500"),
        Finding("scim2-tester", "listed", True, "ERROR: same name, other tool"),
        Finding("scim-sanity", "passing", False, "pass"),
    ]
    allow = [Allowed("scim-sanity", "listed", "why"), Allowed("scim-sanity", "gone", "why")]
    verdict = public_tools.judge(findings, allow)
    assert [f.check for f in verdict.unlisted] == ["unlisted", "listed"]
    assert [f.tool for f in verdict.unlisted] == ["scim-sanity", "scim2-tester"]
    assert [(f.check, a.reason) for f, a in verdict.allowed] == [("listed", "why")]
    assert [a.check for a in verdict.stale] == ["gone"]


def test_limit_keys_are_stripped_at_every_depth_and_nothing_else():
    doc = {
        "maxResourceBytes": 1,
        "attributes": [{"name": "a", "maxLength": 3, "subAttributes": [{"maxItems": 2}]}],
    }
    assert public_tools.strip_limit_keys(doc) == {
        "attributes": [{"name": "a", "subAttributes": [{}]}]
    }


def test_the_report_lists_counts_the_allow_list_and_unlisted_failures():
    findings = [
        Finding("scim-sanity", "a|b", True, "fail: x"),
        Finding("scim2-tester", "ok", False, "SUCCESS"),
    ]
    allow = [Allowed("scim2-tester", "old", "a reason")]
    text = public_tools.markdown(findings, public_tools.judge(findings, allow), allow)
    assert "| scim-sanity | 1 | 1 | 0 | 1 |" in text
    assert "| scim2-tester | 1 | 0 | 0 | 0 |" in text
    assert "| scim2-tester | `old` | a reason |" in text
    assert "`a\\|b`" in text


def test_docs_conformance_renders_the_current_allow_list():
    """`make conformance-report` was run after the allow-list last changed."""
    report = (ROOT / "docs/conformance.md").read_text(encoding="utf-8")
    for entry in public_tools.load_allowlist():
        assert f"| {entry.tool} | `{entry.check}` |" in report, entry.check


def test_a_tool_that_cannot_reach_the_server_is_one_unlisted_failure(capsys):
    """Nothing listens on port 9 of localhost: both tools fail to run, neither raises."""
    rc = public_tools.main(["--base-url", "http://127.0.0.1:9/scim/v2", "--token", "t"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL    scim2-tester run: " in out and "FAIL    scim-sanity " in out
