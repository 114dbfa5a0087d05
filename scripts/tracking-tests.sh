#!/usr/bin/env bash
# MLflow tracking end to end: the official MLflow client (mlflow-skinny) and a real training
# script (Tests/Tracking/train_logreg.py) against Trainyard as their tracking server, then
# Trainyard's own pages for the runs they logged (job list, monitor charts, deploying a run).
#
# Installs what is missing (PyPI: Tests/Tracking/requirements.txt into .build/tracking-venv),
# builds `trainyard` (release), starts one throwaway server on a free port with SQLite in a temp
# dir: the demo catalogue (seed-demo; the runs' base_model is one of its models) and an admin
# `tracking-admin` with an API token made through the tokens page. Runs pytest, stops the
# server and prints "tracking: N passed, N failed".
#   TRAINYARD_TEST_PASSWORD   tracking-admin's password (default below)
#   extra arguments go to pytest, e.g. -k search
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PYTHONDONTWRITEBYTECODE=1  # leave no __pycache__ in Tests/Tracking

bash scripts/install-deps.sh
# Python with venv is all the tests need beyond the build (no browser).
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi

venv="$root/.build/tracking-venv"
requirements="$root/Tests/Tracking/requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
python="$venv/bin/python"

swift build -c release --product trainyard 2>&1 | grep -E "error|warning: |Build" || true
bin="$(swift build -c release --show-bin-path)/trainyard"
[[ -x "$bin" ]] || { echo "no trainyard binary at $bin" >&2; exit 1; }

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export TRAINYARD_TEST_PASSWORD="${TRAINYARD_TEST_PASSWORD:-tracking tests sign in with this}"
admin=tracking-admin
data="$work/data"
mkdir -p "$data"
# The demo catalogue gives the runs' base_model a model to point at (there is no model form yet);
# it brings demo jobs too, which the tests never look at: they filter by their own experiment.
"$bin" seed-demo --data-dir "$data" --log-level warning >/dev/null
printf '%s' "$TRAINYARD_TEST_PASSWORD" | "$bin" create-user --data-dir "$data" --log-level warning \
  --username "$admin" --role admin --display-name "Tracking Admin" --password-stdin >/dev/null

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$bin" serve --data-dir "$data" --port "$port" --log-level warning >"$work/server.log" 2>&1 &
server_pid=$!
ready() { "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)' "$url" 2>/dev/null; }
for _ in $(seq 1 100); do
  ready && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if ! ready; then
  echo "the server did not become ready; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

# There is no CLI command for tokens, so get one as a person would: through /settings/tokens.
if ! token=$(printf '%s' "$TRAINYARD_TEST_PASSWORD" | "$python" Tests/Tracking/make_token.py --url "$url" --username "$admin"); then
  echo "could not create an API token for $admin; the server log:" >&2
  tail -n 40 "$work/server.log" >&2
  exit 1
fi

export TRACKING_URI="$url" TRAINYARD_URL="$url"
export MLFLOW_TRACKING_TOKEN="$token"
unset MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD  # the token, not Basic auth, unless a test says so
export TRAINYARD_USERNAME="$admin" TRAINYARD_PASSWORD="$TRAINYARD_TEST_PASSWORD"
export TRACKING_BASE_MODEL=lfm2-350m  # a DemoCatalogue slug
export TRACKING_REQUIRE_TRAINYARD=1   # nothing may be skipped against Trainyard
# A broken server fails in seconds (MLflow's client retries 5xx for minutes by default), and the
# client talks to nothing but this server.
export MLFLOW_HTTP_REQUEST_MAX_RETRIES=0 MLFLOW_HTTP_REQUEST_TIMEOUT=20
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

status=0
"$python" -m pytest Tests/Tracking -p no:cacheprovider -q -rs --junitxml="$work/junit.xml" "$@" || status=$?

"$python" - "$work/junit.xml" <<'PY' || true
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
if suite.tag == "testsuites":
    suite = suite[0]
total = int(suite.get("tests", 0)); skipped = int(suite.get("skipped", 0))
failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
print(f"tracking: {total - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
if [[ $status -ne 0 && -s "$work/server.log" ]]; then
  echo "--- server log (last 40 lines)" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit $status
