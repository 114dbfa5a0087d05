#!/usr/bin/env bash
# Slow clients against the per-client cap: slowhttptest holds connections from 127.0.0.1
# (slowloris heads with -H, slow reads with -X) while a second client on 127.0.0.2 fetches the
# sign-in page every 0.5 s. Prints the second client's latencies, what slowhttptest got and the
# server's RSS. Loopback only, about 2 × DURATION seconds.
#   bash bench/slowclients.sh            (.build/release/trainyard; CAP=0 turns the cap off)
set -euo pipefail
# shellcheck source=../scripts/lib/throwaway-server.sh
source "$(dirname "$0")/../scripts/lib/throwaway-server.sh"
ty_init
command -v slowhttptest >/dev/null || { apt-get update -qq && apt-get install -y -qq slowhttptest >/dev/null; }
TY_BIN=${TRAINYARD_BIN:-$TY_ROOT/.build/release/trainyard}
duration=${DURATION:-30}
cap=${CAP:-64}
ty_data_dir
ty_seed_demo
ty_start_server --max-connections-per-client "$cap"
port=${TY_URL##*:}
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; per-client cap $cap"

probe() {
  local out=$1
  : >"$out"
  for _ in $(seq 1 $((duration * 2 - 4))); do
    curl -s -o /dev/null --interface 127.0.0.2 -w '%{http_code} %{time_total}\n' "$TY_URL/login" >>"$out" || echo "000 0" >>"$out"
    sleep 0.5
  done
}

summary() {
  sort -k2 -n "$1" | awk '{ n++; t[n] = $2 * 1000; if ($1 != 200) bad++ }
    END { printf "second client: %d fetches, %d not 200, median %.1f ms, max %.1f ms\n", n, bad, t[int((n + 1) / 2)], t[n] }'
}

for mode in H X; do
  args=(-c 2000 -r 500 -l "$duration" -u "$TY_URL/login" -p 3)
  if [[ $mode == X ]]; then args+=(-X -k 10 -w 10 -y 20 -n 5 -z 32); else args+=(-H -i 10); fi
  (cd "$TY_WORK" && slowhttptest "${args[@]}" -g -o "slow-$mode" >"slow-$mode.log" 2>&1) &
  slow=$!
  sleep 3
  probe "$TY_WORK/probe-$mode"
  rss=$(awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$TY_SERVER_PID/status")
  wait "$slow" || true
  echo "== slowhttptest -$mode: 2000 connections from 127.0.0.1 over 4 s, $duration s"
  summary "$TY_WORK/probe-$mode"
  if [[ -s $TY_WORK/slow-$mode.csv ]]; then
    # Columns: seconds, closed, pending, connected, service available (the last is a count too).
    echo "slowhttptest, last second: $(head -n 1 "$TY_WORK/slow-$mode.csv") = $(tail -n 1 "$TY_WORK/slow-$mode.csv")"
  else
    echo "slowhttptest -$mode wrote no figures; its log:"; tail -n 5 "$TY_WORK/slow-$mode.log"
  fi
  echo "server RSS during the run: $rss"
done
