#!/usr/bin/env bash
# /audit at a million rows: loads ROWS audit entries (default 1,000,000) with
# `trainyard bench-load --audit-rows`, then measures with wrk the newest page unfiltered and
# filtered by actor, action, target, and actor with a time range on a deep page.
#
#   bash bench/audit.sh
#   bash scripts/with-postgres.sh bench/audit.sh       SQLite and PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
export LOAD=--audit-rows ROWS="${ROWS:-1000000}" DURATION="${DURATION:-10s}"
export PATH_QUERY='/audit /audit?actor=user-7 /audit?action=deployment.scale /audit?target=deployment:4242 /audit?actor=user-3&since=2026-01-01&page=40'
exec bash bench/deployments.sh
