#!/usr/bin/env bash
# The tracking API under load (bench/tracking_load.py): 1,000-metric log-batch latency, and
# 100 runs each logging a 10-metric batch every second for 60 s while the monitor of one of
# them is loaded continuously. SQLite by default; DATABASE_URL=postgres://… for PostgreSQL.
# The same load then goes to the reference, MLflow's own tracking server (mlflow 3.17.2 from PyPI
# in .build/mlflow-bench-venv, SQLite backend, its default workers), and the ratios are printed.
#   SECONDS_OF_LOAD=60 RUNS=100 BATCHES=200 bash bench/tracking.sh     REFERENCE=0 skips MLflow
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/signin.sh

swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Build" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
work=$(mktemp -d)
pid=""
ref_pid=""
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; [[ -n $ref_pid ]] && kill -- -$ref_pid 2>/dev/null; rm -rf "$work"' EXIT

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)"
echo "database: ${DATABASE_URL:+PostgreSQL}${DATABASE_URL:-SQLite}" | sed 's/postgres.*//'
bench_user "$bin" --data-dir "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --data-dir "$work" --port "$port" --log-level warning >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

load=(--batches "${BATCHES:-200}" --runs "${RUNS:-100}" --seconds "${SECONDS_OF_LOAD:-60}")
echo "== Trainyard"
python3 bench/tracking_load.py --url "http://127.0.0.1:$port" --username bench --password "$BENCH_PASSWORD" "${load[@]}" --json "$work/trainyard.json"
kill $pid; wait $pid 2>/dev/null || true; pid=""
[[ ${REFERENCE:-1} == 0 ]] && exit 0

venv=.build/mlflow-bench-venv
if [[ ! -x $venv/bin/mlflow ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check mlflow==3.17.2
fi
ref_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$venv/bin/mlflow" server --backend-store-uri "sqlite:///$work/mlflow.db" --default-artifact-root "$work/artifacts" \
  --host 127.0.0.1 --port "$ref_port" >"$work/mlflow.log" 2>&1 &
ref_pid=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$ref_port/health" >/dev/null && break; sleep 0.2; done
echo "== reference: MLflow 3.17.2 tracking server, SQLite"
python3 bench/tracking_load.py --url "http://127.0.0.1:$ref_port" --username bench --password unused "${load[@]}" --no-monitor --json "$work/mlflow.json"
python3 - "$work/trainyard.json" "$work/mlflow.json" <<'PY'
import json, sys
t, m = (json.load(open(p)) for p in sys.argv[1:])
for key, label in (("batch_p50", "log-batch of 1,000, p50"), ("batch_p99", "log-batch of 1,000, p99"),
                   ("runs_p50", "100 runs' 10-metric batches, p50"), ("runs_p99", "100 runs' 10-metric batches, p99")):
    print(f"{label}: Trainyard {t[key]:.1f} ms, MLflow {m[key]:.1f} ms -> {m[key] / t[key]:.1f}x faster")
print(f"errors: Trainyard {t['batch_errors'] + t['runs_errors']}, MLflow {m['batch_errors'] + m['runs_errors']}")
PY
