#!/usr/bin/env bash
# Run the black-box conformance suite against a live server: `scim-server serve` (gunicorn,
# 2 workers) on a throw-away database, with an organisation made by the CLI.
#
#   scripts/conformance-live.sh sqlite
#   scripts/conformance-live.sh postgresql+psycopg://postgres@127.0.0.1:PORT/scim_test
#   scripts/conformance-live.sh sqlite --markdown docs/conformance.md   # extra suite args
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
database=${1:?usage: scripts/conformance-live.sh sqlite|POSTGRES_URL [suite args...]}
shift
exec .venv/bin/python -m tests.live_server --database "$database" -- \
    .venv/bin/python -m conformance --base-url '{base_url}' --token '{token}' \
    --product-extension "$@"
