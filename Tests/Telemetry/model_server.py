"""A small real model server for the telemetry tests: a sentiment classifier (logistic
regression with fixed weights over a small vocabulary, pure Python) behind
`http.server.ThreadingHTTPServer`, instrumented with prometheus_client as a model server
usually is.

    POST /predict   {"text": "...", "slow": false, "fail": false}
                    200 {"label": "positive"|"negative", "probability": p, "known_words": n}
                    "slow": true waits SLOW_SECONDS (0.25 s) before answering (a slow mode);
                    "fail": true makes the model raise, answered 500 (a model error);
                    a body that is not such JSON is answered 400.
    GET /metrics    the registry, in OpenMetrics when the Accept header asks for it (as
                    Trainyard does), else the Prometheus text format 0.0.4
    GET /healthz    200 "ok"

Metrics: `request_latency_seconds` (histogram, buckets .005 … 2.5 and +Inf) observed for every
/predict request, failures included, and `requests_total{status="…"}` (counter). Both are updated
before the answer is sent, so a client that has its answer knows the next scrape counts it.
`_created` series are kept: real servers send them.

Every /metrics answer is appended to --scrape-log as one JSON line: {"served_at": time.time()
when the page was generated, "body": the exact text sent, "content_type", "accept",
"user_agent"}. A restarted server appends to the same file.

    python model_server.py --port 8000 --scrape-log /tmp/scrapes.jsonl

Restartable on the same port at once (SO_REUSEADDR); SIGTERM stops accepting, lets requests in
flight finish and exits 0; it also exits when the process that started it goes away.
`ModelServerProcess` starts and stops one as a subprocess for the tests.
"""

import argparse
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = 0.25
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, math.inf)


class ModelError(RuntimeError):
    """The model could not produce a prediction."""


class SentimentModel:
    """Logistic regression over word counts, with weights fixed here (a model trained once and
    shipped): p(positive) = sigmoid(bias + sum of the weights of the words present, a word right
    after a negator counting with its sign flipped)."""

    BIAS = 0.15
    WEIGHTS = {
        "good": 1.1, "great": 1.7, "excellent": 2.2, "love": 1.8, "loved": 1.8, "happy": 1.3,
        "fast": 0.9, "helpful": 1.2, "reliable": 1.4, "recommend": 1.5, "perfect": 2.0, "works": 0.8,
        "easy": 0.9, "fine": 0.4, "thanks": 0.6,
        "bad": -1.2, "terrible": -2.3, "awful": -2.1, "hate": -1.9, "slow": -0.9, "broken": -1.8,
        "crash": -1.6, "crashes": -1.6, "refund": -1.1, "worst": -2.4, "disappointed": -1.5,
        "confusing": -1.0, "late": -0.7, "never": -0.5, "poor": -1.3,
    }
    NEGATORS = {"not", "no", "never", "hardly", "isn't", "wasn't", "don't", "doesn't", "didn't"}
    _WORD = re.compile(r"[a-z']+")

    def predict(self, text, fail=False):
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        if fail:
            raise ModelError("simulated model error: the inference backend did not answer")
        words = self._WORD.findall(text.lower())
        score, known, negate = self.BIAS, 0, False
        for word in words:
            weight = self.WEIGHTS.get(word)
            if weight is not None:
                score += -weight if negate else weight
                known += 1
            negate = word in self.NEGATORS
        probability = 1 / (1 + math.exp(-score))
        return {"label": "positive" if probability >= 0.5 else "negative",
                "probability": round(probability, 6), "known_words": known}


def make_server(host, port, scrape_log=None, slow_seconds=SLOW_SECONDS):
    """A ready-to-serve HTTP server with its own registry (nothing of the process's defaults)."""
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry()
    latency = Histogram("request_latency_seconds", "Time to answer POST /predict, failures included.",
                        buckets=BUCKETS, registry=registry)
    requests = Counter("requests", "POST /predict requests answered, by HTTP status.", ["status"], registry=registry)
    model = SentimentModel()
    log_lock = threading.Lock()
    log_file = open(scrape_log, "a", encoding="utf-8") if scrape_log else None

    class Handler(BaseHTTPRequestHandler):
        server_version = "telemetry-model-server/1"

        def log_message(self, *args):  # one line per request would drown the test output
            pass

        def _send(self, status, body, content_type):
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.split("?")[0] == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                body = encoder(registry)
                served_at = time.time()
                if log_file:
                    entry = {"served_at": served_at, "body": body.decode("utf-8"), "content_type": content_type,
                             "accept": self.headers.get("Accept"), "user_agent": self.headers.get("User-Agent")}
                    with log_lock:
                        log_file.write(json.dumps(entry) + "\n")
                        log_file.flush()
                self._send(200, body, content_type)
            elif self.path == "/healthz":
                self._send(200, "ok\n", "text/plain; charset=utf-8")
            else:
                self._send(404, "not found\n", "text/plain; charset=utf-8")

        def do_POST(self):
            if self.path != "/predict":
                self._send(404, "not found\n", "text/plain; charset=utf-8")
                return
            started = time.perf_counter()
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(request, dict) or not isinstance(request.get("text"), str):
                    raise ValueError('send {"text": "..."}')
            except (ValueError, UnicodeDecodeError) as error:
                status, answer = 400, {"error": str(error)}
            else:
                if request.get("slow"):
                    time.sleep(slow_seconds)
                try:
                    status, answer = 200, model.predict(request["text"], fail=bool(request.get("fail")))
                except ModelError as error:
                    status, answer = 500, {"error": str(error)}
            # Counted before the answer goes out: an answered request is in the next scrape.
            latency.observe(time.perf_counter() - started)
            requests.labels(str(status)).inc()
            self._send(status, json.dumps(answer), "application/json")

    class Server(ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = False   # requests in flight finish on SIGTERM…
        block_on_close = True    # …server_close() waits for them

        def server_close(self):
            super().server_close()
            if log_file:
                log_file.close()

    return Server((host, port), Handler)


def _watch_parent(parent):
    """Exit (as on SIGTERM) when the process that started us is gone, so a killed test run
    leaves no server holding its port."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def main():
    parser = argparse.ArgumentParser(description="A tiny sentiment model server with Prometheus metrics.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed on start)")
    parser.add_argument("--scrape-log", help="append every /metrics answer to this JSONL file")
    parser.add_argument("--slow-seconds", type=float, default=SLOW_SECONDS)
    args = parser.parse_args()

    server = make_server(args.host, args.port, args.scrape_log, args.slow_seconds)

    def stop(signum, frame):
        raise KeyboardInterrupt  # leaves serve_forever in the main thread

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    host, port = server.server_address[:2]
    try:
        # Inside the try: a SIGTERM sent the moment this line is read must still end cleanly.
        print(f"model server: listening on http://{host}:{port}", flush=True)
        server.serve_forever(poll_interval=0.05)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.server_close()
    return 0


class ModelServerProcess:
    """model_server.py as a subprocess on a fixed port: start(), stop(), restart()."""

    def __init__(self, port, scrape_log, host="127.0.0.1", python=sys.executable, output=None):
        self.host, self.port, self.scrape_log, self.python = host, port, str(scrape_log), python
        self.output = output  # a file for the server's stdout/stderr (None: inherited)
        self.process = None

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self, timeout=15):
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [self.python, os.path.abspath(__file__), "--host", self.host, "--port", str(self.port),
             "--scrape-log", self.scrape_log],
            stdout=self.output, stderr=subprocess.STDOUT if self.output else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"the model server exited with {code} before answering on port {self.port}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the model server did not answer on port {self.port} within {timeout} s")

    def stop(self, timeout=10):
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self):
        """Stopped and started again on the same port: its counters start over from zero."""
        self.stop()
        return self.start()


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
