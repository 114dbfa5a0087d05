"""A paced load generator for model_server.py: request i is sent at start + i / rate, by a
scheduler thread handing requests to a pool of workers, so slow answers never slow the pace (a
late scheduler catches up at once, keeping the average rate). Which requests are fast, slow or
failing is decided by i alone, so the share of each is known exactly:

    i % 20 == 10          fail   ("fail": true, answered 500)       5 %
    i % 20 in (3, 9, 16)  slow   ("slow": true, about 0.25 s)       15 %
    otherwise             fast                                      80 %

    load = LoadGenerator("http://127.0.0.1:8000", rate=20).start()
    ...
    records = load.stop()   # one Record per request sent, in order of i

Times are wall-clock (time.time()), comparable with the scrape log's served_at.
"""

import http.client
import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

TEXTS = [
    "I love this product, it works great and support was helpful",
    "terrible experience, the app crashes and I want a refund",
    "not bad at all, easy to set up and fast",
    "the delivery was late and the box was broken",
    "excellent quality, I would recommend it to anyone",
    "confusing menus and poor documentation, disappointed",
    "fine for the price, nothing special",
    "never again, worst service I have had",
    "happy with it, reliable and perfect for my needs",
    "it is not great and not terrible either",
]

FAIL_EVERY, FAIL_AT = 20, 10
SLOW_AT = (3, 9, 16)


def kind_of(i):
    """"fail", "slow" or "fast" for request i."""
    slot = i % FAIL_EVERY
    if slot == FAIL_AT:
        return "fail"
    if slot in SLOW_AT:
        return "slow"
    return "fast"


@dataclass
class Record:
    i: int
    kind: str
    scheduled: float             # when it was due (wall clock)
    sent: float                  # when the request left
    finished: Optional[float] = None
    status: Optional[int] = None  # the HTTP status; None when there was no answer
    error: Optional[str] = None   # why there was no answer (refused, reset, timeout)

    @property
    def answered(self):
        return self.status is not None

    @property
    def failed(self):
        return self.status is not None and self.status >= 500


class LoadGenerator:
    def __init__(self, base_url, rate=20.0, workers=16, timeout=5.0):
        parsed = urllib.parse.urlparse(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.rate, self.timeout = float(rate), timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        self._records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self.started_at = None    # wall clock of request 0
        self.stopped_at = None    # wall clock when the scheduler stopped sending

    def start(self):
        assert self._thread is None, "already started"
        self._thread = threading.Thread(target=self._schedule, name="load-scheduler", daemon=True)
        self.started_at = time.time()
        self._origin = time.monotonic()
        self._thread.start()
        return self

    def _schedule(self):
        i = 0
        while not self._stop.is_set():
            due = self._origin + i / self.rate
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            record = Record(i=i, kind=kind_of(i), scheduled=self.started_at + i / self.rate, sent=time.time())
            with self._lock:
                self._records.append(record)
            self._pool.submit(self._send, record, TEXTS[i % len(TEXTS)])
            i += 1
        self.stopped_at = time.time()

    def _send(self, record, text):
        body = json.dumps({"text": text, "slow": record.kind == "slow", "fail": record.kind == "fail"})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            record.sent = time.time()
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            record.status = response.status
        except (OSError, http.client.HTTPException) as error:
            record.error = f"{type(error).__name__}: {error}"
        finally:
            record.finished = time.time()
            connection.close()

    def records(self):
        """The requests sent so far (those still in flight have no `finished`)."""
        with self._lock:
            return list(self._records)

    def stop(self):
        """Stops sending, waits for the requests in flight, returns every Record in order of i."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._pool.shutdown(wait=True)
        return self.records()


def answered_between(records, after, until):
    """Requests answered (any HTTP status) with their answer in (after, until]."""
    return [r for r in records if r.answered and r.finished is not None and after < r.finished <= until]


def summary(records, after, until):
    """(answered, failed, rate per second, failing share) for answers in (after, until]."""
    answered = answered_between(records, after, until)
    failed = sum(1 for r in answered if r.failed)
    span = until - after
    return len(answered), failed, (len(answered) / span if span > 0 else float("nan")), \
        (failed / len(answered) if answered else float("nan"))
