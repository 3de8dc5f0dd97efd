#!/usr/bin/env bash
# Run the public SCIM conformance tools (scim2-tester, scim-sanity; pinned in the dev extra)
# against a live server — `scim-server serve` (gunicorn, 2 workers) on a throw-away database —
# and fail on any failure not listed in conformance/allowlist.toml.
#
#   scripts/public-tools.sh sqlite
#   scripts/public-tools.sh postgresql+psycopg://postgres@127.0.0.1:PORT/scim_test
#   scripts/public-tools.sh sqlite --markdown docs/conformance.md   # append the results
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
database=${1:?usage: scripts/public-tools.sh sqlite|POSTGRES_URL [driver args...]}
shift
exec .venv/bin/python -m tests.live_server --database "$database" -- \
    .venv/bin/python -m conformance.public_tools --base-url '{base_url}' --token '{token}' "$@"
