#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Trainyard builds and tests against, skipping what is present.
#   scripts/install-deps.sh          build and run (C libraries)
#   scripts/install-deps.sh --test   also the PostgreSQL server and load tools the tests use
#   scripts/install-deps.sh --tracking  also Python's venv, for the MLflow client tests
#   scripts/install-deps.sh --browser   also Chromium, its WebDriver, a Java runtime (for the Nu
#                                       HTML validator) and Python's venv, for the browser tests
set -euo pipefail

packages=(pkg-config libsqlite3-dev libpq-dev libcmark-gfm-dev libcmark-gfm-extensions-dev libargon2-dev libcurl4-openssl-dev zlib1g-dev)
case "${1:-}" in
  --test) packages+=(postgresql) ;;
  --tracking) packages+=(python3 python3-venv) ;;
  --browser) packages+=(curl chromium chromium-driver default-jre-headless python3 python3-venv) ;;
esac

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
