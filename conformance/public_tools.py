"""Run the public SCIM conformance tools against a live server and judge them by an allow-list.

    python -m conformance.public_tools --base-url URL --token TOKEN [--markdown FILE]

Two tools that no one here wrote, pinned in the ``dev`` extra of pyproject.toml:

- **scim2-tester** (python-scim's RFC 7643/7644 checker), driven by ``check_server`` over an
  ``httpx2`` client with the bearer token;
- **scim-sanity** (a strict live probe), run as ``scim-sanity probe --json-output``.

Every failure a tool reports must be listed, with its reason, in ``conformance/allowlist.toml``;
one that is not makes the exit status 1. An allow-listed check that passed is reported as
stale (not a failure: the entry should then be removed). ``--markdown FILE`` appends both
tools' results and the allow-list to FILE (``make conformance-report`` writes
docs/conformance.md this way, after the suite's own report).

The tools' imports stay inside the functions that use them, so the suite itself
(``python -m conformance``) keeps needing nothing but ``requests``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ALLOWLIST = Path(__file__).resolve().parent / "allowlist.toml"
SCIM2_TESTER = "scim2-tester"
SCIM_SANITY = "scim-sanity"
TOOLS = (SCIM2_TESTER, SCIM_SANITY)
# scim2-tester statuses that break a MUST (ERROR) or are a security problem (CRITICAL).
FAILING_STATUSES = {"ERROR", "CRITICAL"}
# Keys we add to /Schemas attributes and /ResourceTypes to advertise input limits (README
# "Limits"); scim2-models refuses any key RFC 7643 §6-§7 does not name.
LIMIT_KEYS = {"maxLength", "maxItems", "maxResourceBytes"}


@dataclass(frozen=True)
class Finding:
    """One check of one tool: its stable name, whether it failed, and what the tool said."""

    tool: str
    check: str
    failed: bool
    message: str


@dataclass(frozen=True)
class Allowed:
    tool: str
    check: str
    reason: str


def load_allowlist(path: Path = ALLOWLIST) -> list[Allowed]:
    """The allow-list: ``[[allow]]`` tables with ``tool``, ``check`` and a non-empty ``reason``."""
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = []
    for table in document.get("allow", []):
        tool, check, reason = table.get("tool"), table.get("check"), table.get("reason", "")
        if tool not in TOOLS or not check or not str(reason).strip():
            raise ValueError(f"{path.name}: each [[allow]] needs tool in {TOOLS}, check, reason")
        entries.append(Allowed(tool, check, str(reason).strip()))
    return entries


def strip_limit_keys(node: Any) -> Any:
    """A discovery document without our limit keys (see ``LIMIT_KEYS``)."""
    if isinstance(node, dict):
        return {k: strip_limit_keys(v) for k, v in node.items() if k not in LIMIT_KEYS}
    if isinstance(node, list):
        return [strip_limit_keys(item) for item in node]
    return node


def run_scim2_tester(base_url: str, token: str) -> list[Finding]:
    """scim2-tester's checks. Its discovery checks run on the server's own documents; the
    CRUD checks run on a description built from the same documents without the limit keys,
    so one allow-listed extension does not hide the hundred checks behind it."""
    from httpx2 import Client as HttpClient
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_models import ResourceType
    from scim2_models import Schema
    from scim2_models import ScimProvider
    from scim2_tester import check_server

    headers = {"Authorization": f"Bearer {token}"}
    schemas = _listed(base_url, "Schemas", headers)
    resource_types = _listed(base_url, "ResourceTypes", headers)
    provider = ScimProvider.from_discovery(
        [Schema.model_validate(s) for s in schemas],
        [ResourceType.model_validate(r) for r in resource_types],
    )
    client = SyncSCIMClient(HttpClient(base_url=base_url, headers=headers), provider=provider)
    findings = []
    for result in check_server(client):
        status = result.status.name
        findings.append(
            Finding(
                SCIM2_TESTER,
                _tester_check_name(result),
                status in FAILING_STATUSES,
                f"{status}: {result.reason or ''}".strip(),
            )
        )
    return findings


def _tester_check_name(result: Any) -> str:
    """``<resource type>: <check>[ <attribute>]``: one check title covers every attribute
    (``check_add_attribute`` runs once per attribute), so the attribute makes the name unique."""
    name = f"{result.resource_type or 'server'}: {result.title}"
    data = result.data if isinstance(result.data, dict) else {}
    return f"{name} {data['urn']}" if "urn" in data else name


def _listed(base_url: str, endpoint: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    reply = requests.get(f"{base_url}/{endpoint}", headers=headers, timeout=10)
    reply.raise_for_status()
    resources: list[dict[str, Any]] = strip_limit_keys(reply.json()["Resources"])
    return resources


def run_scim_sanity(base_url: str, token: str) -> list[Finding]:
    """scim-sanity's strict probe; a probe that cannot run at all is one failure."""
    command = [
        str(Path(sys.executable).parent / "scim-sanity"),
        "probe",
        base_url,
        "--token",
        token,
        "--i-accept-side-effects",
        "--json-output",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        message = f"exit {done.returncode}: {(done.stderr or done.stdout)[-500:]}"
        return [Finding(SCIM_SANITY, "probe", True, message)]
    return [
        Finding(SCIM_SANITY, r["name"], r["status"] in {"fail", "error"}, _sanity_message(r))
        for r in report["results"]
    ]


def _guarded(
    tool: str, run: Callable[[str, str], list[Finding]], base_url: str, token: str
) -> list[Finding]:
    """A tool that cannot run at all (server down, discovery unreadable) is one failure of
    that tool, never a traceback that would also stop the other tool."""
    try:
        return run(base_url, token)
    except Exception as exc:  # noqa: BLE001 - any crash of a tool is that tool's failure
        return [Finding(tool, "run", True, f"{type(exc).__name__}: {exc}")]


def _sanity_message(result: dict[str, Any]) -> str:
    return f"{result['status']}: {result.get('message') or ''}".strip()


@dataclass(frozen=True)
class Verdict:
    unlisted: list[Finding]
    allowed: list[tuple[Finding, Allowed]]
    stale: list[Allowed]


def judge(findings: list[Finding], allowlist: list[Allowed]) -> Verdict:
    """Split the failures into allow-listed and not; list entries no failure matched."""
    by_key = {(a.tool, a.check): a for a in allowlist}
    failed = [f for f in findings if f.failed]
    allowed = [(f, by_key[(f.tool, f.check)]) for f in failed if (f.tool, f.check) in by_key]
    unlisted = [f for f in failed if (f.tool, f.check) not in by_key]
    hit = {(f.tool, f.check) for f in failed}
    stale = [a for a in allowlist if (a.tool, a.check) not in hit]
    return Verdict(unlisted, allowed, stale)


def counts(findings: list[Finding], tool: str) -> tuple[int, int]:
    """(checks run, failures) for one tool."""
    mine = [f for f in findings if f.tool == tool]
    return len(mine), sum(f.failed for f in mine)


def markdown(findings: list[Finding], verdict: Verdict, allowlist: list[Allowed]) -> str:
    """The public tools' section of docs/conformance.md, allow-list included."""
    lines = ["", "## Public conformance tools", ""]
    lines += [
        "Run by `make test` on SQLite and PostgreSQL (`scripts/public-tools.sh`, driver",
        "`conformance/public_tools.py`); a failure not in `conformance/allowlist.toml` fails",
        "the run.",
        "",
        "| Tool | Checks | Failures | Allow-listed | Not allow-listed |",
        "|---|---|---|---|---|",
    ]
    for tool in TOOLS:
        run, failed = counts(findings, tool)
        listed = sum(1 for f, _ in verdict.allowed if f.tool == tool)
        lines.append(f"| {tool} | {run} | {failed} | {listed} | {failed - listed} |")
    lines += ["", "### Allow-list (`conformance/allowlist.toml`)", ""]
    lines += ["| Tool | Check | Reason |", "|---|---|---|"]
    for entry in allowlist:
        lines.append(f"| {entry.tool} | `{_cell(entry.check)}` | {_cell(entry.reason)} |")
    if verdict.unlisted:
        lines += ["", "### Failures not allow-listed", ""]
        lines += ["| Tool | Check | Message |", "|---|---|---|"]
        for f in verdict.unlisted:
            lines.append(f"| {f.tool} | `{_cell(f.check)}` | {_cell(f.message[:300])} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m conformance.public_tools", description=__doc__)
    p.add_argument("--base-url", required=True, help="SCIM base URL")
    p.add_argument("--token", required=True, help="SCIM bearer token")
    p.add_argument("--markdown", metavar="FILE", help="append the results to FILE")
    p.add_argument("--allowlist", type=Path, default=ALLOWLIST, help="the allow-list file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    allowlist = load_allowlist(args.allowlist)
    base_url = args.base_url.rstrip("/")
    findings = [
        finding
        for tool, run in ((SCIM2_TESTER, run_scim2_tester), (SCIM_SANITY, run_scim_sanity))
        for finding in _guarded(tool, run, base_url, args.token)
    ]
    verdict = judge(findings, allowlist)
    for finding, entry in verdict.allowed:
        print(f"ALLOWED {finding.tool} {finding.check}: {entry.reason}")
    for entry in verdict.stale:
        print(f"STALE   {entry.tool} {entry.check}: allow-listed but did not fail")
    for finding in verdict.unlisted:
        print(f"FAIL    {finding.tool} {finding.check}: {finding.message[:500]}")
    for tool in TOOLS:
        run, failed = counts(findings, tool)
        print(f"{tool}: {run} checks, {failed} failed")
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write(markdown(findings, verdict, allowlist))
    print(f"{len(verdict.unlisted)} failures not in {args.allowlist.name}", flush=True)
    return 1 if verdict.unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
