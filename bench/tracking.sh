#!/usr/bin/env bash
# The tracking API under load (bench/tracking_load.py): 1,000-metric log-batch latency, and
# 100 runs each logging a 10-metric batch every second for 60 s while the monitor of one of
# them is loaded continuously. SQLite by default; DATABASE_URL=postgres://… for PostgreSQL.
#   SECONDS_OF_LOAD=60 RUNS=100 BATCHES=200 bash bench/tracking.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/signin.sh

swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Build" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
work=$(mktemp -d)
pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)"
echo "database: ${DATABASE_URL:+PostgreSQL}${DATABASE_URL:-SQLite}" | sed 's/postgres.*//'
bench_user "$bin" --data-dir "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$work" --port "$port" --log-level warning >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

python3 bench/tracking_load.py --url "http://127.0.0.1:$port" --username bench --password "$BENCH_PASSWORD" \
  --batches "${BATCHES:-200}" --runs "${RUNS:-100}" --seconds "${SECONDS_OF_LOAD:-60}"
