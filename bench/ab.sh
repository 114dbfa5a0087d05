#!/usr/bin/env bash
# Two builds of trainyard on the same data, their wrk runs alternated: on a machine whose
# figures move ±30 % from one minute to the next, only runs taken side by side say whether a
# change made a page faster. Prints every run and, per page, the median of new/old.
#   bash bench/ab.sh OLD_BINARY [NEW_BINARY]     NEW defaults to this checkout's release build
#   ROUNDS=5 DURATION=5s ROWS=100000 bash bench/ab.sh /tmp/old/trainyard
#   OLD_ARGS="--running-handlers 0" bash bench/ab.sh BIN BIN     one build, two `serve` settings
#   bash scripts/with-postgres.sh bash bench/ab.sh OLD            the table on PostgreSQL too
#   PAGES=postgres bash scripts/with-postgres.sh bash bench/ab.sh OLD   only some of: dashboard monitor sqlite postgres
# The old binary must accept the schema the new one writes (same version, or the data is
# made by the old one: set DATA_FROM=old).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/ab.sh OLD_BINARY [NEW_BINARY]}
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5s}"
ROWS="${ROWS:-100000}"
QUERY='/deployments?status=active&sort=p95&dir=desc'
PAGES=" ${PAGES:-dashboard monitor sqlite postgres} "
pg_url="${DATABASE_URL:-${TRAINYARD_TEST_POSTGRES_URL:-}}"
pg_db=""
if [[ -n ${2:-} ]]; then
  new=$2
else
  swift build -c release --product trainyard 2>&1 | grep -E "error|warning: " || true
  new="$(swift build -c release --show-bin-path)/trainyard"
fi
maker=$new
[[ ${DATA_FROM:-new} == old ]] && maker=$old
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk >/dev/null; }
source bench/signin.sh
uncapped="--max-connections-per-client 0"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n $pg_db ]] && psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

wants() { [[ $PAGES == *" $1 "* ]]; }
if wants dashboard || wants monitor; then
  "$maker" seed-demo --data-dir "$work/demo" --log-level error
  bench_user "$maker" --data-dir "$work/demo" --log-level error
fi
if wants sqlite; then
  "$maker" bench-load --rows "$ROWS" --data-dir "$work/table" --log-level warning >/dev/null
  bench_user "$maker" --data-dir "$work/table" --log-level error
fi

# serve BINARY DIR [ARGS]: starts it and leaves its base URL in $base.
serve() {
  local port
  port=$(free_port)
  "$1" serve --data-dir "$2" --port "$port" --log-level error $uncapped ${3:-} &
  pids+=($!)
  base="http://127.0.0.1:$port"
  wait_for "$base/healthz"
}

# Both serve the same data, started per page and stopped after it; only the one measured gets requests.
rps_of() {   # rps_of URL COOKIE: prints "REQ/S P99"
  wrk -t2 -c64 -d1s -H "Cookie: $2" "$1" >/dev/null
  wrk -t2 -c64 -d"$DURATION" --latency -H "Cookie: $2" "$1" | awk '/Requests\/sec/ {r = $2} $1 == "99%" {p = $2} END {print r, p}'
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $(date -u +%Y-%m-%d)"
echo "old: $old ${OLD_ARGS:-}"
echo "new: $new ${NEW_ARGS:-}"
echo "wrk -t2 -c64 -d$DURATION, $ROUNDS rounds alternated (old first in odd rounds, new first in even ones)"
echo

page() {   # page LABEL DIR PATH
  local label=$1 dir=$2 path=$3 old_base new_base old_cookie new_cookie ratios=()
  serve "$old" "$dir" "${OLD_ARGS:-}"; old_base=$base; old_cookie=$(bench_cookie "$old_base")
  serve "$new" "$dir" "${NEW_ARGS:-}"; new_base=$base; new_cookie=$(bench_cookie "$new_base")
  for round in $(seq "$ROUNDS"); do
    local a b a99 b99
    if (( round % 2 )); then
      read -r a a99 < <(rps_of "$old_base$path" "$old_cookie"); read -r b b99 < <(rps_of "$new_base$path" "$new_cookie")
    else
      read -r b b99 < <(rps_of "$new_base$path" "$new_cookie"); read -r a a99 < <(rps_of "$old_base$path" "$old_cookie")
    fi
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')")
    printf '%-44s round %d   old %8.0f (p99 %8s)   new %8.0f (p99 %8s) req/s   new/old %s\n' \
      "$label" "$round" "$a" "$a99" "$b" "$b99" "${ratios[-1]}"
  done
  printf '%-44s median new/old %s\n\n' "$label" "$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
}

wants dashboard && page "/ dashboard, demo data" "$work/demo" "/"
if wants monitor; then
  serve "$new" "$work/demo"
  running=$(curl -fs -H "Cookie: $(bench_cookie "$base")" "$base/training/jobs?status=running" \
    | grep -o 'href="/training/jobs/[0-9]*"' | head -1 | grep -o '[0-9]*' || true)
  kill "${pids[@]}"; wait 2>/dev/null || true; pids=()
  [[ -n $running ]] && page "monitor of a running job" "$work/demo" "/training/jobs/$running"
fi
wants sqlite && page "table, $ROWS rows, SQLite" "$work/table" "$QUERY"
if wants postgres && [[ -n $pg_url ]]; then
  # Both builds serve one database (their runners too, as in the SQLite run), given by DATABASE_URL.
  source bench/postgres-url.sh
  pg_db="trainyard_ab_$$"
  psql -q "$pg_url" -c "CREATE DATABASE $pg_db" >/dev/null
  app_url=$(pg_app_url "$pg_db")
  DATABASE_URL=$app_url "$maker" bench-load --rows "$ROWS" --data-dir "$work/pg" --log-level warning >/dev/null
  DATABASE_URL=$app_url bench_user "$maker" --data-dir "$work/pg" --log-level error
  DATABASE_URL=$app_url page "table, $ROWS rows, PostgreSQL" "$work/pg" "$QUERY"
elif wants postgres; then
  echo "(PostgreSQL left out: run through scripts/with-postgres.sh)"
fi
