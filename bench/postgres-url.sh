# Sourced by the bench scripts that also measure PostgreSQL (after they set pg_url).
#   pg_app_url DB    the URL the app is given for database DB on the server at $pg_url
# Under scripts/with-postgres.sh the app reaches the throwaway server over its Unix socket, as
# an app beside its database should: 10-13 % more table pages than loopback TCP, measured
# (README). A DATABASE_URL given by hand is used as it is.
pg_app_url() {
  local socket=${TRAINYARD_TEST_POSTGRES_SOCKET_URL:-}
  if [[ -z ${DATABASE_URL:-} && -n $socket ]]; then echo "postgres://postgres@/$1?${socket#*\?}"; else echo "${pg_url%/*}/$1"; fi
}
