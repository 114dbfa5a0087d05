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
# shellcheck source=lib/throwaway-server.sh
source "$(dirname "$0")/lib/throwaway-server.sh"

ty_init
ty_install_deps --browser
ty_python_venv browser Tests/Browser/requirements.txt
venv=$(dirname "$(dirname "$TY_PYTHON")")
root=$TY_ROOT
# The release build, as `scripts/run.sh` makes it: the browser sees what users run, and a
# release-only compile failure fails the tests.
ty_build
bin=$TY_BIN

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
ty_on_exit cleanup

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

ty_junit_summary browser "$work/junit.xml"
if [[ $status -ne 0 ]]; then
  for log in "$work"/*/server.log; do
    [[ -s "$log" ]] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }
  done
fi
exit $status
