"""Check registry, runner and reporting (console, JSON, Markdown)."""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

import requests

from .client import Client
from .client import Reply
from .client import truncate

GROUPS = ("rfc", "okta", "entra", "lifecycle")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


# --------------------------------------------------------------------------- outcomes


class CheckFailed(AssertionError):
    """A check found behaviour that contradicts its source."""


class CheckSkipped(Exception):
    """The server does not advertise the feature a check needs."""


def fail(message: str, reply: Reply | None = None) -> None:
    """Fail the running check; with ``reply``, say what was sent and what came back."""
    if reply is not None:
        message = f"{message} — {reply.describe()}"
    raise CheckFailed(message)


def expect(condition: Any, message: str, reply: Reply | None = None) -> None:
    """Fail with ``message`` (and the exchange in ``reply``) unless ``condition`` holds."""
    if not condition:
        fail(message, reply)


def skip(reason: str) -> None:
    raise CheckSkipped(reason)


# --------------------------------------------------------------------------- registry


@dataclass
class Check:
    name: str
    group: str
    source: str
    func: Callable[[Context], None]
    requires: tuple[str, ...] = ()


REGISTRY: dict[str, Check] = {}


def check(name: str, group: str, source: str, requires: tuple[str, ...] | str = ()):
    """Register a check. ``requires`` names ServiceProviderConfig features (e.g. "etag")
    whose ``supported`` must be true, otherwise the check is skipped."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r} for {name}")
    needs = (requires,) if isinstance(requires, str) else tuple(requires)

    def register(func: Callable[[Context], None]):
        if name in REGISTRY:
            raise ValueError(f"duplicate check name {name}")
        REGISTRY[name] = Check(name, group, source, func, needs)
        return func

    return register


def load_checks() -> list[Check]:
    from . import checks_entra  # noqa: F401
    from . import checks_lifecycle  # noqa: F401
    from . import checks_okta  # noqa: F401
    from . import checks_rfc  # noqa: F401

    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(REGISTRY.values(), key=lambda c: order[c.group])


def select(checks: list[Check], pattern: str | None) -> list[Check]:
    if not pattern:
        return checks
    return [c for c in checks if fnmatch.fnmatchcase(c.name, pattern) or pattern in c.name]


# --------------------------------------------------------------------------- context


class Context:
    """What a check gets: the client, the options and a cleanup registry."""

    def __init__(self, client: Client, options: Any, features: Features):
        self.client = client
        self.options = options
        self.features = features
        self._cleanups: list[tuple[str, Callable[[], Any]]] = []

    def defer(self, label: str, func: Callable[[], Any]) -> None:
        self._cleanups.append((label, func))

    def delete_later(self, path: str) -> None:
        """DELETE ``path`` after the check, whatever its outcome (404 is fine)."""
        self.defer(f"DELETE {path}", lambda: self.client.delete(path))

    def run_cleanups(self) -> list[str]:
        problems = []
        while self._cleanups:
            label, func = self._cleanups.pop()
            try:
                result = func()
                if isinstance(result, Reply) and result.status not in (200, 204, 404):
                    problems.append(f"{label} -> {result.status}")
            except Exception as exc:  # cleanup must never hide the check's outcome
                problems.append(f"{label}: {type(exc).__name__}: {truncate(str(exc), 120)}")
        return problems


class Features:
    """ServiceProviderConfig, fetched once, used to decide skips."""

    def __init__(self, client: Client):
        self.client = client
        self._spc: dict | None = None
        self._error: str | None = None

    def spc(self) -> dict:
        if self._spc is None and self._error is None:
            try:
                reply = self.client.get("/ServiceProviderConfig")
                if reply.status == 200 and isinstance(reply.body, dict):
                    self._spc = reply.body
                else:
                    self._error = f"GET /ServiceProviderConfig -> {reply.status}"
            except Exception as exc:
                self._error = f"GET /ServiceProviderConfig failed: {type(exc).__name__}: {exc}"
        if self._spc is None:
            raise CheckFailed(
                f"cannot tell which features are supported ({truncate(self._error, 200)})"
            )
        return self._spc

    def supported(self, feature: str) -> bool:
        entry = self.spc().get(feature)
        return isinstance(entry, dict) and entry.get("supported") is True


# --------------------------------------------------------------------------- running


@dataclass
class Result:
    check: Check
    status: str
    message: str = ""
    duration: float = 0.0
    cleanup: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.status == PASSED:
            return f"PASS {self.check.name}"
        tag = "FAIL" if self.status == FAILED else "SKIP"
        return f"{tag} {self.check.name}: {one_line(self.message)}"


def describe_exception(exc: Exception) -> str:
    """Short text for an unexpected exception; transport errors name the request."""
    if isinstance(exc, requests.RequestException) and exc.request is not None:
        reason = re.search(r"\[Errno -?\d+\][^'\")]*|Read timed out|timed out", str(exc))
        detail = reason.group(0) if reason else truncate(str(exc), 200)
        return f"{type(exc).__name__} on {exc.request.method} {exc.request.url}: {detail}"
    return f"exception {type(exc).__name__}: {exc}"


def one_line(text: str, limit: int = 900) -> str:
    return truncate(text, limit)


def gate(chk: Check, ctx: Context) -> None:
    """Skip a check whose prerequisites are not met."""
    if chk.group == "lifecycle" and not ctx.options.product_extension:
        skip("product-extension check; run with --product-extension")
    for feature in chk.requires:
        if not ctx.features.supported(feature):
            skip(f"/ServiceProviderConfig does not advertise {feature}.supported=true")


def run_one(chk: Check, client: Client, options: Any, features: Features) -> Result:
    ctx = Context(client, options, features)
    start = time.monotonic()
    try:
        gate(chk, ctx)
        chk.func(ctx)
        result = Result(chk, PASSED)
    except CheckSkipped as exc:
        result = Result(chk, SKIPPED, str(exc))
    except CheckFailed as exc:
        result = Result(chk, FAILED, str(exc))
    except Exception as exc:  # an exception is a failure, never a pass
        result = Result(chk, FAILED, describe_exception(exc))
        if options.verbose:
            traceback.print_exc(file=sys.stderr)
    finally:
        problems = ctx.run_cleanups()
    result.cleanup = problems
    result.duration = time.monotonic() - start
    return result


def run(checks: list[Check], client: Client, options: Any, out=sys.stdout) -> list[Result]:
    features = Features(client)
    results = []
    for chk in checks:
        result = run_one(chk, client, options, features)
        print(result.line(), file=out, flush=True)
        if options.verbose and result.cleanup:
            print(f"    cleanup problems: {'; '.join(result.cleanup)}", file=sys.stderr)
        results.append(result)
    return results


# --------------------------------------------------------------------------- reporting


def totals(results: list[Result]) -> dict[str, int]:
    counts = {PASSED: 0, FAILED: 0, SKIPPED: 0}
    for r in results:
        counts[r.status] += 1
    return counts


def summary_line(results: list[Result]) -> str:
    t = totals(results)
    line = f"{t[PASSED]} passed, {t[FAILED]} failed"
    return line + (f", {t[SKIPPED]} skipped" if t[SKIPPED] else "")


def redact(base_url: str) -> str:
    parts = urlsplit(base_url)
    return parts.netloc.rsplit("@", 1)[-1] or base_url


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def write_json(path: str, results: list[Result], base_url: str) -> None:
    doc = {
        "date": now_iso(),
        "server": redact(base_url),
        "totals": totals(results),
        "checks": [
            {
                "name": r.check.name,
                "group": r.check.group,
                "source": r.check.source,
                "status": r.status,
                "message": r.message,
                "duration": round(r.duration, 3),
                **({"cleanup_problems": r.cleanup} if r.cleanup else {}),
            }
            for r in results
        ],
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def _cell(text: str, limit: int = 300) -> str:
    return truncate(text, limit).replace("|", "\\|")


def write_markdown(path: str, results: list[Result], base_url: str, options: Any) -> None:
    t = totals(results)
    lines = [
        "# SCIM 2.0 conformance report",
        "",
        f"- Date: {now_iso()}",
        f"- Server: `{redact(base_url)}` (base URL redacted to its host)",
        f"- Product extension checks: {'on' if options.product_extension else 'off'}"
        + (f"; selection: `{options.only}`" if options.only else ""),
        f"- Totals: **{t[PASSED]} passed, {t[FAILED]} failed, {t[SKIPPED]} skipped**",
        "",
        "Generated by `python -m conformance` (see `conformance/`). Each check cites the RFC",
        "section or IdP document it is written from.",
        "",
        "| Check | Source | Result | Note |",
        "|---|---|---|---|",
    ]
    for r in results:
        result = {"passed": "pass", "failed": "**FAIL**", "skipped": "skip"}[r.status]
        lines.append(
            f"| `{r.check.name}` | {_cell(r.check.source)} | {result} | {_cell(r.message)} |"
        )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def print_list(checks: list[Check], out=sys.stdout) -> None:
    width = max((len(c.name) for c in checks), default=0)
    for c in checks:
        print(f"{c.name:<{width}}  {c.group:<9}  {c.source}", file=out)
    print(f"{len(checks)} checks", file=out)
