# Sourced by the bench scripts: pages need a signed-in user.
#   bench_user BIN ARGS...      creates the bench user in that database (before serve starts)
#   bench_cookie BASE_URL       signs in through the form; prints "ty_session=…" for wrk's Cookie header
BENCH_PASSWORD="bench password, not for production"

bench_user() {
  local bin=$1; shift
  printf '%s' "$BENCH_PASSWORD" | "$bin" create-user --username bench --role admin --password-stdin "$@" >/dev/null 2>&1 || true
}

bench_cookie() {
  local base=$1 jar token
  jar=$(mktemp)
  token=$(curl -fs -c "$jar" -b "$jar" "$base/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "username=bench" --data-urlencode "password=$BENCH_PASSWORD" \
    --data-urlencode "_csrf=$token" "$base/login"
  awk '$6 == "ty_session" {print "ty_session=" $7}' "$jar"
  rm -f "$jar"
}
