#!/usr/bin/env bash
# The deployments-table budget from DESIGN.md, measured: builds release, loads N deployments with
# `trainyard bench-load`, starts `trainyard serve` on it, and runs
#   wrk -t2 -c64 -d10s --latency '/deployments?status=active&sort=p95&dir=desc'
# printing requests/s and latency percentiles. SQLite always; PostgreSQL too when DATABASE_URL (or
# the throwaway server of scripts/with-postgres.sh) is available — each run gets its own fresh
# database created next to the one in the URL and dropped afterwards.
#
#   bench/deployments.sh                                  100,000 rows
#   ROWS="1000 100000 1000000" bench/deployments.sh       several sizes
#   bash scripts/with-postgres.sh bench/deployments.sh    SQLite and PostgreSQL
#   PATH_QUERY='/deployments?sort=created' bench/deployments.sh
#   LOAD=--audit-rows ROWS=1000000 PATH_QUERY='/audit?actor=user-7' bench/deployments.sh   (see bench/audit.sh)
#
# Budget (2 cores, loopback): ≥ 3,000 req/s with p99 ≤ 50 ms at 100k rows on SQLite, and at most
# 2× slower at 1M rows than at 1k. The runner keeps working during the run (it is part of serve).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${ROWS:-100000}"
DURATION="${DURATION:-10s}"
PATH_QUERY="${PATH_QUERY:-/deployments?status=active&sort=p95&dir=desc}"
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Compiling Trainyard|Build complete" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
[[ -x $bin ]] || { echo "release build failed" >&2; exit 1; }

source "$(dirname "$0")/signin.sh"
LOAD="${LOAD:---rows}"   # bench-load option that sizes the data: --rows (deployments) or --audit-rows

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

server_pid=""
work_dir=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [[ -n $work_dir ]] && rm -rf "$work_dir"
  true
}
trap cleanup EXIT

# run LABEL ROWS [DATABASE_URL]
run() {
  local label=$1 rows=$2 url=${3:-}
  work_dir=$(mktemp -d)
  local args=(--data-dir "$work_dir" --log-level warning)
  [[ -n $url ]] && args+=(--database-url "$url")
  local started=$SECONDS
  "$bin" bench-load $LOAD "$rows" "${args[@]}"
  bench_user "$bin" "${args[@]}"
  echo "loaded $rows rows into $label in $((SECONDS - started)) s"
  local port
  port=$(free_port)
  "$bin" serve "${args[@]}" --port "$port" &
  server_pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
  local cookie status query target
  cookie=$(bench_cookie "http://127.0.0.1:$port")
  # PATH_QUERY may name several URLs, separated by spaces: each is measured on the same data.
  for query in $PATH_QUERY; do
    target="http://127.0.0.1:$port$query"
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$target")
    [[ $status == 200 ]] || { echo "GET $query answered $status" >&2; exit 1; }
    wrk -t2 -c64 -d2s -H "Cookie: $cookie" "$target" >/dev/null   # warm-up
    echo "== $label, $rows rows: wrk -t2 -c64 -d$DURATION --latency '$query'"
    wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $cookie" "$target" | grep -E "requests in|Requests/sec|^ +(50|75|90|99)%|Non-2xx|Socket errors"
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rm -rf "$work_dir"; work_dir=""
}

grep -m1 'model name' /proc/cpuinfo || true
for rows in $ROWS; do
  run SQLite "$rows"
done

if [[ -n $pg_url ]]; then
  base="${pg_url%/*}"
  for rows in $ROWS; do
    db="trainyard_bench_$$_$rows"
    psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
    run PostgreSQL "$rows" "$base/$db"
    psql -q "$pg_url" -c "DROP DATABASE $db" >/dev/null
  done
else
  echo "(PostgreSQL skipped: set DATABASE_URL or run through scripts/with-postgres.sh)"
fi
