#!/usr/bin/env bash
# Every test, on both databases: what `make test` and CI run.
#
#   scripts/test.sh [PYTEST ARGS...]     e.g. scripts/test.sh -k patch -x
#
# 0. Chromium for the console's browser tests (tests/browser): the Debian package, installed
#    with apt-get when missing (as scripts/pg-cluster.sh installs PostgreSQL); where it
#    cannot be installed those tests skip with a loud reason and the summary says so
# 1. a throw-away PostgreSQL cluster (scripts/pg-cluster.sh), removed on any exit
# 2. pytest with SCIM_TEST_DATABASE_URL=<that cluster>, in the background
# 3. at the same time, pytest on SQLite (SCIM_TEST_DATABASE_URL unset)
# 4. scripts/conformance-live.sh on sqlite and on that cluster, when the script exists
# 5. scripts/public-tools.sh (scim2-tester, scim-sanity, judged by conformance/allowlist.toml)
#    on sqlite and on that cluster
#
# Extra arguments go to both pytest runs. Every stage runs even when an earlier one failed;
# the exit status is non-zero if any failed. pytest's "no tests collected" (5) is a failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly PYTEST=(.venv/bin/pytest -q -p no:cacheprovider)
readonly CONFORMANCE=scripts/conformance-live.sh
readonly PUBLIC_TOOLS=scripts/public-tools.sh

SUMMARY=()
FAILED=0
PG_DIR=
PG_URL=

note() { printf '\n==> %s\n' "$*"; }

# record STAGE RESULT DETAIL: remember a summary line and print it now.
record() {
    local line
    line=$(printf '%-22s %-4s %s' "$1" "$2" "$3")
    SUMMARY+=("$line")
    [[ $2 == FAIL ]] && FAILED=1
    printf '%s\n' "--> $line"
}

# shellcheck disable=SC2317  # called through trap, not unreachable
cleanup() {
    local rc=$? line
    set +e
    trap '' INT TERM   # a second Ctrl-C must not leave the cluster behind
    if [[ -n ${pg_pid:-} ]] && kill -0 "$pg_pid" 2>/dev/null; then
        kill -TERM -- "-$pg_pid" 2>/dev/null
        wait "$pg_pid" 2>/dev/null
    fi
    if [[ -n $PG_DIR ]]; then
        if bash scripts/pg-cluster.sh stop "$PG_DIR"; then
            record "postgres cluster stop" ok "removed $PG_DIR"
        else
            record "postgres cluster stop" FAIL "could not remove $PG_DIR"
            [[ $rc -eq 0 ]] && rc=1
        fi
    fi
    printf '\n==> summary\n'
    for line in "${SUMMARY[@]}"; do
        printf '    %s\n' "$line"
    done
    if [[ $rc -eq 0 ]]; then
        printf '==> all stages passed\n'
    else
        printf '==> FAILED (exit %d)\n' "$rc"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM

# record_pytest STAGE RC SECONDS: pytest's exit status as a summary line.
record_pytest() {
    local took="($3s)"
    case $2 in
        0) record "$1" ok "$took" ;;
        5) record "$1" FAIL "no tests ran (pytest exit 5: nothing collected or all deselected) $took" ;;
        *) record "$1" FAIL "pytest exit $2 $took" ;;
    esac
}

# run_conformance STAGE TARGET [SCRIPT]
run_conformance() {
    local stage=$1 target=$2 script=${3:-$CONFORMANCE} rc=0 start=$SECONDS
    note "$stage: $script $target"
    "$script" "$target" || rc=$?
    if [[ $rc -eq 0 ]]; then
        record "$stage" ok "($((SECONDS - start))s)"
    else
        record "$stage" FAIL "exit $rc ($((SECONDS - start))s)"
    fi
}

if [[ ! -x ${PYTEST[0]} ]]; then
    echo "test.sh: ${PYTEST[0]} not found; run 'make venv' (or just 'make test') first" >&2
    exit 1
fi

# ensure_chromium: the browser tests' Chromium (SCIM_CHROMIUM, default /usr/bin/chromium).
ensure_chromium() {
    local browser=${SCIM_CHROMIUM:-/usr/bin/chromium}
    local -a sudo=()
    if [[ -x $browser ]]; then
        record "chromium" ok "$browser"
        return
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        record "chromium" skip "NOT INSTALLED and no apt-get: tests/browser will be SKIPPED"
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && { [[ -t 0 ]] || sudo -n true 2>/dev/null; }; then
            sudo=(sudo)
        else
            record "chromium" skip "NOT INSTALLED, needs root (sudo apt-get install chromium): tests/browser will be SKIPPED"
            return
        fi
    fi
    note "chromium: not found; installing the Debian package 'chromium'"
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2 \
        && [[ -x $browser ]]; then
        record "chromium" ok "installed $browser"
    else
        record "chromium" skip "apt-get install chromium FAILED: tests/browser will be SKIPPED"
    fi
}

# 0. Chromium
ensure_chromium

# 1. PostgreSQL cluster, started first so that both pytest stages can run side by side
note "postgres cluster: scripts/pg-cluster.sh start"
PG_DIR=$(mktemp -d /tmp/scim-pg.XXXXXX)
chmod 755 "$PG_DIR"
pg_start=$SECONDS
if PG_URL=$(bash scripts/pg-cluster.sh start "$PG_DIR") && [[ -n $PG_URL ]]; then
    record "postgres cluster start" ok "$PG_URL ($((SECONDS - pg_start))s)"
else
    PG_URL=
    record "postgres cluster start" FAIL "see the messages above ($((SECONDS - pg_start))s)"
fi

# 2. and 3. pytest on PostgreSQL in the background (its output to a log, shown when it ends)
# while pytest on SQLite runs in the foreground: each is one single-threaded process, so on
# two or more cores the pair takes about as long as the slower one. Each has its own
# --basetemp: pytest prunes old numbered temp directories of the same user.
PG_LOG=$PG_DIR/pytest-postgres.log
pg_pid=
if [[ -n $PG_URL ]]; then
    # tests/browser serve their own SQLite file whatever the database: once is enough
    note "pytest postgres (in the background, output at the end): ${PYTEST[*]} --ignore=tests/browser $*"
    pg_pytest_start=$SECONDS
    # its own process group (setsid), so that cleanup can stop it and its live servers
    setsid env SCIM_TEST_DATABASE_URL="$PG_URL" "${PYTEST[@]}" --basetemp="$PG_DIR/pytest-tmp" \
        --ignore=tests/browser "$@" >"$PG_LOG" 2>&1 &
    pg_pid=$!
else
    record "pytest postgres" FAIL "not run: no cluster"
fi

note "pytest sqlite: ${PYTEST[*]} $*"
SQLITE_TMP=$(mktemp -d /tmp/scim-pytest.XXXXXX)
rc=0 start=$SECONDS
env -u SCIM_TEST_DATABASE_URL "${PYTEST[@]}" --basetemp="$SQLITE_TMP" "$@" || rc=$?
record_pytest "pytest sqlite" "$rc" "$((SECONDS - start))"
rm -rf "$SQLITE_TMP"

if [[ -n $pg_pid ]]; then
    rc=0
    wait "$pg_pid" || rc=$?
    pg_pid=
    note "pytest postgres: its output"
    cat "$PG_LOG"
    record_pytest "pytest postgres" "$rc" "$((SECONDS - pg_pytest_start))"
fi

# 4. Black-box conformance suite against a live server
if [[ -f $CONFORMANCE && -x $CONFORMANCE ]]; then
    run_conformance "conformance sqlite" sqlite
    if [[ -n $PG_URL ]]; then
        run_conformance "conformance postgres" "$PG_URL"
    else
        record "conformance postgres" FAIL "not run: no cluster"
    fi
else
    record "conformance" skip "$CONFORMANCE not present (or not executable)"
fi

# 5. Public conformance tools against a live server, judged by conformance/allowlist.toml
run_conformance "public tools sqlite" sqlite "$PUBLIC_TOOLS"
if [[ -n $PG_URL ]]; then
    run_conformance "public tools postgres" "$PG_URL" "$PUBLIC_TOOLS"
else
    record "public tools postgres" FAIL "not run: no cluster"
fi

exit "$FAILED"
