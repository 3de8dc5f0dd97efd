#!/usr/bin/env bash
# `make bench` / `make bench-quick`: scripts/bench.py against our server (SQLite and PostgreSQL),
# the reference peer scim2-server and the Flask/SQLAlchemy ceiling, in one run.
#   scripts/bench.sh [--quick] [--million] [--users N] [--requests R] [--only PARTS] ...
# Arguments go to scripts/bench.py. The peer is pip-installed (pinned) into .venv-bench/, away
# from the project's own venv; PostgreSQL is a throw-away cluster (scripts/pg-cluster.sh, which
# never runs the server as root). Results: stdout and the generated blocks of docs/benchmark.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly PEER_VERSION=0.8.3
readonly BENCH_VENV=.venv-bench

installed=$("$BENCH_VENV/bin/python" -c \
    'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null || true)
if [[ $installed != "$PEER_VERSION" || ! -x $BENCH_VENV/bin/scim2-server ]]; then
    rm -rf "$BENCH_VENV"
    python3 -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install --disable-pip-version-check -q "scim2-server==$PEER_VERSION"
fi

dir=$(mktemp -d /tmp/scim-bench.XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg-cluster.sh stop "$dir/cluster" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
url=$(scripts/pg-cluster.sh start "$dir/cluster")
.venv/bin/python scripts/bench.py --database "$url" --peer "$BENCH_VENV/bin/scim2-server" \
    --markdown docs/benchmark.md --command "scripts/bench.sh${*:+ $*}" "$@"
