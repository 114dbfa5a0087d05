#!/usr/bin/env bash
# Real-browser tests: headless Chromium driven by Selenium through a user's whole journey, the
# Nu HTML validator and axe-core over every page, and light/dark screenshots.
#
# Installs what is missing (Debian: chromium, chromium-driver, a Java runtime, python3-venv;
# PyPI: Tests/Browser/requirements.txt into .build/browser-venv), builds `trainyard` (release), starts three
# throwaway servers on free ports (demo data for the tests, an empty one, and demo data for
# the screenshots) with SQLite in a temp dir,
# runs pytest, stops the servers and prints "browser: N passed, N failed".
#   TRAINYARD_SCREENSHOTS=dir   where screenshots go (default: screenshots-tmp/, not committed)
#   extra arguments go to pytest, e.g. -k lifecycle
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh --browser

venv="$root/.build/browser-venv"
requirements="$root/Tests/Browser/requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

# The release build, as `scripts/run.sh` makes it: the browser sees what users run, and a
# release-only compile failure fails the tests.
swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Build" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
[[ -x "$bin" ]] || { echo "no trainyard binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  # start_server runs in a command substitution (a subshell), so its pids come back through files.
  for file in "$work"/*/server.pid; do [[ -f $file ]] && pids+=("$(cat "$file")"); done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME [seed]: serves a fresh SQLite database and prints its base URL.
start_server() {
  local name=$1 seed=${2:-} dir="$work/$1" port
  mkdir -p "$dir"
  if [[ -n "$seed" ]]; then "$bin" seed-demo --data-dir "$dir" --log-level warning >/dev/null; fi
  # The tests sign in as these two; with an admin present, serve generates none.
  printf '%s' "$TRAINYARD_TEST_PASSWORD" | "$bin" create-user --data-dir "$dir" --log-level warning \
    --username browser-admin --role admin --display-name "Browser Admin" --password-stdin >/dev/null
  printf '%s' "$TRAINYARD_TEST_PASSWORD" | "$bin" create-user --data-dir "$dir" --log-level warning \
    --username browser-viewer --role viewer --display-name "Browser Viewer" --password-stdin >/dev/null
  port=$(free_port)
  "$bin" serve --data-dir "$dir" --port "$port" --sim-speed 10 --log-level warning >"$dir/server.log" 2>&1 &
  echo $! >"$dir/server.pid"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
      echo "http://127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  echo "the $name server did not become ready; its log:" >&2
  cat "$dir/server.log" >&2
  return 1
}

export TRAINYARD_TEST_PASSWORD="browser tests sign in with this"
TRAINYARD_URL=$(start_server demo seed)
TRAINYARD_EMPTY_URL=$(start_server empty)
TRAINYARD_SCREENSHOT_URL=$(start_server screenshots seed)  # demo data only, no test leftovers
export TRAINYARD_URL TRAINYARD_EMPTY_URL TRAINYARD_SCREENSHOT_URL
export TRAINYARD_SCREENSHOTS="${TRAINYARD_SCREENSHOTS:-$root/screenshots-tmp}"
export TRAINYARD_WORK="$work"

status=0
"$venv/bin/python" -m pytest Tests/Browser -p no:cacheprovider -q --junitxml="$work/junit.xml" "$@" || status=$?

"$venv/bin/python" - "$work/junit.xml" <<'PY' || true
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
if suite.tag == "testsuites":
    suite = suite[0]
total = int(suite.get("tests", 0)); skipped = int(suite.get("skipped", 0))
failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
print(f"browser: {total - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
if [[ $status -ne 0 ]]; then
  for log in "$work"/*/server.log; do
    [[ -s "$log" ]] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }
  done
fi
exit $status
