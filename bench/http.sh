#!/usr/bin/env bash
# HTTP throughput of `trainyard serve` (release build) against nginx on the same machine:
#   wrk -t2 -c64 -d10s on /healthz, / (dashboard, demo data) and a static file.
# Usage: bash bench/http.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"

bash scripts/install-deps.sh
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { apt-get install -y -qq "$tool" >/dev/null || sudo apt-get install -y -qq "$tool" >/dev/null; }
done

swift build -c release --product trainyard >/dev/null
bin="$(swift build -c release --show-bin-path)/trainyard"
work=$(mktemp -d)
chmod 755 "$work"   # nginx's workers run as another user: in a 0700 directory every answer would be a 403
trap 'kill $(jobs -p) 2>/dev/null || true; nginx -p "$work/nginx" -c nginx.conf -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

source "$(dirname "$0")/signin.sh"
"$bin" seed-demo --data-dir "$work/data" --log-level error
bench_user "$bin" --data-dir "$work/data" --log-level error
"$bin" serve --data-dir "$work/data" --port 18080 --log-level error &
mkdir -p "$work/nginx/logs" "$work/nginx/html"
echo "ok" > "$work/nginx/html/healthz"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:18081; root $work/nginx/html; }
}
CONF
nginx -p "$work/nginx" -c nginx.conf
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/healthz >/dev/null && break; sleep 0.1; done

cookie=$(bench_cookie http://127.0.0.1:18080)
[[ -n $cookie ]] || { echo "cannot sign in as the bench user" >&2; exit 1; }

run() {
  local label=$1 url=$2
  local out
  out=$(wrk -t2 -c64 -d"${duration}s" --latency -H "Cookie: $cookie" "$url")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-34s %12s req/s   p50 %8s   p99 %8s\n' "$label" "$rps" "$p50" "$p99"
}

echo "wrk -t2 -c64 -d${duration}s, $(nproc) cores, loopback"
run "nginx static file (reference)" http://127.0.0.1:18081/healthz
run "trainyard /healthz" http://127.0.0.1:18080/healthz
run "trainyard /static/app.css" http://127.0.0.1:18080/static/app.css
run "trainyard / (dashboard, SQLite)" http://127.0.0.1:18080/
