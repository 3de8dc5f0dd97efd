"""Command line: ``python -m conformance --base-url URL --token TOKEN [...]``."""

from __future__ import annotations

import argparse
import sys

from . import runner
from .client import Client


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Black-box SCIM 2.0 conformance suite (RFC 7643/7644 and seven IdP dialects).",
    )
    p.add_argument("--base-url", help="SCIM base URL, e.g. http://127.0.0.1:8000/scim/v2")
    p.add_argument("--token", help="SCIM bearer token")
    p.add_argument("--json", metavar="FILE", help="write a machine-readable report")
    p.add_argument(
        "--markdown", metavar="FILE", help="write a Markdown report (e.g. docs/conformance.md)"
    )
    p.add_argument(
        "--only",
        metavar="PATTERN",
        help="run checks whose name matches (fnmatch glob or substring)",
    )
    p.add_argument(
        "--list", action="store_true", help="list checks with group and source, run nothing"
    )
    p.add_argument(
        "--product-extension",
        action="store_true",
        help="also run the 'lifecycle' group (scim_server product extension)",
    )
    p.add_argument(
        "--verbose", action="store_true", help="print every request and response to stderr"
    )
    args = p.parse_args(argv)
    if not args.list and (not args.base_url or not args.token):
        p.error("--base-url and --token are required (unless --list)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    checks = runner.select(runner.load_checks(), args.only)
    if args.list:
        runner.print_list(checks)
        return 0
    if not checks:
        print(f"no check matches {args.only!r}", file=sys.stderr)
    client = Client(args.base_url, args.token, verbose=args.verbose)
    results = runner.run(checks, client, args)
    if args.json:
        runner.write_json(args.json, results, args.base_url)
    if args.markdown:
        runner.write_markdown(args.markdown, results, args.base_url, args)
    print(runner.summary_line(results), flush=True)
    return 0 if runner.totals(results)[runner.FAILED] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
