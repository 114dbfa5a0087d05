"""Load for the tracking API, as training code makes it: prints latency figures.

1. One run takes BATCHES log-batch requests of 1,000 metrics each, one after another:
   round-trip time on the loopback (which is the server's time plus a few tens of µs).
2. RUNS runs each log a 10-metric batch every second for SECONDS seconds, from RUNS threads,
   while one more thread keeps loading the monitor page of one of those runs.

    python3 bench/tracking_load.py --url http://127.0.0.1:8080 --username bench --password …

Against a reference server (MLflow's own, which ignores the credentials): --no-monitor.
"""

import argparse
import base64
import http.client
import json
import re
import statistics
import threading
import time
import urllib.parse


RESULTS = {}


class Connection:
    """A keep-alive HTTP/1.1 connection with Basic auth (what MLflow's client sends)."""

    def __init__(self, base, user, password):
        parsed = urllib.parse.urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, method, path, body=None, headers=None):
        all_headers = {"Authorization": self.auth}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=all_headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            raise
        return response.status, payload, time.perf_counter() - start


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def new_run(conn, experiment):
    status, body, _ = conn.call("POST", "/api/2.0/mlflow/experiments/create", {"name": experiment})
    if status == 200:
        experiment_id = json.loads(body)["experiment_id"]
    else:
        status, body, _ = conn.call("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + urllib.parse.quote(experiment))
        experiment_id = json.loads(body)["experiment"]["experiment_id"]
    status, body, _ = conn.call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})
    assert status == 200, body
    return json.loads(body)["run"]["info"]["run_id"]


def big_batches(args):
    conn = Connection(args.url, args.username, args.password)
    run = new_run(conn, f"bench-batch-{int(time.time())}")
    times, errors = [], 0
    for b in range(args.batches):
        now = int(time.time() * 1000)
        metrics = [{"key": f"m{k % 10}", "value": (b * 100 + k) * 0.001, "timestamp": now, "step": b * 100 + k // 10}
                   for k in range(1000)]
        status, body, elapsed = conn.call("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": run, "metrics": metrics})
        if status != 200:
            errors += 1
        times.append(elapsed * 1000)
    RESULTS.update(batch_p50=percentile(times, 50), batch_p99=percentile(times, 99), batch_errors=errors)
    print(f"log-batch of 1,000 metrics x {args.batches}: p50 {percentile(times, 50):.1f} ms, "
          f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms, errors {errors}")


def sign_in(base, user, password):
    """The monitor is a page: a session cookie from the sign-in form."""
    parsed = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": user, "password": password, "_csrf": csrf})
    conn.request("POST", "/login", body=form, headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    session = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie") if "session" in c]
    return conn, (session[-1] if session else cookie)


def many_runs(args):
    setup = Connection(args.url, args.username, args.password)
    experiment = f"bench-runs-{int(time.time())}"
    runs = [new_run(setup, experiment) for _ in range(args.runs)]
    watched, monitor_conn, cookie = None, None, None
    if not args.no_monitor:
        monitor_conn, cookie = sign_in(args.url, args.username, args.password)
        monitor_conn.request("GET", "/training/jobs?experiment=" + urllib.parse.quote(experiment), headers={"Cookie": cookie})
        listing = monitor_conn.getresponse().read().decode()
        paths = re.findall(r'href="(/training/jobs/\d+)"', listing)
        watched = paths[0] if paths else None

    stop = time.monotonic() + args.seconds
    lock = threading.Lock()
    batch_times, errors, sent = [], [0], [0]
    monitor_times, monitor_errors = [], [0]

    def runner(run_id, offset):
        conn = Connection(args.url, args.username, args.password)
        step = 0
        next_at = time.monotonic() + offset
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() >= stop:
                return
            step += 1
            now = int(time.time() * 1000)
            metrics = [{"key": f"m{k}", "value": step * 0.01 + k, "timestamp": now, "step": step} for k in range(10)]
            try:
                status, _, elapsed = conn.call("POST", "/api/2.0/mlflow/runs/log-batch", {"run_id": run_id, "metrics": metrics})
            except (http.client.HTTPException, OSError):
                status, elapsed = 0, 0
            with lock:
                sent[0] += 1
                if status != 200:
                    errors[0] += 1
                else:
                    batch_times.append(elapsed * 1000)
            next_at += 1.0

    def monitor():
        while time.monotonic() < stop and watched:
            start = time.perf_counter()
            try:
                monitor_conn.request("GET", watched, headers={"Cookie": cookie})
                response = monitor_conn.getresponse()
                response.read()
                ok = response.status == 200
            except (http.client.HTTPException, OSError):
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if ok:
                    monitor_times.append(elapsed)
                else:
                    monitor_errors[0] += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=runner, args=(run, i / args.runs)) for i, run in enumerate(runs)]
    threads.append(threading.Thread(target=monitor))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{args.runs} runs x 10-metric batch every second for {args.seconds} s: {sent[0]} batches "
          f"({sent[0] / args.seconds:.0f}/s), errors {errors[0]}, log-batch p50 {percentile(batch_times, 50):.1f} ms, "
          f"p99 {percentile(batch_times, 99):.1f} ms")
    RESULTS.update(runs_p50=percentile(batch_times, 50), runs_p99=percentile(batch_times, 99), runs_errors=errors[0], runs_sent=sent[0])
    if args.no_monitor:
        return
    print(f"monitor {watched} meanwhile: {len(monitor_times)} loads, errors {monitor_errors[0]}, "
          f"p50 {percentile(monitor_times, 50):.1f} ms, p99 {percentile(monitor_times, 99):.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--no-monitor", action="store_true", help="a reference tracking server: no Trainyard pages")
    parser.add_argument("--json", help="also write the figures here, for the ratio against a reference")
    args = parser.parse_args()
    big_batches(args)
    many_runs(args)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(RESULTS, out)


if __name__ == "__main__":
    main()
