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
# shellcheck source=lib/throwaway-server.sh
source "$(dirname "$0")/lib/throwaway-server.sh"

ty_init
ty_install_deps
ty_python_venv tracking Tests/Tracking/requirements.txt
ty_build
ty_data_dir

export TRAINYARD_TEST_PASSWORD="${TRAINYARD_TEST_PASSWORD:-tracking tests sign in with this}"
admin=tracking-admin
# The demo catalogue gives the runs' base_model a model to point at (there is no model form yet);
# it brings demo jobs too, which the tests never look at: they filter by their own experiment.
ty_seed_demo
ty_create_admin "$admin" "$TRAINYARD_TEST_PASSWORD" "Tracking Admin"
ty_start_server
# There is no CLI command for tokens, so get one as a person would: through /settings/tokens.
token=$(ty_make_token "$admin" "$TRAINYARD_TEST_PASSWORD" "mlflow tracking tests")
url=$TY_URL
python=$TY_PYTHON
work=$TY_WORK

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

ty_junit_summary tracking "$work/junit.xml"
if [[ $status -ne 0 ]]; then
  ty_server_log_tail 40
fi
exit $status
