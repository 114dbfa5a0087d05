#!/usr/bin/env bash
# The deployments table over many URLs, not one: ROWS benchmark deployments (bench-load), then
#   1. the server time of each of 1,000 distinct table URLs (random sort, direction, status set,
#      q and page), fetched one at a time: the median, the 99th percentile and the slowest five;
#   2. wrk -t2 -c64 on the single URL `/deployments?status=active&sort=p95&dir=desc`;
#   3. wrk -t2 -c64 cycling through the 1,000 URLs (bench/table_urls.lua),
# and the ratio of 2 to 3. SQLite always; PostgreSQL too under scripts/with-postgres.sh.
#   bash bench/table-urls.sh                  ROWS=100000, DURATION=10s, this checkout's release build
#   ROWS=1000000 bash bench/table-urls.sh
#   bash bench/table-urls.sh BINARY           another build (run each of two builds in turn to compare)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-100000}"
DURATION="${DURATION:-10s}"
COUNT="${COUNT:-1000}"
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"

source bench/postgres-url.sh
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
if [ "$#" -eq 0 ]; then
  swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Build complete" || true
  bin="$(swift build -c release --show-bin-path)/trainyard"
else
  bin=$1
fi
source bench/signin.sh

work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
  true
}
trap cleanup EXIT

# The URL set: every sort key and direction, no status or one to four of them, no q or one of
# several (matching all rows, some, one model, none; under three characters), pages 1–5.
python3 - "$COUNT" >"$work/urls" <<'PY'
import random, sys, urllib.parse
random.seed(20261202)
sorts = ["model", "version", "status", "rps", "p50", "p95", "p99", "errors", "created"]
statuses = ["deploying", "active", "paused", "failed"]
queries = ["", "", "", "bench", "nano", "medium-v1", "v1.2", "large", "zz-nothing", "b", "llama"]
seen = set()
while len(seen) < int(sys.argv[1]):
    pairs = []
    q = random.choice(queries)
    if q: pairs.append(("q", q))
    for s in sorted(random.sample(statuses, random.choice([0, 0, 1, 1, 2, 3, 4]))): pairs.append(("status", s))
    pairs += [("sort", random.choice(sorts)), ("dir", random.choice(["asc", "desc"]))]
    page = random.choice([1, 1, 1, 2, 3, 5])
    if page > 1: pairs.append(("page", str(page)))
    seen.add("/deployments?" + urllib.parse.urlencode(pairs))
print("\n".join(sorted(seen)))
PY

run() {
  local label=$1 url=${2:-}
  local data="$work/data-$label" args port cookie
  mkdir -p "$data"
  args=(--data-dir "$data" --log-level warning)
  [[ -n $url ]] && args+=(--database-url "$url")
  "$bin" bench-load --rows "$ROWS" "${args[@]}" >/dev/null 2>&1
  bench_user "$bin" "${args[@]}"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" serve "${args[@]}" --port "$port" --max-connections-per-client 0 &
  server_pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
  cookie=$(bench_cookie "http://127.0.0.1:$port")
  local base="http://127.0.0.1:$port"

  echo "== $label, $ROWS deployments"
  # 1. Server time per URL, one at a time (the best of three, so a runner tick does not count).
  while read -r path; do
    curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{time_starttransfer}\n' -H "Cookie: $cookie" \
      "$base$path" "$base$path" "$base$path" |
      awk -v path="$path" '$1 != 200 { print "GET " path " answered " $1 > "/dev/stderr"; bad = 1 }
        NR == 1 || $2 < best { best = $2 } END { if (bad) exit 1; print best, path }' || exit 1
  done <"$work/urls" | sort -n >"$work/times-$label"
  python3 - "$work/times-$label" <<'PY'
import sys
rows = [line.split(" ", 1) for line in open(sys.argv[1]).read().splitlines()]
times = [float(t) * 1000 for t, _ in rows]
n = len(times)
print(f"{n} URLs one at a time: median {times[n // 2]:.1f} ms, p99 {times[int(n * 0.99) - 1]:.1f} ms, slowest {times[-1]:.1f} ms")
for t, path in rows[-5:][::-1]:
    print(f"   {float(t) * 1000:6.1f} ms  {path}")
PY
  # 2 and 3. One URL, then all of them, under load.
  local single="/deployments?status=active&sort=p95&dir=desc"
  wrk -t2 -c64 -d2s -H "Cookie: $cookie" "$base$single" >/dev/null
  one=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $cookie" "$base$single")
  many=$(URLS_FILE="$work/urls" wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $cookie" -s bench/table_urls.lua "$base")
  rps_one=$(awk '/Requests\/sec/ {print $2}' <<<"$one")
  rps_many=$(awk '/Requests\/sec/ {print $2}' <<<"$many")
  echo "single URL  $single: $rps_one req/s, p99 $(awk '$1 == "99%" {print $2}' <<<"$one")"
  echo "mixed URLs  ($(wc -l <"$work/urls") distinct): $rps_many req/s, p99 $(awk '$1 == "99%" {print $2}' <<<"$many")$(grep -o 'Non-2xx.*' <<<"$many" | sed 's/^/, /')"
  python3 -c "print(f'single / mixed: {$rps_one / $rps_many:.2f}x')"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; wrk -t2 -c64 -d$DURATION; build $bin"
run SQLite
if [[ -n $pg_url ]]; then
  db="trainyard_urls_$$"
  psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
  run PostgreSQL "$(pg_app_url "$db")"
  psql -q "$pg_url" -c "DROP DATABASE $db" >/dev/null
fi
