#!/usr/bin/env bash
# `make bench`: a throw-away PostgreSQL cluster, then scripts/bench.py against it.
#   scripts/bench.sh [--users N] [--requests R] ...   (arguments go to bench.py)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=$(mktemp -d /tmp/scim-bench.XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg-cluster.sh stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
url=$(scripts/pg-cluster.sh start "$dir/cluster")
.venv/bin/python scripts/bench.py --database "$url" --markdown docs/benchmark.md "$@"
