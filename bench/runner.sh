#!/usr/bin/env bash
# The simulation runner in the steady state of a long-running fleet: ROWS deployments (70 % of
# them active) with an hour of buckets already stored, as after an hour of `serve`. A fresh
# bench-load has no buckets, so the page benches never see the runner's full minute.
# For each build and database, an idle `serve` runs for MINUTES minute(s) and the script prints
#   - CPU seconds a minute of the app and the database server together, and that as a share of
#     the machine (cores × 60 s);
#   - buckets (deployment minutes) the runner wrote, per minute;
#   - active deployments more than a minute behind at the end (0: the runner keeps up);
#   - with PAGE=1, the table page (/deployments?status=active&sort=p95&dir=desc) under
#     wrk -t2 -c64 for that minute: req/s and p99, and the CPU figure then includes the pages.
#   bash bench/runner.sh [BINARY...]                          this checkout's release build by default
#   bash scripts/with-postgres.sh bash bench/runner.sh OLD NEW    PostgreSQL too
#   PAGE=1 bash bench/runner.sh                               the table page meanwhile
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-100000}"
MINUTES="${MINUTES:-1}"
PAGE="${PAGE:-0}"
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"
source bench/postgres-url.sh
source bench/signin.sh

if [ "$#" -eq 0 ]; then
  swift build -c release --product trainyard 2>&1 | grep -E "error|warning: " || true
  set -- "$(swift build -c release --show-bin-path)/trainyard"
fi
for tool in sqlite3:sqlite3 psql:postgresql-client wrk:wrk curl:curl; do
  command -v "${tool%%:*}" >/dev/null || { apt-get install -y -qq "${tool#*:}" >/dev/null 2>&1 || sudo apt-get install -y -qq "${tool#*:}" >/dev/null; }
done
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%Y-%m-%d)"
if [ "$PAGE" = 1 ]; then load="the table page under wrk"; else load="idle"; fi
echo "$ROWS deployments with an hour of buckets, serve for $MINUTES min, $load"

work=""; db=""; spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true
  [ -n "$db" ] && psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT

# CPU seconds so far of every trainyard process and, with PostgreSQL, its server processes.
cpu_seconds() {
  ps -eo comm,time | awk -v pg="$1" '$1 ~ /trainyard$/ || (pg && $1 == "postgres") {
    n = split($2, t, /[-:]/); s += (n == 4 ? t[1] * 86400 : 0) + t[n-2] * 3600 + t[n-1] * 60 + t[n] } END { print s + 0 }'
}

# measure NAME BINARY SQL-CLIENT-COMMAND...: serves, waits for the first ticks, then measures.
measure() {
  local name=$1 bin=$2; shift 2
  local port=$(( 18200 + RANDOM % 500 )) pg=0
  [ "$name" = PostgreSQL ] && pg=1
  bench_user "$bin" --data-dir "$work" ${url:+--database-url "$url"} --log-level error
  "$bin" serve --data-dir "$work" --port "$port" ${url:+--database-url "$url"} --log-level error \
    --max-connections-per-client 0 >/dev/null 2>&1 &
  spid=$!
  sleep 10
  local a b buckets page=""
  a=$(cpu_seconds $pg); buckets=$("$@" "$(count_sql buckets)")
  if [ "$PAGE" = 1 ]; then
    page=$(wrk -t2 -c64 -d$(( MINUTES * 60 ))s --latency -H "Cookie: $(bench_cookie "http://127.0.0.1:$port")" \
      "http://127.0.0.1:$port/deployments?status=active&sort=p95&dir=desc" |
      awk '/Requests\/sec/ {r = $2} $1 == "99%" {p = $2} END {printf "   table %6.0f req/s (p99 %s)", r, p}')
  else
    sleep $(( MINUTES * 60 ))
  fi
  b=$(cpu_seconds $pg); buckets=$(( $("$@" "$(count_sql buckets)") - buckets ))
  local behind; behind=$("$@" "$(count_sql behind)")
  kill "$spid"; wait "$spid" 2>/dev/null || true; spid=""
  awk -v n="$name" -v b="$bin" -v c=$((b - a)) -v m="$MINUTES" -v cores="$(nproc)" -v u="$buckets" -v late="$behind" -v page="$page" 'BEGIN {
    printf "%-10s %-40s %5.1f CPU s/min (%4.1f %% of the machine)   %7d buckets/min   %6d behind%s\n", n, b, c / m, 100 * c / (m * 60 * cores), u / m, late, page }'
}

# Read from the database itself: the buckets stored, and the active deployments whose latest
# figures are older than the minute before this one.
count_sql() {
  local last_minute="(CAST(strftime('%s', 'now') AS INTEGER) / 60 * 60 - 60) * 1000"
  [ -n "${url:-}" ] && last_minute="date_trunc('minute', now()) - interval '1 minute'"
  case $1 in
    buckets) echo "SELECT COUNT(*) FROM inference_metrics" ;;
    behind) echo "SELECT COUNT(*) FROM deployments WHERE status = 'active' AND metrics_source = 'simulated'
                  AND deleted_at IS NULL AND stats_at < $last_minute" ;;
  esac
}

sqlite_sql() { sqlite3 "$work/trainyard.sqlite" "$1"; }
pg_sql() { psql -qAt "$purl" -c "$1"; }

for bin in "$@"; do
  work=$(mktemp -d); url=""
  "$bin" bench-load --rows "$ROWS" --data-dir "$work" --log-level warning >/dev/null
  now=$(( $(date +%s) / 60 * 60 ))
  sqlite3 "$work/trainyard.sqlite" <<SQL
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 60)
INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
SELECT d.id, ($now - g.n * 60) * 1000, 1000, 1, 10, 20, 30 FROM g CROSS JOIN deployments d
WHERE d.status = 'active' ORDER BY g.n DESC, d.id;
UPDATE deployments SET stats_at = ($now - 60) * 1000 WHERE status = 'active';
ANALYZE;
SQL
  measure SQLite "$bin" sqlite_sql
  rm -rf "$work"; work=""

  if [ -n "$pg_url" ]; then
    work=$(mktemp -d); db="trainyard_runner_$$"
    psql -q "$pg_url" -c "CREATE DATABASE $db"
    url=$(pg_app_url "$db"); purl="${pg_url%/*}/$db"
    "$bin" bench-load --rows "$ROWS" --data-dir "$work" --database-url "$url" --log-level warning >/dev/null
    psql -q "$purl" <<SQL
INSERT INTO inference_metrics (deployment_id, bucket, requests, errors, p50_ms, p95_ms, p99_ms)
SELECT d.id, date_trunc('minute', now()) - make_interval(mins => g), 1000, 1, 10, 20, 30
FROM generate_series(1, 60) g CROSS JOIN deployments d WHERE d.status = 'active' ORDER BY g DESC, d.id;
UPDATE deployments SET stats_at = date_trunc('minute', now()) - interval '1 minute' WHERE status = 'active';
VACUUM ANALYZE;
SQL
    measure PostgreSQL "$bin" pg_sql
    psql -q "$pg_url" -c "DROP DATABASE $db"; db=""
    rm -rf "$work"; work=""
  fi
done
