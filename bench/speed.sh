#!/usr/bin/env bash
# The page-path speed targets, each printed beside its reference from the same run on the same
# machine (a ratio holds across CPUs of one machine kind where a req/s does not):
#   - nginx (a 3-byte static file) against /healthz;
#   - / (dashboard, demo data) and the monitor of a running job;
#   - /deployments?status=active&sort=p95&dir=desc at ROWS rows: Trainyard on SQLite (and
#     PostgreSQL under scripts/with-postgres.sh), nginx serving the same page's bytes as a static
#     file, the Flask peer (../shared/peers/flask) on the same number of rows, a revalidation
#     that still matches (If-None-Match → 304), and the page gzipped;
#   - TrainyardBench table: server time and heap allocations per request without a socket.
# Every wrk run is wrk -t2 -c64 -d$DURATION --latency after a 2 s warm-up, except the table's
# renders, which run for TABLE_DURATION (a whole minute): the simulation runner writes each
# active deployment's bucket early in every minute, so a 10 s run's figure depends on where in
# the minute it fell. Each line ends with the seconds of the minute its run covered.
#   bash bench/speed.sh                                   ROWS=100000, DURATION=10s, TABLE_DURATION=60s
#   bash scripts/with-postgres.sh bash bench/speed.sh     PostgreSQL too
#   PEER=0 bash bench/speed.sh                            without the Flask peer
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-100000}"
DURATION="${DURATION:-10s}"
TABLE_DURATION="${TABLE_DURATION:-60s}"
PEER="${PEER:-1}"
QUERY='/deployments?status=active&sort=p95&dir=desc'
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"

source bench/postgres-url.sh
peer_dir="$(cd .. && pwd)/shared/peers/flask"

for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || { apt-get install -y -qq "$tool" >/dev/null 2>&1 || sudo apt-get install -y -qq "$tool" >/dev/null; }
done
swift build -c release --product trainyard 2>&1 | grep -E "error|warning: " || true
swift build -c release --product TrainyardBench 2>&1 | grep -E "error|warning: " || true
bindir="$(swift build -c release --show-bin-path)"
bin="$bindir/trainyard"
source bench/signin.sh
# wrk is one client with 64 connections, and the next run's open before the last one's have all
# closed: the per-client cap (64) would answer some with 503, so it is off here.
uncapped="--max-connections-per-client 0"

work=$(mktemp -d)
chmod 755 "$work"   # nginx's workers run as another user: a 0700 temporary directory would make every answer a 403
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  nginx -p "$work/nginx" -c nginx.conf -s stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# measure LABEL URL [wrk options...]: prints one line; leaves req/s in $rps and p99 in $p99.
# MEASURE_FOR=60s measure … runs longer than DURATION.
measure() {
  local label=$1 url=$2; shift 2
  wrk -t2 -c64 -d2s "$@" "$url" >/dev/null
  local out from
  from=$(date +%S)
  out=$(wrk -t2 -c64 -d"${MEASURE_FOR:-$DURATION}" --latency "$@" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  revalidated=$(grep '^responses:' <<<"$out" || true)
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local bad
  bad=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | tr '\n' ' ' || true)
  printf '%-58s %10.0f req/s   p99 %9s  [:%s–:%s] %s\n' "$label" "$rps" "$p99" "$from" "$(date +%S)" "$bad"
  [[ -z $bad || $* == *revalidate.lua* ]] || { echo "$label: wrk saw errors; the figure is not a measurement" >&2; exit 1; }
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
summary=()
target() { summary+=("$(printf '%-62s %-24s %s' "$1" "$2" "$3")"); }
# The req/s and p99 targets were set on a host whose nginx served the static file at
# 113,000-122,000 req/s; this machine kind comes with CPUs twice apart. So each such target is
# also printed scaled by this run's nginx against the top of that range (the stricter end):
# a req/s target times nginx's req/s here / REFERENCE_NGINX, a p99 budget divided by it. One
# nginx run moves by a fifth between minutes, so nginx runs twice and the larger counts.
REFERENCE_NGINX=122000
to_ms() { awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
  if (u == "us") n /= 1000; else if (u == "s") n *= 1000; printf "%.2f", n }'; }
# scaled_target LABEL TARGET_RPS RPS [P99_BUDGET_MS P99] keeps its place in the summary; the line
# is written at the end (scale_targets), against the larger of nginx's two runs, the stricter.
scaled_target() { summary+=("@scaled|$1|$2|$3|${4:-}|${5:-}"); }
scale_targets() {
  local i label wanted rps budget p99 line
  for i in "${!summary[@]}"; do
    [[ ${summary[$i]} == @scaled\|* ]] || continue
    IFS='|' read -r _ label wanted rps budget p99 <<<"${summary[$i]}"
    wanted=$(awk -v t="$wanted" -v n="$nginx_reference" -v r="$REFERENCE_NGINX" 'BEGIN { printf "%.0f", t * n / r }')
    line="≥ $wanted req/s: $(awk -v a="$rps" -v b="$wanted" 'BEGIN { print (a >= b) ? "met" : "not met" }')"
    if [[ -n $budget ]]; then
      budget=$(awk -v t="$budget" -v n="$nginx_reference" -v r="$REFERENCE_NGINX" 'BEGIN { printf "%.1f", t * r / n }')
      line+="; p99 ≤ $budget ms: $(awk -v a="$(to_ms "$p99")" -v b="$budget" 'BEGIN { print (a <= b) ? "met" : "not met" }')"
    fi
    summary[$i]=$(printf '%-62s %s' "  $label, scaled to this host's nginx" "$line")
  done
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo "wrk -t2 -c64 -d$DURATION (the table's renders -d$TABLE_DURATION) --latency, loopback, release build"
echo

# nginx: two workers, as Debian ships it on two cores.
mkdir -p "$work/nginx/logs" "$work/nginx/html"
printf 'ok\n' > "$work/nginx/html/healthz"
nginx_port=$(free_port)
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$nginx_port; root $work/nginx/html; } }
CONF
nginx -p "$work/nginx" -c nginx.conf

# --- /healthz and the dashboard on demo data ---
"$bin" seed-demo --data-dir "$work/demo" --log-level error
bench_user "$bin" --data-dir "$work/demo" --log-level error
demo_port=$(free_port)
"$bin" serve --data-dir "$work/demo" --port "$demo_port" --log-level error $uncapped &
pids+=($!)
wait_for "http://127.0.0.1:$demo_port/healthz"
cookie=$(bench_cookie "http://127.0.0.1:$demo_port")
measure "nginx, static file (reference)" "http://127.0.0.1:$nginx_port/healthz"; nginx_rps=$rps
measure "/healthz" "http://127.0.0.1:$demo_port/healthz"
target "/healthz vs nginx" "≥ 0.90×" "$(ratio "$rps" "$nginx_rps")×"
measure "/ dashboard, demo data, SQLite" "http://127.0.0.1:$demo_port/" -H "Cookie: $cookie"
target "/ dashboard" "≥ 12,000 req/s" "$rps req/s"
scaled_target "dashboard" 12000 "$rps"
running=$(curl -fs -H "Cookie: $cookie" "http://127.0.0.1:$demo_port/training/jobs?status=running" \
  | grep -o 'href="/training/jobs/[0-9]*"' | head -1 | grep -o '[0-9]*' || true)
if [[ -n $running ]]; then
  measure "/training/jobs/$running, monitor of a running job" "http://127.0.0.1:$demo_port/training/jobs/$running" -H "Cookie: $cookie"
  target "monitor of a running job" "≥ 8,000 req/s" "$rps req/s"
  scaled_target "monitor" 8000 "$rps"
else
  echo "(no running job in the demo data: monitor not measured)"
fi
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
echo

# --- the deployments table at ROWS rows ---
table() {   # table LABEL [--database-url URL]
  local label=$1; shift
  local dir="$work/table-$label"
  local started=$SECONDS
  "$bin" bench-load --rows "$ROWS" --data-dir "$dir" --log-level warning "$@" >/dev/null
  bench_user "$bin" --data-dir "$dir" --log-level error "$@"
  echo "loaded $ROWS deployments into $label in $((SECONDS - started)) s"
  local port
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --port "$port" --log-level error $uncapped "$@" &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/healthz"
  local c url
  c=$(bench_cookie "http://127.0.0.1:$port")
  url="http://127.0.0.1:$port$QUERY"
  MEASURE_FOR=$TABLE_DURATION measure "$QUERY, $ROWS rows, $label" "$url" -H "Cookie: $c"
  table_rps=$rps; table_p99=$p99
  if [[ $label == SQLite ]]; then
    curl -fs -H "Cookie: $c" "$url" > "$work/nginx/html/table.html"
    local bytes gz
    bytes=$(wc -c < "$work/nginx/html/table.html")
    measure "nginx serving the same $bytes bytes (reference)" "http://127.0.0.1:$nginx_port/table.html"
    target "table, SQLite, vs nginx with its bytes" "(reference)" "$(ratio "$table_rps" "$rps")×"
    measure "the same, reloaded with If-None-Match (bench/revalidate.lua)" "$url" -H "Cookie: $c" -s bench/revalidate.lua
    echo "    $revalidated"
    target "table revalidation (304) vs a render" "(no render)" "$(ratio "$rps" "$table_rps")×"
    gz=$(curl -fs -H "Cookie: $c" -H "Accept-Encoding: gzip" "$url" | wc -c)
    measure "the same, gzip ($bytes → $gz bytes)" "$url" -H "Cookie: $c" -H "Accept-Encoding: gzip"
  fi
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
}
table SQLite
target "table, $ROWS rows, SQLite" "≥ 8,000 req/s, p99 ≤ 20 ms" "$table_rps req/s, p99 $table_p99"
scaled_target "table, SQLite" 8000 "$table_rps" 20 "$table_p99"
sqlite_rps=$table_rps

if [[ $PEER == 1 && -f $peer_dir/app.py ]]; then
  python3 -m venv --system-site-packages "$work/venv" >/dev/null
  "$work/venv/bin/pip" install -q -r "$peer_dir/requirements.txt" >/dev/null 2>&1 || "$work/venv/bin/pip" install -q flask gunicorn >/dev/null
  python3 "$peer_dir/make_db.py" "$ROWS" "$work/peer.db" >/dev/null
  peer_port=$(free_port)
  (cd "$peer_dir" && DEPLOYMENTS_DB="$work/peer.db" exec "$work/venv/bin/gunicorn" -w 2 -k sync -b "127.0.0.1:$peer_port" app:app >/dev/null 2>&1) &
  pids+=($!)
  wait_for "http://127.0.0.1:$peer_port/healthz"
  # The peer takes over wrk's default 2 s for some requests on a slow host; the reference must not end the run.
  measure "the Flask peer, same query, $ROWS rows (reference)" "http://127.0.0.1:$peer_port$QUERY" --timeout 10s
  target "table, SQLite, vs the Flask peer" "(reference)" "$(ratio "$sqlite_rps" "$rps")×"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
fi

if [[ -n $pg_url ]]; then
  db="trainyard_speed_$$"
  psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
  echo "PostgreSQL: the app connects to $(pg_app_url "$db")"
  table PostgreSQL --database-url "$(pg_app_url "$db")"
  psql -q "$pg_url" -c "DROP DATABASE $db" >/dev/null
  target "table, $ROWS rows, PostgreSQL" "≥ 5,000 req/s, p99 ≤ 30 ms" "$table_rps req/s, p99 $table_p99"
  scaled_target "table, PostgreSQL" 5000 "$table_rps" 30 "$table_p99"
  target "table, PostgreSQL vs SQLite" "≥ 0.625× (5,000 / 8,000)" "$(ratio "$table_rps" "$sqlite_rps")×"
else
  echo "(PostgreSQL left out: run through scripts/with-postgres.sh)"
fi
echo

# --- without a socket ---
for rows in 1000 "$ROWS"; do
  echo "TrainyardBench table $rows"
  "$bindir/TrainyardBench" table "$rows" | grep -E "median|allocations"
done
echo
measure "nginx, static file, again (reference)" "http://127.0.0.1:$nginx_port/healthz"
nginx_reference=$(awk -v a="$nginx_rps" -v b="$rps" 'BEGIN { print (a > b) ? a : b }')
scale_targets
echo
echo "== targets (scaled: a target times $nginx_reference / $REFERENCE_NGINX, nginx's larger run here against its top on the host the targets were set on)"
printf '%s\n' "${summary[@]}"
