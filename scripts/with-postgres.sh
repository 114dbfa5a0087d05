#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server:
#
#   scripts/with-postgres.sh swift test
#
# Creates a cluster in a temporary directory (trust auth, 127.0.0.1 on a free port, unix socket
# inside the directory), exports
#   TRAINYARD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   TRAINYARD_TEST_POSTGRES_CTL=<script taking start|stop|restart>
#   TRAINYARD_TEST_POSTGRES_SOCKET_URL=postgres://postgres@/postgres?host=<socket dir>&port=PORT
# runs the command, then always stops the server and deletes the directory. Exits with the
# command's status. Needs the PostgreSQL server binaries (PG_BIN, default the Debian 15 path);
# no network access. As root, the server runs as the `postgres` user (it refuses to run as root).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 64
fi

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
if [ ! -x "$PG_BIN/pg_ctl" ]; then
    PG_BIN="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
fi
if [ ! -x "$PG_BIN/pg_ctl" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "with-postgres: PostgreSQL server binaries not found (set PG_BIN or install postgresql-15)" >&2
    exit 69
fi

as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    as_pg=(runuser -u postgres --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/trainyard-pg.XXXXXX")"
data="$dir/data"
sock="$dir/sock"
log="$dir/server.log"
ctl="$dir/ctl"
mkdir -p "$sock"
if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres: "$dir"
fi

cleanup() {
    if [ -f "$data/postmaster.pid" ]; then
        "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! "${as_pg[@]}" "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    echo "with-postgres: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 70
fi

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

started=""
for _ in 1 2 3 4 5 6 7 8; do
    port=$(( 20000 + RANDOM % 40000 ))
    if port_in_use "$port"; then continue; fi
    # fsync off: a crash loses nothing we care about, and tests run much faster.
    opts="-p $port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 30 -o "$opts" start >/dev/null 2>&1; then
        started=yes
        break
    fi
done
if [ -z "$started" ]; then
    echo "with-postgres: PostgreSQL failed to start; server log:" >&2
    cat "$log" >&2 2>/dev/null || true
    exit 70
fi

as_pg_text=""
if [ "${#as_pg[@]}" -gt 0 ]; then as_pg_text="runuser -u postgres --"; fi
cat >"$ctl" <<CTL
#!/bin/sh
# Controls the throwaway server: start | stop | restart (fast shutdown, waits until done).
case "\$1" in
    start|stop|restart) ;;
    *) echo "usage: \$0 start|stop|restart" >&2; exit 64 ;;
esac
exec $as_pg_text "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 30 -m fast -o "$opts" "\$1" >/dev/null
CTL
chmod 755 "$ctl"

export TRAINYARD_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
export TRAINYARD_TEST_POSTGRES_CTL="$ctl"
# The same server over its Unix socket, for clients on this host (the bench scripts).
export TRAINYARD_TEST_POSTGRES_SOCKET_URL="postgres://postgres@/postgres?host=$sock&port=$port"
echo "with-postgres: PostgreSQL on 127.0.0.1:$port (data in $dir)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
