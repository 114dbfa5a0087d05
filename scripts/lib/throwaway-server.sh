# shellcheck shell=bash
# A throwaway Trainyard for end-to-end test scripts. Source it (do not run it) from a script
# running under `set -euo pipefail`; every function exits the script with a message on failure.
#
#   source "$(dirname "$0")/lib/throwaway-server.sh"
#   ty_init                               TY_ROOT (the repository, also the working directory),
#                                         no __pycache__ left in Tests/, the EXIT trap (ty_cleanup)
#   ty_install_deps [ARGS...]             scripts/install-deps.sh ARGS (skipped with TRAINYARD_BIN:
#                                         nothing to build), and Python with venv
#   ty_python_venv NAME REQUIREMENTS      .build/NAME-venv holding exactly REQUIREMENTS (remade when
#                                         the file changes); sets TY_PYTHON
#   ty_build                              release build of `trainyard`, or $TRAINYARD_BIN when set
#                                         (an already built binary: no build); sets TY_BIN
#   ty_data_dir                           a fresh temp dir, removed on exit: TY_WORK, and TY_DATA in it
#   ty_seed_demo                          the demo catalogue, jobs and deployments (seed-demo)
#   ty_create_admin USERNAME PASSWORD [DISPLAY_NAME]
#   ty_free_port                          prints a free port on 127.0.0.1
#   ty_start_server [SERVE_ARGS...]       `trainyard serve` on a free port with TY_DATA, waits for
#                                         /readyz; sets TY_URL, TY_SERVER_PID, TY_SERVER_LOG
#   ty_make_token USERNAME PASSWORD [NAME]  prints a new API token, made through /settings/tokens
#                                         as a person would (there is no CLI command for tokens)
#   ty_junit_summary NAME JUNIT_XML       prints "NAME: N passed, N failed[, N skipped]"
#   ty_server_log_tail [LINES]            the server log's end, on stderr
#   ty_on_exit COMMAND...                 one more thing for the EXIT trap to do (before the server
#                                         is stopped and TY_WORK removed)
#
# The EXIT trap stops the server (SIGTERM, then SIGKILL after 5 s) and removes TY_WORK. A script
# that sets its own EXIT trap must call ty_cleanup from it.

ty_init() {
  TY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  cd "$TY_ROOT"
  export PYTHONDONTWRITEBYTECODE=1
  TY_WORK="" TY_SERVER_PID="" TY_SERVER_LOG="" TY_EXIT_HOOKS=()
  trap ty_cleanup EXIT
}

ty_on_exit() {
  TY_EXIT_HOOKS+=("$*")
}

ty_cleanup() {
  local hook
  for hook in "${TY_EXIT_HOOKS[@]+"${TY_EXIT_HOOKS[@]}"}"; do
    eval "$hook" || true
  done
  if [[ -n "${TY_SERVER_PID:-}" ]]; then
    kill "$TY_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$TY_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$TY_SERVER_PID" 2>/dev/null || true
    TY_SERVER_PID=""
  fi
  if [[ -n "${TY_WORK:-}" ]]; then
    rm -rf "$TY_WORK"
  fi
}

ty_install_deps() {
  # With TRAINYARD_BIN there is nothing to build, so no build libraries to install.
  if [[ -z "${TRAINYARD_BIN:-}" ]]; then
    bash "$TY_ROOT/scripts/install-deps.sh" "$@"
  fi
  # Python with venv is all the Python tests need beyond the build.
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
}

ty_python_venv() {
  local name=$1 requirements=$TY_ROOT/$2
  local venv=$TY_ROOT/.build/$name-venv
  [[ -f "$requirements" ]] || { echo "no requirements file at $requirements" >&2; exit 1; }
  if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    rm -rf "$venv"
    mkdir -p "$TY_ROOT/.build"
    python3 -m venv "$venv"
    if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"; then
      rm -rf "$venv"  # half-installed: made again next time
      echo "could not install $2 into $venv" >&2
      exit 1
    fi
    cp "$requirements" "$venv/requirements.txt"
  fi
  TY_PYTHON=$venv/bin/python
}

ty_build() {
  if [[ -n "${TRAINYARD_BIN:-}" ]]; then
    TY_BIN=$TRAINYARD_BIN
  else
    local log status=0
    log=$(mktemp)
    # A failed build must not fall back to an older binary left in .build.
    swift build -c release --product trainyard >"$log" 2>&1 || status=$?
    grep -E "error|warning: |Build" "$log" || true
    if [[ $status -ne 0 ]]; then
      echo "swift build failed (exit $status); its last lines:" >&2
      tail -n 30 "$log" >&2
      rm -f "$log"
      exit 1
    fi
    rm -f "$log"
    TY_BIN="$(swift build -c release --show-bin-path)/trainyard"
  fi
  [[ -x "$TY_BIN" ]] || { echo "no trainyard binary at $TY_BIN" >&2; exit 1; }
}

ty_data_dir() {
  TY_WORK=$(mktemp -d)
  TY_DATA=$TY_WORK/data
  mkdir -p "$TY_DATA"
}

ty_seed_demo() {
  "$TY_BIN" seed-demo --data-dir "$TY_DATA" --log-level warning >/dev/null
}

ty_create_admin() {
  local username=$1 password=$2 display=${3:-$1}
  printf '%s' "$password" | "$TY_BIN" create-user --data-dir "$TY_DATA" --log-level warning \
    --username "$username" --role admin --display-name "$display" --password-stdin >/dev/null
}

ty_free_port() {
  "${TY_PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ty_ready() {
  "${TY_PYTHON:-python3}" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=2)' "$1" 2>/dev/null
}

ty_start_server() {
  local port
  port=$(ty_free_port)
  TY_URL=http://127.0.0.1:$port
  TY_SERVER_LOG=$TY_WORK/server.log
  "$TY_BIN" serve --data-dir "$TY_DATA" --port "$port" --log-level warning "$@" >"$TY_SERVER_LOG" 2>&1 &
  TY_SERVER_PID=$!
  for _ in $(seq 1 100); do
    ty_ready "$TY_URL" && return 0
    kill -0 "$TY_SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! ty_ready "$TY_URL"; then
    echo "the server did not become ready on $TY_URL; its log:" >&2
    cat "$TY_SERVER_LOG" >&2
    exit 1
  fi
}

ty_make_token() {
  local username=$1 password=$2 name=${3:-end-to-end tests} token
  if ! token=$(printf '%s' "$password" | "$TY_PYTHON" "$TY_ROOT/Tests/Tracking/make_token.py" \
      --url "$TY_URL" --username "$username" --name "$name"); then
    echo "could not create an API token for $username; the server log:" >&2
    tail -n 40 "$TY_SERVER_LOG" >&2
    exit 1
  fi
  printf '%s\n' "$token"
}

ty_junit_summary() {
  local name=$1 junit=$2
  if [[ ! -s "$junit" ]]; then
    echo "$name: no results (pytest wrote no report)"
    return 0
  fi
  "${TY_PYTHON:-python3}" - "$name" "$junit" <<'PY' || true
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[2]).getroot()
if suite.tag == "testsuites":
    suite = suite[0]
total = int(suite.get("tests", 0)); skipped = int(suite.get("skipped", 0))
failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
print(f"{sys.argv[1]}: {total - failed - skipped} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
}

ty_server_log_tail() {
  local lines=${1:-40}
  if [[ -n "${TY_SERVER_LOG:-}" && -s "$TY_SERVER_LOG" ]]; then
    echo "--- server log (last $lines lines)" >&2
    tail -n "$lines" "$TY_SERVER_LOG" >&2
  fi
}
