#!/usr/bin/env bash
# Hostile input end to end: a corpus (long values, control characters, invalid UTF-8, huge
# numbers, repeated keys) run against every form field and query parameter the app offers, each
# answered with a 4xx or a flash with nothing changed, never a 5xx; plus raw-socket probes of
# the HTTP layer (over-long and malformed heads, bad escapes, path traversal out of /static/).
#
# The surface is discovered, not listed: Tests/Hostile signs in as an admin, makes a few objects
# of its own through the forms (so destructive forms never touch the demo data), crawls the pages
# from /, collects every form and every query parameter, and reads /api/openapi.json. "Nothing
# changed" is a fingerprint of the SQLite file (opened read-only) before and after each refused
# submission; see Tests/Hostile/fingerprint.py for what the server may change by itself.
#
# Installs what is missing (PyPI: Tests/Hostile/requirements.txt into .build/hostile-venv),
# builds `trainyard` (release) unless TRAINYARD_BIN names a binary, starts one throwaway server
# on a free port with SQLite in a temp dir, the demo data and an admin `hostile-admin` with an
# API token made through the tokens page. Runs pytest, stops the server and prints
# "hostile: N passed, N failed" with the number of requests judged.
#   TRAINYARD_BIN             an already built binary to test (a debug build is fine)
#   TRAINYARD_TEST_PASSWORD   hostile-admin's password (default below)
#   HOSTILE_REPORT            a file to write every failing case to, one a line
#   extra arguments go to pytest, e.g. -k 'models and name' or -x
set -euo pipefail
# shellcheck source=lib/throwaway-server.sh
source "$(dirname "$0")/lib/throwaway-server.sh"

ty_init
ty_install_deps
ty_python_venv hostile Tests/Hostile/requirements.txt
ty_build
ty_data_dir

export TRAINYARD_TEST_PASSWORD="${TRAINYARD_TEST_PASSWORD:-hostile tests sign in with this}"
admin=hostile-admin
ty_seed_demo
ty_create_admin "$admin" "$TRAINYARD_TEST_PASSWORD" "Hostile Admin"
# A fast simulation, so the jobs the tests make complete (and can be deployed) within a tick.
# 127.0.0.1 is a trusted proxy so each sign-in case can come from an address of its own
# (X-Forwarded-For): otherwise the per-address throttle refuses every case after the fifth.
ty_start_server --sim-speed 1000 --trusted-proxies 127.0.0.1
token=$(ty_make_token "$admin" "$TRAINYARD_TEST_PASSWORD" "hostile tests")

export TRAINYARD_URL="$TY_URL" TRAINYARD_DB="$TY_DATA/trainyard.sqlite"
export TRAINYARD_USERNAME="$admin" TRAINYARD_PASSWORD="$TRAINYARD_TEST_PASSWORD" TRAINYARD_TOKEN="$token"
export TRAINYARD_SERVER_PID="$TY_SERVER_PID" TRAINYARD_SERVER_LOG="$TY_SERVER_LOG"

status=0
start=$SECONDS
"$TY_PYTHON" -m pytest Tests/Hostile -p no:cacheprovider -q --junitxml="$TY_WORK/junit.xml" "$@" || status=$?
elapsed=$((SECONDS - start))

ty_junit_summary hostile "$TY_WORK/junit.xml"
echo "hostile: ${elapsed}s"
if ! kill -0 "$TY_SERVER_PID" 2>/dev/null; then
  echo "hostile: the server process is gone (crashed?)" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  ty_server_log_tail 40
fi
exit $status
