#!/usr/bin/env bash
# Builds Trainyard, fills an empty SQLite database with demo data and serves http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
swift build -c release --product trainyard
bin="$(swift build -c release --show-bin-path)/trainyard"
"$bin" seed-demo
exec "$bin" serve "$@"
