"""Runner and reporting (console, JSON, Markdown); the checks register in ``registry``."""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

import requests

from . import checks_entra  # noqa: F401  (importing a check module registers its checks)
from . import checks_google  # noqa: F401
from . import checks_jumpcloud  # noqa: F401
from . import checks_lifecycle  # noqa: F401
from . import checks_okta  # noqa: F401
from . import checks_onelogin  # noqa: F401
from . import checks_ping  # noqa: F401
from . import checks_rfc_bulk  # noqa: F401
from . import checks_rfc_discovery  # noqa: F401
from . import checks_rfc_errors  # noqa: F401
from . import checks_rfc_filtering  # noqa: F401
from . import checks_rfc_groups  # noqa: F401
from . import checks_rfc_patch  # noqa: F401
from . import checks_rfc_search  # noqa: F401
from . import checks_rfc_users  # noqa: F401
from . import checks_rippling  # noqa: F401
from .client import Client
from .client import truncate
from .registry import GROUPS
from .registry import REGISTRY
from .registry import Check
from .registry import CheckFailed
from .registry import CheckSkipped
from .registry import Context
from .registry import Features
from .registry import skip

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


def load_checks() -> list[Check]:
    """Every registered check, ordered by group (registration order within a group)."""
    order = {g: i for i, g in enumerate(GROUPS)}
    return sorted(REGISTRY.values(), key=lambda c: order[c.group])


def select(checks: list[Check], pattern: str | None) -> list[Check]:
    if not pattern:
        return checks
    return [c for c in checks if fnmatch.fnmatchcase(c.name, pattern) or pattern in c.name]


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
