#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite.
#
#   scripts/pg-cluster.sh start DIR   create and start a cluster in DIR (a fresh, empty directory);
#                                     prints exactly one line on stdout, the SQLAlchemy URL
#                                     postgresql+psycopg://postgres@127.0.0.1:PORT/scim_test
#   scripts/pg-cluster.sh stop DIR    stop it (immediate mode) and remove DIR; safe to call after
#                                     a start that failed halfway, or twice
#
# Uses Debian's server binaries (/usr/lib/postgresql/<version>/bin, highest version first) and
# installs the `postgresql` package when initdb/pg_ctl cannot be found. PostgreSQL never runs as
# root: as root, the cluster belongs to the `postgres` user and is driven through runuser.
# Everything except the URL goes to stderr or to DIR/postgres.log.
set -euo pipefail

readonly MARKER=.scim-pg-cluster   # written first by `start`; `stop` removes only marked dirs
readonly DB_NAME=scim_test

log() { printf 'pg-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    echo "usage: $0 start DIR | stop DIR" >&2
    exit 2
}

# Print the first directory holding both initdb and pg_ctl: $PG_BINDIR if set, then Debian's
# /usr/lib/postgresql/*/bin by descending version, then $PATH.
find_bindir() {
    local d candidates=()
    if [[ -n ${PG_BINDIR:-} ]]; then
        candidates+=("$PG_BINDIR")
    fi
    while IFS= read -r d; do
        candidates+=("$d")
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -t/ -k5,5 -V -r)
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(command -v initdb)")")
    fi
    for d in "${candidates[@]}"; do
        if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

install_postgresql() {
    local -a sudo=()
    if ! command -v apt-get >/dev/null 2>&1; then
        die "PostgreSQL server binaries (initdb, pg_ctl) not found and apt-get is not available;" \
            "install PostgreSQL yourself (or set PG_BINDIR)"
    fi
    if [[ $(id -u) -ne 0 ]]; then
        # Without a terminal (CI) sudo must not wait for a password that nobody can type.
        if command -v sudo >/dev/null 2>&1 && { [[ -t 0 ]] || sudo -n true 2>/dev/null; }; then
            sudo=(sudo)
        else
            die "PostgreSQL server binaries (initdb, pg_ctl) not found, and installing them" \
                "needs root (no usable sudo). Run: sudo apt-get install postgresql" \
                "(or set PG_BINDIR to a directory holding initdb and pg_ctl)"
        fi
    fi
    log "PostgreSQL server binaries not found; installing the Debian package 'postgresql'"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
        || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 \
        || die "apt-get install -y postgresql failed"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Run a PostgreSQL server program as the cluster's owner: `postgres` when we are root,
# ourselves otherwise. Run from DIR, so an unreadable working directory does not matter.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$DIR" && runuser -u postgres -- "$@")
    else
        (cd "$DIR" && "$@")
    fi
}

# Stop the server if one may be running in DIR/data. Never fails.
stop_server() {
    local bindir pid
    [[ -f $DIR/data/postmaster.pid ]] || return 0
    bindir=$(cat "$DIR/bindir" 2>/dev/null || find_bindir || true)
    if [[ -n $bindir && -x $bindir/pg_ctl ]]; then
        as_owner "$bindir/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >&2 || true
    fi
    # Last resort if pg_ctl could not do it: the postmaster's pid is the file's first line.
    if [[ -f $DIR/data/postmaster.pid ]]; then
        pid=$(head -n 1 "$DIR/data/postmaster.pid" 2>/dev/null || true)
        if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]]; then
            log "pg_ctl stop did not stop postmaster $pid; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
}

cmd_start() {
    local bindir port attempt locale_opt url started=0

    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    if [[ -n $(ls -A "$DIR") && ! -e $DIR/$MARKER ]]; then
        die "$DIR is not empty; give start a fresh directory (e.g. from mktemp -d)"
    fi
    [[ -e $DIR/data ]] && die "$DIR already holds a cluster; stop it first"
    : >"$DIR/$MARKER"

    if ! bindir=$(find_bindir); then
        install_postgresql
        bindir=$(find_bindir) || die "installed 'postgresql' but still found no initdb/pg_ctl"
    fi
    printf '%s\n' "$bindir" >"$DIR/bindir"
    log "using $bindir ($("$bindir/pg_ctl" --version))"

    chmod 755 "$DIR"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 \
            || die "running as root but there is no 'postgres' user to own the cluster"
        chown -R postgres: "$DIR"
        runuser -u postgres -- test -w "$DIR" -a -x "$DIR" \
            || die "the postgres user cannot write to $DIR; every parent directory must be" \
                   "traversable (chmod o+x), e.g. use mktemp -d under /tmp"
    fi
    mkdir -p "$DIR/socket"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$DIR/socket"
    fi

    # C.UTF-8 ships with glibc: Unicode-aware upper()/lower(), code-point ordering.
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
        locale_opt=--locale=C.UTF-8
    else
        locale_opt=--no-locale
    fi
    as_owner "$bindir/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 "$locale_opt" \
        --no-sync >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }

    cat >>"$DIR/data/postgresql.conf" <<EOF

# --- throw-away test cluster (scripts/pg-cluster.sh) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/socket'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
EOF

    # A port picked now can be taken by someone else before postgres binds it: retry.
    for attempt in 1 2 3 4 5; do
        port=$(free_port) || die "could not pick a free port (python3 needed)"
        rm -f "$DIR/postgres.log"
        if as_owner "$bindir/pg_ctl" -D "$DIR/data" -l "$DIR/postgres.log" -o "-p $port" \
            -w -t 60 start >&2; then
            started=1
            break
        fi
        stop_server
        if grep -q 'could not bind\|Address already in use' "$DIR/postgres.log" 2>/dev/null; then
            log "port $port was taken; retrying (attempt $attempt)"
            continue
        fi
        break
    done
    if [[ $started -ne 1 ]]; then
        tail -n 30 "$DIR/postgres.log" >&2 2>/dev/null || true
        die "pg_ctl start failed (log: $DIR/postgres.log)"
    fi
    printf '%s\n' "$port" >"$DIR/port"

    if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB_NAME" >&2; then
        stop_server
        die "createdb $DB_NAME failed"
    fi

    url="postgresql+psycopg://postgres@127.0.0.1:$port/$DB_NAME"
    log "cluster ready in $DIR on 127.0.0.1:$port"
    printf '%s\n' "$url"
}

cmd_stop() {
    [[ -d $DIR ]] || return 0
    DIR=$(cd "$DIR" && pwd -P)
    if [[ ! -e $DIR/$MARKER ]]; then
        # start never got as far as marking it: remove it only if it is empty.
        if [[ -z $(ls -A "$DIR") ]]; then
            rmdir "$DIR"
            return 0
        fi
        die "$DIR was not made by '$0 start'; not removing it"
    fi
    stop_server
    rm -rf -- "$DIR"
}

[[ $# -eq 2 && -n $2 ]] || usage
DIR=$2
case $1 in
    start) cmd_start ;;
    stop) cmd_stop ;;
    *) usage ;;
esac
