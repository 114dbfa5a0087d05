#!/usr/bin/env bash
# Metrics scraping end to end: a real model server (Tests/Telemetry/model_server.py, a small
# sentiment model instrumented with prometheus_client) under paced load, scraped by Trainyard;
# its per-minute figures are checked against the pages the model server served and the
# requests the load generator sent, through a counter reset, the source going down and the gap
# that leaves. Also pushed windows, the reference parser's own unit tests
# (Tests/Telemetry/test_promtext.py), and Trainyard's own /metrics read with prometheus_client's
# parser (Tests/Telemetry/test_metrics_page.py; `serve --metrics-port` on a second free port).
#
# Installs what is missing (PyPI: Tests/Telemetry/requirements.txt into .build/telemetry-venv),
# builds `trainyard` (release), starts one throwaway server on a free port with SQLite in a temp
# dir: the demo data (seed-demo; the tests use three of its active deployments) and an admin
# `telemetry-admin` with an API token made through the tokens page. Scraping is on in `serve` and
# its default allowlist (loopback) covers the model server on 127.0.0.1. Runs pytest (about two
# minutes: the scenario follows the clock), stops the server and prints
# "telemetry: N passed, N failed".
#   TRAINYARD_TEST_PASSWORD   telemetry-admin's password (default below)
#   TRAINYARD_BIN             an already built trainyard to test instead of building one
#   TELEMETRY_TIMEOUT         seconds pytest may run before it is stopped (default 420)
#   TELEMETRY_FULL_GAP=1      wait for the whole minute after the model server stopped (+50 s)
#   extra arguments go to pytest, e.g. -k push
set -euo pipefail
# shellcheck source=lib/throwaway-server.sh
source "$(dirname "$0")/lib/throwaway-server.sh"

ty_init
ty_install_deps
ty_python_venv telemetry Tests/Telemetry/requirements.txt
ty_build
ty_data_dir

password="${TRAINYARD_TEST_PASSWORD:-telemetry tests sign in with this}"
admin=telemetry-admin
ty_seed_demo
ty_create_admin "$admin" "$password" "Telemetry Admin"
metrics_port=$(ty_free_port)
ty_start_server --metrics-port "$metrics_port"
token=$(ty_make_token "$admin" "$password" "telemetry tests")

export TRAINYARD_URL="$TY_URL" TRAINYARD_TOKEN="$token"
export TRAINYARD_METRICS_URL="http://127.0.0.1:$metrics_port/metrics"
export TRAINYARD_USERNAME="$admin" TRAINYARD_PASSWORD="$password"
export TELEMETRY_REQUIRE_TRAINYARD=1   # nothing may be skipped for want of a setting

timeout_s="${TELEMETRY_TIMEOUT:-420}"
status=0
# Every wait in the tests has a deadline; the timeout is a last resort against a hang (the model
# server exits by itself when pytest is gone).
timeout -k 10 "$timeout_s" "$TY_PYTHON" -m pytest Tests/Telemetry -p no:cacheprovider -q -rs \
  --basetemp="$TY_WORK/pytest" --junitxml="$TY_WORK/junit.xml" "$@" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
  echo "pytest was stopped after ${timeout_s} s (TELEMETRY_TIMEOUT)" >&2
fi

ty_junit_summary telemetry "$TY_WORK/junit.xml"
if [[ $status -ne 0 ]]; then
  ty_server_log_tail 40
fi
exit $status
