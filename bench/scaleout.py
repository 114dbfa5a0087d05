"""Helpers of bench/scaleout.sh (standard library only).

    python3 bench/scaleout.py probe URL COOKIE SECONDS LOG
        GET URL every 50 ms for SECONDS through one keep-alive connection (a new one after any
        failure); one line per attempt: <unix start> <latency ms> <status or 0> <upstream|error>
    python3 bench/scaleout.py report OUT
        the report of a run, from OUT/meta, OUT/wrk.out, OUT/wrk/thread-*.log,
        OUT/nginx-access.log, OUT/probe.log, OUT/replica-*.log and the database (psql)
"""
import collections
import glob
import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse


# --- probe ---------------------------------------------------------------------------------

def probe(url, cookie, seconds, log_path):
    target = urllib.parse.urlsplit(url)
    path = target.path or "/"
    interval = 0.05
    start = time.time()
    deadline = start + float(seconds)
    conn = None
    n = 0
    with open(log_path, "w", buffering=1) as log:
        while True:
            slot = start + n * interval
            now = time.time()
            if slot > deadline:
                break
            if slot > now:
                time.sleep(slot - now)
            began = time.time()
            status, note = 0, "-"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=2)
                conn.request("GET", path, headers={"Cookie": cookie, "User-Agent": "scaleout-probe"})
                response = conn.getresponse()
                response.read()
                status = response.status
                note = response.getheader("X-Scaleout-Upstream", "-").replace(" ", "")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                note = type(error).__name__
                if conn is not None:
                    conn.close()
                conn = None
            log.write(f"{began:.3f} {(time.time() - began) * 1000:.1f} {status} {note}\n")
            # A slow answer skips the slots it overran instead of bursting to catch up.
            n = max(n + 1, int((time.time() - start) / interval) + 1)
    if conn is not None:
        conn.close()


# --- report --------------------------------------------------------------------------------

def read_meta(out):
    meta = {}
    with open(os.path.join(out, "meta")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def psql(url, sql):
    result = subprocess.run(["psql", "-X", "-q", "-At", "-F", "|", url, "-c", sql],
                            capture_output=True, text=True, check=True)
    return [line.split("|") for line in result.stdout.splitlines() if line]


Access = collections.namedtuple("Access", "t status method uri upstreams upstream_statuses seconds location agent")


def read_access(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("|")
            if len(parts) != 9:
                continue
            t, status, method, uri, ups, ups_status, secs, location, agent = parts
            rows.append(Access(float(t), int(status), method, uri,
                               [u for u in re.split(r",\s*|\s+:\s+", ups) if u and u != "-"],
                               [s for s in re.split(r",\s*|\s+:\s+", ups_status) if s and s != "-"],
                               float(secs), location, agent))
    return rows


Post = collections.namedtuple("Post", "t kind status outcome target location")


def read_thread_logs(out):
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "wrk", "thread-*.log"))):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 6:
                    rows.append(Post(float(parts[0]), parts[1], int(parts[2]), parts[3], parts[4], parts[5]))
    return rows


Probe = collections.namedtuple("Probe", "t ms status note")


def read_probe(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 4:
                    rows.append(Probe(float(parts[0]), float(parts[1]), int(parts[2]), parts[3]))
    return rows


def read_wrk(path):
    counts, summary, latency, inflight, text = {}, {}, {}, [], ""
    with open(path) as f:
        text = f.read()
    fields = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "scaleout-count":
            if parts[1] == "kind":
                fields = parts[2:]
            else:
                counts[parts[1]] = dict(zip(fields, map(int, parts[2:])))
        elif parts[0] == "scaleout-summary":
            summary = {parts[i]: int(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}
        elif parts[0] == "scaleout-inflight" and len(parts) == 3:
            inflight.append((parts[1], parts[2]))
        elif parts[0] == "scaleout-latency":
            latency = {parts[i]: float(parts[i + 1]) for i in range(1, len(parts) - 1, 2)}
    return counts, summary, latency, inflight, text


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fmt_s(seconds):
    return f"{seconds:+.2f} s"


def report(out):
    meta = read_meta(out)
    db = meta["database_url"]
    t_start, t_end, t_kill = float(meta["t_start"]), float(meta["t_end"]), float(meta["t_kill"])
    t_restart = float(meta["t_restart"]) if "t_restart" in meta else None
    t_ready = float(meta["t_restarted_ready"]) if "t_restarted_ready" in meta else None
    victim_no = int(meta["kill_replica"])
    replicas = {meta[f"replica_{i}"]: i for i in (1, 2, 3)}
    victim = meta[f"replica_{victim_no}"]

    counts, summary, latency, inflight, wrk_text = read_wrk(os.path.join(out, "wrk.out"))
    posts = read_thread_logs(out)
    access = read_access(os.path.join(out, "nginx-access.log"))
    load = [a for a in access if a.agent == "scaleout-wrk"]
    probes = read_probe(os.path.join(out, "probe.log"))

    p = print
    cores = os.cpu_count()
    p(f"== Trainyard scale-out: 3 replicas on one PostgreSQL behind nginx, loopback")
    p(f"CPU: {cpu_model()}, {cores} cores (shared by PostgreSQL, 3 replicas, nginx, wrk and the probe)")
    p(f"load: wrk -t{meta['threads']} -c{meta['threads']} for {t_end - t_start:.1f} s, {meta['write_rate']} POSTs/s; "
      f"sim speed {meta['sim_speed']}, jobs of {meta['epochs']} epochs; SIGKILL of replica {victim_no} ({victim}) "
      f"at {t_kill - t_start:.1f} s" + (f", started again {t_restart - t_kill:.1f} s later (ready after "
                                         f"{t_ready - t_restart:.1f} s)" if t_restart else ", not restarted"))

    # --- requests ---
    p("")
    p("-- requests")
    total = summary.get("requests", 0)
    secs = summary.get("duration_us", 1) / 1e6
    p(f"served: {total} ({total / secs:.0f}/s; p50 {latency.get('p50_ms', 0):.1f} ms, p99 {latency.get('p99_ms', 0):.1f} ms, "
      f"max {latency.get('max_ms', 0):.0f} ms) — nginx logged {len(load)} requests of the load")
    answered = sum(c["answered"] for c in counts.values())
    if answered != total:
        p(f"  ! the Lua script counted {answered} answers, wrk {total}")
    bad_wrk = summary.get("status_errors", 0)
    socket_errors = {k: summary.get(k, 0) for k in ("connect", "read", "write", "timeout")}
    # 499: nginx's note that the client closed the connection before the answer (wrk does at
    # the end, with a request in flight on each connection); not an answer anyone got.
    bad_ngx = [a for a in load if a.status >= 400 and a.status != 499]
    gave_up = [a for a in load if a.status == 499]
    p(f"non-2xx/3xx: {bad_wrk} (wrk), {len(bad_ngx)} (nginx log); socket errors: "
      + ", ".join(f"{k} {v}" for k, v in socket_errors.items()))
    if gave_up:
        p(f"  (nginx also logged {len(gave_up)} × 499, requests the client abandoned: "
          f"{sum(1 for a in gave_up if a.t >= t_end - 1.5)} of them as wrk stopped)")
    p(f"  {'kind':<16}{'sent':>7}{'answered':>9}{'2xx':>7}{'3xx':>7}{'4xx':>6}{'5xx':>6}{'no answer':>10}")
    for kind, c in counts.items():
        p(f"  {kind:<16}{c['sent']:>7}{c['answered']:>9}{c['s2']:>7}{c['s3']:>7}{c['s4']:>6}{c['s5']:>6}{c['noresponse']:>10}")
    by_status = collections.Counter((a.method, a.status) for a in bad_ngx)
    if by_status:
        p("  failed answers by method and status (nginx): " + ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(by_status.items())))
    retried = [a for a in load if len(a.upstreams) > 1]
    p(f"  passed on to another replica by nginx: {len(retried)} "
      f"({sum(1 for a in retried if a.status < 400)} of them then answered)")

    def phase(t):
        if t < t_kill:
            return "before the kill"
        if t_restart is None or t < t_restart:
            return "replica down"
        return "after the restart"
    phases = ["before the kill", "replica down", "after the restart"]
    per = collections.defaultdict(collections.Counter)
    for a in load:
        if a.upstreams and a.status < 400:
            # By when the request arrived: one answered just before the kill may be logged after it.
            per[phase(a.t - a.seconds)][replicas.get(a.upstreams[-1], a.upstreams[-1])] += 1
    p("  answered (2xx/3xx) by replica, by when the request arrived:")
    for ph in phases:
        if per[ph]:
            span = {"before the kill": t_kill - t_start,
                    "replica down": (t_restart or t_end) - t_kill,
                    "after the restart": t_end - (t_restart or t_end)}[ph]
            p(f"    {ph:<18} ({span:4.1f} s) " + "  ".join(f"r{r}: {per[ph][r]}" for r in (1, 2, 3)))

    # --- around the kill ---
    p("")
    p("-- around the kill (second 0 = SIGKILL)")
    fails_by_sec = collections.Counter()
    reqs_by_sec = collections.Counter()
    retry_by_sec = collections.Counter()
    for a in load:
        s = int((a.t - t_kill) // 1)
        reqs_by_sec[s] += 1
        if a.status >= 400 and a.status != 499:
            fails_by_sec[s] += 1
        if len(a.upstreams) > 1:
            retry_by_sec[s] += 1
    noresp = [x for x in posts if x.outcome == "noresponse"]
    for x in noresp:
        fails_by_sec[int((x.t - t_kill) // 1)] += 1
    probe_by_sec = collections.Counter()
    probe_fail_by_sec = collections.Counter()
    probe_max_by_sec = collections.defaultdict(float)
    for x in probes:
        s = int((x.t - t_kill) // 1)
        probe_by_sec[s] += 1
        probe_max_by_sec[s] = max(probe_max_by_sec[s], x.ms)
        if x.status == 0 or x.status >= 400:
            probe_fail_by_sec[s] += 1
    last = int(RESTART_WINDOW(meta)) + 3
    p(f"  {'second':>7}{'requests':>10}{'failed':>8}{'retried':>9}{'probe ok/all':>14}{'probe max ms':>14}")
    for s in range(-2, last + 1):
        mark = " <- kill" if s == 0 else (" <- restart" if t_restart and s == int((t_restart - t_kill) // 1) else "")
        p(f"  {s:>7}{reqs_by_sec[s]:>10}{fails_by_sec[s]:>8}{retry_by_sec[s]:>9}"
          f"{probe_by_sec[s] - probe_fail_by_sec[s]:>7}/{probe_by_sec[s]:<6}{probe_max_by_sec[s]:>14.0f}{mark}")
    near = sum(n for s, n in fails_by_sec.items() if -1 <= s <= last)
    far = sum(fails_by_sec.values()) - near
    p(f"  failed requests of the load from second -1 to {last}: {near}; elsewhere in the run: {far}")

    # --- writes ---
    p("")
    p("-- writes: what the client was told vs what the database holds")
    jobs_db = {name: (int(i), status, started) for i, name, status, started in
               psql(db, "SELECT id, name, status, COALESCE(started_at::text, '') FROM training_jobs WHERE name LIKE 'scaleout-t%'")}
    audit = psql(db, f"""SELECT action, target_id, details, client_address FROM audit_log
                        WHERE actor = 'bench' AND created_at >= to_timestamp({t_start - 5})""")
    audit_by = collections.defaultdict(list)
    for action, target, details, address in audit:
        audit_by[action].append(target)
    deployed_db = collections.Counter(j for (j,) in psql(db, "SELECT job_id FROM deployments WHERE deployed_by = 'bench'"))
    scales_db = collections.Counter(audit_by["deployment.scale"])

    by_kind = collections.defaultdict(list)
    for x in posts:
        by_kind[x.kind].append(x)

    def targets(kind, outcome="success"):
        return [x for x in by_kind[kind] if x.outcome == outcome]

    committed_create = {x.target.split(":")[0]: x.target.split(":")[1] for x in targets("post_create")}
    committed_start = collections.Counter(x.target for x in targets("post_start"))
    committed_deploy = collections.Counter(x.target for x in targets("post_deploy"))
    committed_scale = collections.Counter(x.target.split(":")[0] for x in targets("post_scale"))
    started_db = collections.Counter(audit_by["job.start"])
    for kind in ("post_create", "post_start", "post_deploy", "post_scale"):
        if len(targets(kind)) != counts.get(kind, {}).get("success", 0):
            p(f"  ! {kind}: the thread logs hold {len(targets(kind))} successes, done() counted {counts[kind]['success']}")

    # Requests still on the wire when wrk stopped: the server may have done them, nobody was told.
    at_end = collections.defaultdict(collections.Counter)
    for kind, target in inflight:
        at_end[kind][target.split(":")[0]] += 1
    # Answers that were neither a success, a refusal nor a no-op (a 502, no response, …).
    failed = collections.defaultdict(list)
    for x in posts:
        if x.kind.startswith("post") and x.outcome not in ("success", "refused", "unchanged"):
            failed[x.kind].append(x)

    created_visible = collections.Counter({name: 1 for name in jobs_db})
    create_ids_ok = all(str(jobs_db[n][0]) == i for n, i in committed_create.items() if n in jobs_db)
    rows = [
        ("create job", "post_create", collections.Counter(committed_create.keys()), created_visible,
         "training_jobs named scaleout-t*"),
        ("start job", "post_start", committed_start, started_db, "audit job.start by bench"),
        ("deploy job", "post_deploy", committed_deploy, deployed_db, "deployments deployed_by bench"),
        ("scale", "post_scale", committed_scale, scales_db, "audit deployment.scale by bench"),
    ]
    p(f"  {'write':<11}{'sent':>6}{'committed':>10}{'refused':>8}{'no-op':>6}{'failed':>7}{'at end':>7}"
      f"{'in db':>7}{'lost':>6}{'unreported':>11}  (in db: rows of)")
    details = []
    for label, kind, committed, visible, source in rows:
        c = counts.get(kind, {})
        # lost: told committed, not in the database. unreported: in the database, never told
        # committed (beyond the requests cut off when wrk stopped, which may or may not be).
        lost = sum(max(0, n - visible.get(k, 0)) for k, n in committed.items())
        surplus = collections.Counter({k: n - committed.get(k, 0) for k, n in visible.items() if n > committed.get(k, 0)})
        cut = at_end[kind]
        explained = sum(min(n, cut.get(k, 0)) for k, n in surplus.items())
        unreported = sum(surplus.values()) - explained
        p(f"  {label:<11}{c.get('sent', 0):>6}{sum(committed.values()):>10}{c.get('refused', 0):>8}{c.get('unchanged', 0):>6}"
          f"{len(failed[kind]):>7}{sum(cut.values()):>7}{sum(visible.values()):>7}{lost:>6}{unreported:>11}  ({source})")
        if lost:
            keys = [k for k, n in committed.items() if n > visible.get(k, 0)]
            details.append(f"    ! {label}: told committed but not in the database: {', '.join(keys[:8])}")
        for x in failed[kind]:
            key = x.target.split(":")[0]
            done = "in the database" if surplus.get(key, 0) > 0 else "not in the database"
            details.append(f"    {label} {x.target} answered {x.outcome} at {fmt_s(x.t - t_kill)} from the kill: {done}")
        if unreported:
            keys = [k for k, n in surplus.items() if n > cut.get(k, 0)]
            details.append(f"    ! {label}: in the database but never answered as done: {', '.join(keys[:8])}")
        if cut:
            done = sum(min(n, surplus.get(k, 0)) for k, n in cut.items())
            details.append(f"    {label}: {sum(cut.values())} in flight when wrk stopped, {done} of them done in the database")
    for line in details[:30]:
        p(line)
    if len(details) > 30:
        p(f"    … and {len(details) - 30} more")
    if not create_ids_ok:
        p("  ! a created job's id in its Location differs from the database")
    # The second count: nginx's log of the same POSTs (Location tells creates and deploys apart).
    ngx_create = sum(1 for a in load if a.method == "POST" and a.uri == "/training/jobs" and a.status == 303
                     and re.fullmatch(r"/training/jobs/\d+", a.location))
    ngx_deploy = sum(1 for a in load if a.method == "POST" and a.uri == "/deployments" and a.status == 303
                     and a.location == "/deployments")
    ngx_start = sum(1 for a in load if a.method == "POST" and a.uri.endswith("/start") and a.status == 303)
    ngx_scale = sum(1 for a in load if a.method == "POST" and a.uri.endswith("/scale") and a.status == 303)
    p(f"  cross-check, nginx log: creates answered 303 → the job {ngx_create}, deploys 303 → /deployments {ngx_deploy}; "
      f"303s to start {ngx_start} and to scale {ngx_scale} (refusals included); "
      f"audit job.create by bench {len(audit_by['job.create'])}, deployment.create {len(audit_by['deployment.create'])}; "
      f"scaleout jobs with started_at set {sum(1 for _, _, started in jobs_db.values() if started)}")
    addresses = collections.Counter(a for _, _, _, a in audit)
    p(f"  client address in the audit trail of these writes: "
      + ", ".join(f"{a or '(empty)'} ×{n}" for a, n in addresses.most_common())
      + f" (nginx connects from {meta['proxy_addr']})")
    refusals = collections.Counter()
    for x in posts:
        if x.outcome == "refused":
            refusals[x.kind] += 1
    if refusals:
        p("  refused (a flash error, nothing written): " + ", ".join(f"{k} {n}" for k, n in refusals.items()))

    # --- training steps ---
    p("")
    p("-- training: every job that wrote a step during the run (key loss; accuracy must match)")
    rows = psql(db, f"""
        WITH active AS (SELECT DISTINCT job_id FROM job_metrics WHERE recorded_at >= to_timestamp({t_start}) AND key = 'loss'),
        per AS (SELECT m.job_id, m.key, COUNT(*) AS n, COUNT(DISTINCT m.step) AS d, MIN(m.step) AS lo, MAX(m.step) AS hi,
                       MIN(m.recorded_at) AS first_at, MAX(m.recorded_at) AS last_at
                FROM job_metrics m JOIN active a ON a.job_id = m.job_id GROUP BY m.job_id, m.key)
        SELECT j.id, j.name, j.status, j.current_step, COALESCE(j.epochs * j.steps_per_epoch, 0),
               l.n, l.d, l.lo, l.hi, COALESCE(a.n, 0), COALESCE(a.d, 0),
               EXTRACT(EPOCH FROM l.first_at), EXTRACT(EPOCH FROM l.last_at)
        FROM per l JOIN training_jobs j ON j.id = l.job_id
        LEFT JOIN per a ON a.job_id = l.job_id AND a.key = 'accuracy'
        WHERE l.key = 'loss' ORDER BY j.id""")
    problems, across = [], 0
    lines = []
    for r in rows:
        jid, name, status, cur, total_steps = int(r[0]), r[1], r[2], int(r[3]), int(r[4])
        n, d, lo, hi, an, ad = map(int, r[5:11])
        first_at, last_at = float(r[11]), float(r[12])
        dup = n - d
        gap = (hi - lo + 1) - d
        issues = []
        if dup:
            issues.append(f"{dup} duplicate steps")
        if gap:
            issues.append(f"{gap} missing steps")
        if lo != 1:
            issues.append(f"starts at step {lo}")
        if hi != cur:
            issues.append(f"last step {hi} but current_step {cur}")
        if (an, ad) != (n, d):
            issues.append(f"accuracy has {an} rows/{ad} steps")
        if first_at < t_kill < last_at:
            across += 1
        tag = "ok" if not issues else "; ".join(issues)
        if issues:
            problems.append((jid, tag))
        lines.append(f"{jid:>5} {name[:28]:<28} {status:<9} steps {lo:>3}–{hi:<4} of {total_steps:<4} rows {n:>4} "
                     f"{tag}")
    p(f"  {len(rows)} jobs trained; {sum(1 for l in lines if l.endswith(' ok'))} with steps 1…current_step each exactly once; "
      f"{across} of them were training across the kill")
    for line in lines:
        p("  " + line)
    if problems:
        p(f"  ! {len(problems)} jobs with duplicate or missing steps: " + ", ".join(f"#{j} ({t})" for j, t in problems[:10]))
    else:
        p("  no duplicate step and no gap in any job")

    # --- counters ---
    mismatches = []
    for table, source, cond in (("job_status_counts", "training_jobs", "TRUE"),
                                ("deployment_status_counts", "deployments", "deleted_at IS NULL")):
        for status, kept, real in psql(db, f"""
            SELECT c.status, c.count, (SELECT COUNT(*) FROM {source} x WHERE x.status = c.status AND {cond})
            FROM {table} c ORDER BY c.status"""):
            if kept != real:
                mismatches.append(f"{table}.{status} = {kept}, rows {real}")
    p("  status counters (job_status_counts, deployment_status_counts) match the rows: "
      + ("yes" if not mismatches else "NO: " + "; ".join(mismatches)))

    # --- recovery ---
    p("")
    p("-- recovery")
    fail_times = [(a.t, f"{a.method} {a.uri} {a.status} via {','.join(a.upstreams) or '-'}")
                  for a in access if a.status >= 400 and a.status != 499 and a.agent in ("scaleout-wrk", "scaleout-probe")]
    fail_times += [(x.t, f"{x.kind} no response") for x in noresp]
    fail_times += [(x.t, f"probe {x.note}") for x in probes if x.status == 0]
    after = sorted(t for t in fail_times if t[0] >= t_kill - 0.5)
    if after:
        first, last_fail = after[0], after[-1]
        p(f"failures from the kill on: {len(after)}, the first at {fmt_s(first[0] - t_kill)} ({first[1]}), "
          f"the last at {fmt_s(last_fail[0] - t_kill)} ({last_fail[1]})")
        ok_after = [x.t for x in probes if x.t > last_fail[0] and 0 < x.status < 400]
        p(f"time to recover: {max(0.0, last_fail[0] - t_kill):.2f} s from the kill to the last failed request"
          + (f"; the probe succeeded again at {fmt_s(ok_after[0] - t_kill)}" if ok_after else ""))
    else:
        p("time to recover: 0 s — no request failed after the kill (load or probe)")
    window = [x for x in probes if t_kill <= x.t < t_kill + 3]
    before = sorted(x.ms for x in probes if x.t < t_kill)
    if window and before:
        p(f"probe latency: median {before[len(before) // 2]:.1f} ms before the kill, max {max(x.ms for x in window):.0f} ms "
          f"in the 3 s after it; {sum(1 for x in probes if x.status == 0 or x.status >= 400)} failed of {len(probes)} probes")
    if t_restart:
        back = [a.t for a in access if a.t >= t_restart and a.upstreams and a.upstreams[-1] == victim and a.status < 400]
        if back:
            # nginx leaves a replica out for fail_timeout after each failed attempt on it.
            tries = [a.t for a in access if a.t < back[0] and victim in a.upstreams
                     and a.upstream_statuses[a.upstreams.index(victim):][:1] in (["502"], ["504"])]
            p(f"restarted replica: started {fmt_s(t_restart - t_kill)}, ready {fmt_s(t_ready - t_kill)}, "
              f"served its first request through nginx at {fmt_s(back[0] - t_kill)}"
              + (f" (nginx's last failed attempt on it: {fmt_s(tries[-1] - t_kill)}; it then keeps it out for "
                 f"fail_timeout, 2 s)" if tries else ""))
        else:
            p("restarted replica: served no request through nginx before the end")
    others = sorted(t for t in fail_times if t[0] < t_kill - 0.5)
    if others:
        p(f"failures before the kill: {len(others)}, e.g. {others[0][1]} at {fmt_s(others[0][0] - t_kill)}")

    # --- server logs ---
    notes = []
    for i in (1, 2, 3):
        path = os.path.join(out, f"replica-{i}.log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                kept = [l.rstrip() for l in f if re.search(r"\b(warning|error|critical)\b", l)]
            if kept:
                notes.append((i, kept))
    path = os.path.join(out, "nginx-error.log")
    ngx_errors = []
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            ngx_errors = [l.rstrip() for l in f if "[error]" in l or "[warn]" in l or "[crit]" in l]
    p("")
    p("-- logs")
    for i, kept in notes:
        p(f"replica {i}: {len(kept)} warnings/errors, e.g.: {kept[0][:220]}")
    if not notes:
        p("replicas: no warning or error logged")
    kinds = collections.Counter()
    for line in ngx_errors:
        m = re.search(r"\] \d+#\d+: (?:\*\d+ )?(.*?)(?:, client:|$)", line)
        kinds[m.group(1) if m else line[:120]] += 1
    p(f"nginx: {len(ngx_errors)} errors/warnings" + (":" if kinds else ""))
    for text, n in kinds.most_common(8):
        p(f"  {n:>4} × {text[:160]}")


def RESTART_WINDOW(meta):
    return float(meta.get("restart_after", 0) or 0)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "probe" and len(sys.argv) == 6:
        probe(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
