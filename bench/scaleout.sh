#!/usr/bin/env bash
# Scale-out proof, loopback only and bounded in time: three `trainyard serve` processes on one
# throwaway PostgreSQL (demo data), behind nginx (round robin, upstream keep-alive, idempotent
# requests retried on the next replica), under wrk mixing page GETs with form POSTs as one
# signed-in operator; one replica is killed with SIGKILL half-way and started again a few
# seconds later. Afterwards it prints what was served and what was lost:
#   - requests served, non-2xx/3xx answers, and those in the seconds around the kill;
#   - writes the client saw committed (303 with a success flash) against the rows in the
#     database, matched by id both ways (lost writes; writes done but reported failed);
#   - every job that trained during the run: its steps, checked for duplicates and gaps;
#   - the time to recover, from a probe hitting the load balancer every 50 ms and from every
#     failed request of the load;
#   - the CPU the figures were measured on.
#
#   bash bench/scaleout.sh                          60 s with .build/release/trainyard
#   DURATION=20 TRAINYARD_BIN=/path/to/trainyard bash bench/scaleout.sh
#
# Settings (environment):
#   DURATION        seconds of load (default 60); the kill is at DURATION/2
#   TRAINYARD_BIN   the binary (default .build/release/trainyard; copied before use, nothing is built)
#   RESTART_AFTER   seconds from the kill to starting the replica again (default 5; 0, or not
#                   less than DURATION/2: never)
#   KILL_REPLICA    which replica to kill, 1–3 (default 2)
#   THREADS         wrk threads = connections (default 8; one connection per thread, see scaleout.lua)
#   WRITE_RATE      form POSTs per second over all threads (default 8: create, start, deploy, scale in turn)
#   SIM_SPEED       TRAINYARD_SIM_SPEED of every replica (default 10: 50 steps/s per job)
#   EPOCHS          epochs of each created job, 100 steps each (default 2)
#   SCALEOUT_OUT    directory for the logs and the report (default a new /tmp/trainyard-scaleout.*;
#                   kept afterwards)
#
# Needs python3; installs what else is missing with apt-get (wrk, nginx-light, curl,
# postgresql-client, postgresql), keeping the packages' system services from starting. nginx
# runs as the current user with its own prefix and config in the temp directory, PostgreSQL as
# scripts/with-postgres.sh runs it. Every process started here is stopped on exit (the
# replicas, nginx, wrk, the probe, PostgreSQL), however the script ends.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# --- tools ---------------------------------------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v psql >/dev/null || need+=(postgresql-client)
# The server binaries scripts/with-postgres.sh runs (it looks in PG_BIN, the Debian 15 path, then PATH).
[[ -x ${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl ]] || command -v pg_ctl >/dev/null || need+=(postgresql)
if (( ${#need[@]} )); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  # Debian starts a package's service on install unless policy-rc.d says no: the nginx (and
  # PostgreSQL) that run here are this script's alone.
  policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    policy=yes
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
  [[ -n $policy ]] && $sudo rm -f /usr/sbin/policy-rc.d
  [[ $status -eq 0 ]] || { echo "could not install ${need[*]}" >&2; exit 1; }
fi
# A throwaway PostgreSQL for the whole run: with-postgres.sh runs this script again inside it and
# stops the server (and deletes its data) when the script ends, however it ends.
if [[ -z "${SCALEOUT_IN_POSTGRES:-}" ]]; then
  export SCALEOUT_IN_POSTGRES=1
  exec bash "$here/../scripts/with-postgres.sh" bash "$here/scaleout.sh" "$@"
fi

# shellcheck source=../scripts/lib/throwaway-server.sh
source "$here/../scripts/lib/throwaway-server.sh"
# shellcheck source=signin.sh
source "$here/signin.sh"
ty_init
trap 'exit 130' INT
trap 'exit 143' TERM

DURATION=${DURATION:-60}
RESTART_AFTER=${RESTART_AFTER:-5}
KILL_REPLICA=${KILL_REPLICA:-2}
THREADS=${THREADS:-8}
WRITE_RATE=${WRITE_RATE:-8}
SIM_SPEED=${SIM_SPEED:-10}
EPOCHS=${EPOCHS:-2}
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 4 ]] || { echo "DURATION must be a whole number of seconds, at least 4" >&2; exit 64; }
[[ $RESTART_AFTER =~ ^[0-9]+$ ]] || { echo "RESTART_AFTER must be a whole number of seconds (0: no restart)" >&2; exit 64; }
[[ $KILL_REPLICA =~ ^[1-3]$ ]] || { echo "KILL_REPLICA must be 1, 2 or 3" >&2; exit 64; }
export TRAINYARD_BIN=${TRAINYARD_BIN:-$TY_ROOT/.build/release/trainyard}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)

ty_data_dir
# The binary is copied: a build finishing during the run must not change the replica restarted.
[[ -x $TRAINYARD_BIN ]] || { echo "no trainyard binary at $TRAINYARD_BIN (build it, or set TRAINYARD_BIN)" >&2; exit 1; }
cp "$TRAINYARD_BIN" "$TY_WORK/trainyard"
TRAINYARD_BIN=$TY_WORK/trainyard
ty_build   # with TRAINYARD_BIN set: only checks it, sets TY_BIN

OUT=${SCALEOUT_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/trainyard-scaleout.XXXXXX")}
mkdir -p "$OUT/wrk"

# --- database and shared settings -----------------------------------------------------------
pg_admin=$TRAINYARD_TEST_POSTGRES_URL
psql -q -X "$pg_admin" -c "CREATE DATABASE scaleout" >/dev/null
export DATABASE_URL=${pg_admin%/*}/scaleout
# One key for all replicas: a cookie signed by one is valid on the others.
SECRET_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n/+=')
export SECRET_KEY
export TRAINYARD_SIM_SPEED=$SIM_SPEED
# nginx connects to the replicas from 127.0.0.2 (proxy_bind), the clients from 127.0.0.1: the
# replicas believe X-Forwarded-For from the proxy only, so the audit trail names the client.
PROXY_ADDR=127.0.0.2
export TRAINYARD_TRUSTED_PROXIES=$PROXY_ADDR
psql_db() { psql -X -q -At -F '|' "$DATABASE_URL" "$@"; }
# Templates/, Public/ and Docs/ of this checkout, for a binary that looks for them
# (TRAINYARD_ASSETS_DIR); older ones read them from the working directory, which is the checkout too.
export TRAINYARD_ASSETS_DIR=$TY_ROOT

ty_seed_demo
ty_create_admin bench "$BENCH_PASSWORD" "Scale-out bench"

# --- three replicas --------------------------------------------------------------------------
ports=()
while (( ${#ports[@]} < 4 )); do
  p=$(ty_free_port)
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
LB_PORT=${ports[0]}
REPLICA_PORT=("" "${ports[1]}" "${ports[2]}" "${ports[3]}")
REPLICA_PID=("" "" "" "")

start_replica() {
  local i=$1 url=http://127.0.0.1:${REPLICA_PORT[$1]}
  "$TY_BIN" serve --data-dir "$TY_DATA" --port "${REPLICA_PORT[$i]}" --log-level warning \
    >>"$OUT/replica-$i.log" 2>&1 &
  REPLICA_PID[i]=$!
  for _ in $(seq 1 150); do
    ty_ready "$url" && return 0
    kill -0 "${REPLICA_PID[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "replica $i did not become ready on $url; its log:" >&2
  cat "$OUT/replica-$i.log" >&2
  exit 1
}

stop_replicas() {
  local i pid
  for i in 1 2 3; do
    pid=${REPLICA_PID[$i]}
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi
  done
  for i in 1 2 3; do
    pid=${REPLICA_PID[$i]}
    [[ -z $pid ]] && continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    REPLICA_PID[i]=""
  done
}

NGINX_PID="" WRK_PID="" PROBE_PID=""
stop_nginx() {
  [[ -z $NGINX_PID ]] && return 0
  kill -QUIT "$NGINX_PID" 2>/dev/null || true   # graceful: writes out the buffered access log
  for _ in $(seq 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$NGINX_PID" 2>/dev/null; then
    pkill -KILL -P "$NGINX_PID" 2>/dev/null || true   # its workers, which outlive a killed master
    kill -9 "$NGINX_PID" 2>/dev/null || true
  fi
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}
stop_all() {
  local pid
  for pid in $WRK_PID $PROBE_PID; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  WRK_PID="" PROBE_PID=""
  stop_nginx
  stop_replicas
}
ty_on_exit stop_all

for i in 1 2 3; do start_replica "$i"; done

# --- nginx -------------------------------------------------------------------------------------
ngx=$TY_WORK/nginx
mkdir -p "$ngx"/{logs,tmp/body,tmp/proxy,tmp/fastcgi,tmp/uwsgi,tmp/scgi}
user_line=""
# Only a root master switches its workers to another user: keep them the current user.
[[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >"$ngx/nginx.conf" <<CONF
$user_line
daemon off;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 1024; }
http {
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  log_format scaleout '\$msec|\$status|\$request_method|\$uri|\$upstream_addr|\$upstream_status|'
                      '\$request_time|\$sent_http_location|\$http_user_agent';
  access_log $OUT/nginx-access.log scaleout buffer=64k flush=1s;

  upstream trainyard {
    # Round robin. A replica that fails is left out for fail_timeout, then tried again.
    server 127.0.0.1:${REPLICA_PORT[1]} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:${REPLICA_PORT[2]} max_fails=1 fail_timeout=2s;
    server 127.0.0.1:${REPLICA_PORT[3]} max_fails=1 fail_timeout=2s;
    keepalive 16;
    # Below trainyard's --keep-alive-timeout (5 s) and requests per connection (1000), so nginx
    # never reuses a connection the replica is closing (a POST on one would be a 502).
    keepalive_timeout 4s;
    keepalive_requests 900;
  }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass http://trainyard;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_bind $PROXY_ADDR;
      # GET and HEAD go to the next replica on a connection error, a timeout or a 502; POST
      # only when it was never sent (nginx does not retry non-idempotent requests).
      proxy_next_upstream error timeout http_502;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      add_header X-Scaleout-Upstream \$upstream_addr always;
    }
  }
}
CONF
"$NGINX" -t -q -p "$ngx" -e "$OUT/nginx-error.log" -c "$ngx/nginx.conf"
"$NGINX" -p "$ngx" -e "$OUT/nginx-error.log" -c "$ngx/nginx.conf" &
NGINX_PID=$!
LB=http://127.0.0.1:$LB_PORT
for _ in $(seq 50); do curl -fs -o /dev/null "$LB/healthz" && break; sleep 0.1; done
curl -fs -o /dev/null "$LB/readyz" || { echo "nginx does not answer on $LB; its log:" >&2; cat "$OUT/nginx-error.log" >&2; exit 1; }

# --- the signed-in session, through the load balancer ----------------------------------------
cookie=$(bench_cookie "$LB")
[[ $cookie == ty_session=* ]] || { echo "could not sign in through $LB" >&2; exit 1; }
csrf_of() { curl -fs -H "Cookie: $cookie" "$1/training/configure" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -1; }
csrf=$(csrf_of "$LB")
[[ -n $csrf ]] || { echo "no CSRF token on $LB/training/configure" >&2; exit 1; }
# The same session and token must hold on every replica (shared database and SECRET_KEY).
for i in 1 2 3; do
  other=$(csrf_of "http://127.0.0.1:${REPLICA_PORT[$i]}")
  [[ $other == "$csrf" ]] || { echo "replica $i does not accept the session (token '${other}')" >&2; exit 1; }
done

model=$(psql_db -c "SELECT slug FROM models ORDER BY id LIMIT 1")
jobs=$(psql_db -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM training_jobs ORDER BY id LIMIT 20) j")
deployments=$(psql_db -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM deployments
  WHERE status = 'active' AND deleted_at IS NULL AND rollout_revision IS NULL ORDER BY id LIMIT 24) d")
[[ -n $model && -n $deployments ]] || { echo "the demo data has no model or no active deployment" >&2; exit 1; }

# --- the run ---------------------------------------------------------------------------------
step_rate=$(python3 -c "print(5 * $SIM_SPEED)")
deploy_after=$(python3 -c "print(round($EPOCHS * 100 / (5 * $SIM_SPEED) * 1.5 + 1, 1))")
now() { echo "$EPOCHREALTIME"; }   # no fork: the kill's time is the kill's
cat >"$OUT/meta" <<META
duration=$DURATION
threads=$THREADS
write_rate=$WRITE_RATE
sim_speed=$SIM_SPEED
epochs=$EPOCHS
deploy_after=$deploy_after
kill_replica=$KILL_REPLICA
restart_after=$RESTART_AFTER
lb=$LB
replica_1=127.0.0.1:${REPLICA_PORT[1]}
replica_2=127.0.0.1:${REPLICA_PORT[2]}
replica_3=127.0.0.1:${REPLICA_PORT[3]}
database_url=$DATABASE_URL
proxy_addr=$PROXY_ADDR
seeded_deployments=$deployments
META

echo "scaleout: 3 replicas (sim speed $SIM_SPEED: $step_rate steps/s per job) behind nginx on $LB;" \
     "wrk -t$THREADS -c$THREADS -d${DURATION}s, $WRITE_RATE POSTs/s; SIGKILL replica $KILL_REPLICA at $((DURATION / 2)) s" >&2

export SCALEOUT_COOKIE=$cookie SCALEOUT_CSRF=$csrf SCALEOUT_MODEL=$model SCALEOUT_EPOCHS=$EPOCHS \
  SCALEOUT_THREADS=$THREADS SCALEOUT_WRITE_RATE=$WRITE_RATE SCALEOUT_DEPLOY_AFTER=$deploy_after \
  SCALEOUT_LOG_DIR=$OUT/wrk SCALEOUT_JOBS=$jobs SCALEOUT_DEPLOYMENTS=$deployments

echo "t_start=$(now)" >>"$OUT/meta"
python3 "$here/scaleout.py" probe "$LB/training/jobs" "$cookie" "$DURATION" "$OUT/probe.log" &
PROBE_PID=$!
wrk -t"$THREADS" -c"$THREADS" -d"${DURATION}s" --timeout 10s -s "$here/scaleout.lua" "$LB" >"$OUT/wrk.out" 2>&1 &
WRK_PID=$!

sleep "$((DURATION / 2)).$(( DURATION % 2 * 5 ))"
victim=${REPLICA_PID[$KILL_REPLICA]}
t_kill=$(now)
kill -9 "$victim"
echo "t_kill=$t_kill" >>"$OUT/meta"
wait "$victim" 2>/dev/null || true
REPLICA_PID[KILL_REPLICA]=""
echo "scaleout: killed replica $KILL_REPLICA (pid $victim)" >&2
if (( RESTART_AFTER > 0 && RESTART_AFTER < DURATION / 2 )); then
  sleep "$RESTART_AFTER"
  echo "t_restart=$(now)" >>"$OUT/meta"
  start_replica "$KILL_REPLICA"
  echo "t_restarted_ready=$(now)" >>"$OUT/meta"
  echo "scaleout: replica $KILL_REPLICA started again (pid ${REPLICA_PID[$KILL_REPLICA]})" >&2
fi

wrk_status=0
wait "$WRK_PID" || wrk_status=$?
WRK_PID=""
echo "t_end=$(now)" >>"$OUT/meta"
wait "$PROBE_PID" || true
PROBE_PID=""
[[ $wrk_status -eq 0 ]] || { echo "wrk failed (exit $wrk_status):" >&2; cat "$OUT/wrk.out" >&2; exit 1; }

# Stop the load balancer (its log complete) and the replicas (no more training steps), then count.
stop_nginx
stop_replicas
python3 "$here/scaleout.py" report "$OUT" | tee "$OUT/report.txt"
echo "(logs and report in $OUT)"
