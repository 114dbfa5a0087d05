#!/usr/bin/env bash
# Table exports measured: builds release, loads SMALL and then ROWS deployments with
# `trainyard bench-load`, starts `trainyard serve` on each, and downloads
#   /deployments.csv?status=active, /deployments.csv, /deployments.json
# and /deployments.csv again through a reader limited to SLOW_RATE (curl --limit-rate), checking
# that each file has exactly as many rows as the database holds. For each download it prints
# rows, bytes, seconds, MB/s and the server's peak RSS (VmHWM in /proc/PID/status) before and
# after: if the export's memory is bounded, the growth at ROWS is that of SMALL, not 100× it.
# SQLite always; PostgreSQL too when DATABASE_URL (or scripts/with-postgres.sh) is available.
#
#   bench/export.sh                                     1,000 then 100,000 rows
#   ROWS=1000000 bench/export.sh
#   bash scripts/with-postgres.sh bench/export.sh       SQLite and PostgreSQL
#
# Do not run it while something else builds on the machine: the figures would be the build's.
set -euo pipefail
cd "$(dirname "$0")/.."

SMALL="${SMALL:-1000}"
ROWS="${ROWS:-100000}"
SLOW_RATE="${SLOW_RATE:-4M}"
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"

command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 1; }
swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Compiling Trainyard|Build complete" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
[[ -x $bin ]] || { echo "release build failed" >&2; exit 1; }

source "$(dirname "$0")/signin.sh"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

server_pid=""
work_dir=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [[ -n $work_dir ]] && rm -rf "$work_dir"
  true
}
trap cleanup EXIT

# count URL WHERE: rows of deployments matching WHERE, asked of the database itself.
count() {
  local url=$1 where=$2
  if [[ -n $url ]]; then
    psql -qtA "$url" -c "SELECT COUNT(*) FROM deployments WHERE $where"
  else
    python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM deployments WHERE " + sys.argv[2]).fetchone()[0])' \
      "$work_dir/trainyard.sqlite" "$where"
  fi
}

hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status"; }

# run LABEL ROWS [DATABASE_URL]
run() {
  local label=$1 rows=$2 url=${3:-}
  work_dir=$(mktemp -d)
  local args=(--data-dir "$work_dir" --log-level warning)
  [[ -n $url ]] && args+=(--database-url "$url")
  local started=$SECONDS
  "$bin" bench-load --rows "$rows" "${args[@]}"
  bench_user "$bin" "${args[@]}"
  echo "loaded $rows rows into $label in $((SECONDS - started)) s"
  local port
  port=$(free_port)
  "$bin" serve "${args[@]}" --port "$port" &
  server_pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
  local cookie base
  cookie=$(bench_cookie "http://127.0.0.1:$port")
  base="http://127.0.0.1:$port"
  # Warm-up: the page, and an export that matches nothing, so every code path has run once.
  curl -fs -o /dev/null -H "Cookie: $cookie" "$base/deployments?status=active&sort=p95&dir=desc"
  curl -fs -o /dev/null -H "Cookie: $cookie" "$base/deployments.csv?q=no-such-deployment"
  local start_kb
  start_kb=$(hwm_kb)
  echo "== $label, $rows deployments: server peak RSS after start-up and warm-up: $((start_kb / 1024)) MiB"
  printf '%-34s %9s %11s %8s %8s %16s\n' "download" "rows" "bytes" "seconds" "MB/s" "peak RSS (MiB)"
  local query where rate out stats code size seconds got expected before after
  for spec in "/deployments.csv?status=active|status = 'active'|" "/deployments.csv||" "/deployments.json||" \
              "/deployments.csv||$SLOW_RATE"; do
    IFS='|' read -r query where rate <<<"$spec"
    expected=$(count "$url" "deleted_at IS NULL${where:+ AND $where}")
    out="$work_dir/export.out"
    before=$(hwm_kb)
    stats=$(curl -s -o "$out" -w '%{http_code} %{size_download} %{time_total}' ${rate:+--limit-rate "$rate"} -H "Cookie: $cookie" "$base$query")
    after=$(hwm_kb)
    read -r code size seconds <<<"$stats"
    [[ $code == 200 ]] || { echo "GET $query answered $code" >&2; exit 1; }
    if [[ $query == *.json* ]]; then
      got=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$out")
    else
      got=$(( $(wc -l <"$out") - 1 ))   # bench rows hold no line breaks; minus the header
    fi
    [[ $got == "$expected" ]] || { echo "GET $query: $got rows, the database has $expected" >&2; exit 1; }
    printf '%-34s %9s %11s %8.2f %8.1f %6d → %-6d\n' "$query${rate:+ at $rate/s}" "$got" "$size" "$seconds" \
      "$(python3 -c "print($size / $seconds / 1e6)")" $((before / 1024)) $((after / 1024))
  done
  echo "   peak RSS grew by $(( ($(hwm_kb) - start_kb) / 1024 )) MiB over these downloads"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  rm -rf "$work_dir"; work_dir=""
}

grep -m1 'model name' /proc/cpuinfo || true
run SQLite "$SMALL"
run SQLite "$ROWS"

if [[ -n $pg_url ]]; then
  pg_base="${pg_url%/*}"
  for rows in "$SMALL" "$ROWS"; do
    db="trainyard_export_bench_$$_$rows"
    psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
    run PostgreSQL "$rows" "$pg_base/$db"
    psql -q "$pg_url" -c "DROP DATABASE $db" >/dev/null
  done
else
  echo "(PostgreSQL skipped: set DATABASE_URL or run through scripts/with-postgres.sh)"
fi
