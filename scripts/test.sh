#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds without warnings, runs every test
# against SQLite and a throwaway PostgreSQL server that it starts and stops itself, then the
# MLflow client tests (scripts/tracking-tests.sh), the metrics-scraping tests against a real model
# server (scripts/telemetry-tests.sh), the API schema tests (scripts/api-schema-tests.sh) and the
# real-browser tests (scripts/browser-tests.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --test

# A warning is a failure: build once and look at the compiler output of our own sources.
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
swift build --build-tests 2>&1 | tee "$build_log" | grep -E "error|warning: |Compiling|Build" | grep -v "^\[" || true
if grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$build_log"; then
  echo "the build has warnings (above); fix them" >&2
  exit 1
fi
if ! grep -q "Build complete" "$build_log"; then
  cat "$build_log" >&2
  exit 1
fi

bash scripts/with-postgres.sh swift test --skip-build "$@"

# Training code's view: the official MLflow client (pinned, in its own venv) trains a small
# model and logs it to a real server; tests read it back through the client and the pages.
bash scripts/tracking-tests.sh

# A model server's view: a real prometheus_client server under paced load, scraped by Trainyard;
# its minutes are checked against the pages served and the requests sent. The scenario follows
# the clock for about two minutes, mostly waiting, so it runs beside the next two (on the release
# binary the tracking tests built; its log is printed when it ends).
telemetry_log=$(mktemp)
TRAINYARD_BIN="$(swift build -c release --show-bin-path)/trainyard" bash scripts/telemetry-tests.sh >"$telemetry_log" 2>&1 &
telemetry_pid=$!
trap 'kill "$telemetry_pid" 2>/dev/null || true; rm -f "$build_log" "$telemetry_log"' EXIT

# A script's view: schemathesis sends generated requests, valid and not, to every operation of
# Docs/openapi.json on a throwaway server and checks each answer against the document.
bash scripts/api-schema-tests.sh

# An attacker's view: a corpus of hostile values in every form field and query parameter the
# crawl finds, plus raw-socket probes; each must be a 4xx or a flash with nothing changed.
TRAINYARD_BIN="$(swift build -c release --show-bin-path)/trainyard" bash scripts/hostile-tests.sh

# A user's view: headless Chromium through the whole journey, the Nu validator and axe-core
# over every page, light and dark screenshots (into screenshots-tmp/, not committed).
bash scripts/browser-tests.sh

telemetry_status=0
wait "$telemetry_pid" || telemetry_status=$?
cat "$telemetry_log"
exit "$telemetry_status"
