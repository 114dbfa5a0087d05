"""End to end: Trainyard scrapes a real model server (model_server.py, under paced load from
load.py) and its per-minute figures are checked against what the model server actually served.
The model server logs every page it serves; promtext.py recomputes Trainyard's figures from
exactly those pages, so requests, errors and quantiles must agree to rounding, while the load
generator's own records check the rates against what was really sent.

The scenario, planned so it takes about 1.5 to 2.5 minutes whatever the time:

    minute P (partial)   the source is set where the second of the minute is 2.2 (mod 5), so
                         scrapes (every 5 s from then) come at :02.2, :07.2, … :57.2, never
                         near a minute boundary; once the model server has been loaded 8 s
                         it is restarted just after a scrape (its counters start over): P
                         holds the reset
    minute C (clean)     12 scrape pairs, 60 s, all from the restarted server: requests/s,
                         error rate and p50/p95/p99 checked
    minute G (gap)       the model server is stopped just after C's last scrape: the source
                         goes down with the error shown on the page, and G gets no window
                         (with TELEMETRY_FULL_GAP=1 the test waits for G to end before saying so)
"""

import datetime
import html
import json
import math
import re
import time
from pathlib import Path

import pytest

import load
import promtext
from trainyard_api import FULL_GAP, TRAINYARD_PASSWORD, TRAINYARD_URL, TRAINYARD_USERNAME, missing_endpoint
from model_server import ModelServerProcess, free_port
from web import WebClient

pytestmark = pytest.mark.trainyard

RATE = 20.0               # requests per second the load generator sends
INTERVAL = 5              # the scrape interval set on the source
PHASE = 2.2               # set the source when the second of the minute is this, mod 5
OLD_SERVER_LOAD = 8.0     # seconds of load the model server takes before its restart, so its
                          # counters are well above what the restarted one reaches by the next scrape
SCRAPE_LAG = 1.5          # a due scrape is taken on Trainyard's next tick, then fetched
RECORD_LAG = 3.0          # how long Trainyard may take to show a scrape in the API
PRESET = "prometheus_client"
MAPPING = promtext.PROMETHEUS_CLIENT


# ---- small helpers --------------------------------------------------------------------------

def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def clock(t):
    """09:14:02.2, for messages."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:10]


def minute_label(minute):
    return clock(minute * 60)[:5]


def wait_until(t):
    time.sleep(max(0.0, t - time.time()))


def poll(fetch, done, deadline, interval=0.2):
    """Calls fetch() until done(value) or the deadline; returns the last value either way."""
    while True:
        value = fetch()
        if done(value) or time.time() >= deadline:
            return value
        time.sleep(interval)


class ScrapeLog:
    """The model server's log of every page it served (Trainyard's scrapes: nothing else asks)."""

    def __init__(self, path):
        self.path = Path(path)

    def entries(self):
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                pass  # a line being written
        return entries

    def wait_for(self, after, deadline):
        """The first page served after `after` (wall clock), or None by the deadline."""
        while time.time() < deadline:
            for entry in self.entries():
                if entry["served_at"] > after:
                    return entry
            time.sleep(0.05)
        return None

    def reference(self):
        """{minute: promtext.Window}: Trainyard's rule applied to every page served."""
        return promtext.minute_windows([(e["served_at"], promtext.series(e["body"])) for e in self.entries()], MAPPING)


class Checks:
    """Assertions that do not stop the scenario: each run takes minutes, so one run should
    report everything it found. Preconditions for later steps stay plain asserts."""

    def __init__(self):
        self.failures = []
        self.notes = []

    def __call__(self, condition, message):
        if not condition:
            self.failures.append(message)
        return condition

    def close(self):
        if self.failures:
            pytest.fail(f"{len(self.failures)} problem(s):\n- " + "\n- ".join(self.failures), pytrace=False)
        if self.notes:
            pytest.skip("; ".join(self.notes))


def plan(now, load_started):
    """When to set the source and after which scrape to restart the model server: the first
    time (second of the minute = PHASE mod 5, at least 0.5 s away) from which a scrape that
    follows OLD_SERVER_LOAD s of load, and the scrape after it, both fall in the same minute.
    Returns (set_at, restart_after, minute P)."""
    first_minute = math.floor(now / 60)
    for minute in (first_minute, first_minute + 1):
        for k in range(12):
            set_at = minute * 60 + 5 * k + PHASE
            if set_at < now + 0.5:
                continue
            j = max(1, math.ceil((load_started + OLD_SERVER_LOAD - set_at) / INTERVAL))
            if 5 * k + PHASE + INTERVAL * (j + 1) < 60:
                return set_at, set_at + INTERVAL * j, minute
    raise AssertionError("no plan fits: unreachable")


def windows_of(response):
    return {math.floor(parse_iso(w["minute"]) / 60): w for w in response.json["windows"]}


def near_a_boundary(window):
    return [t for pair in window.pairs for t in pair if abs(t - round(t / 60) * 60) < 0.5]


def compare_minute(check, got, ref, label):
    """Trainyard's window `got` against the recomputation `ref` from the pages it was served."""
    pairs = f"{len(ref.pairs)} scrape pairs from {clock(ref.pairs[0][0])} to {clock(ref.pairs[-1][1])}"
    check(got["source"] == "scraped", f"{label}: the window says its source is {got['source']!r}, not 'scraped'")
    check(abs(got["seconds"] - ref.seconds) <= 0.25,
          f"{label}: the window covers {got['seconds']:.3f} s, but the {pairs} span {ref.seconds:.3f} s")
    check(got["requests"] == round(ref.requests),
          f"{label}: the page would show {got['requests']} requests, but the counters Trainyard was served grew by "
          f"{ref.requests:.0f} over the {pairs}")
    check(got["errors"] == round(ref.errors),
          f"{label}: the page would show {got['errors']} errors, but requests_total{{status=~\"5..\"}} grew by "
          f"{ref.errors:.0f} over the {pairs}")
    if got["seconds"]:
        check(math.isclose(got["requests_per_second"], got["requests"] / got["seconds"], rel_tol=1e-9),
              f"{label}: requests_per_second {got['requests_per_second']} is not requests/seconds "
              f"({got['requests']}/{got['seconds']})")
    if got["requests"]:
        check(math.isclose(got["error_rate"], got["errors"] / got["requests"], rel_tol=1e-9),
              f"{label}: error_rate {got['error_rate']} is not errors/requests ({got['errors']}/{got['requests']})")
    for q, field in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        want, have = ref.quantile_ms(q), got.get(field)
        check(have is not None and want is not None and math.isclose(have, want, rel_tol=1e-6, abs_tol=1e-9),
              f"{label}: {field} is {have}, but histogram_quantile({q}) over the summed bucket increases "
              f"{dict(sorted(ref.buckets.items()))} gives {want} ms")


def check_all_windows(check, windows, label):
    for minute, w in sorted(windows.items()):
        where = f"{label}, minute {minute_label(minute)}"
        check(0 <= w["requests_per_second"] <= RATE * 1.05,
              f"{where}: {w['requests_per_second']:.2f} requests/s, but the model server was sent {RATE:g}/s at most "
              f"(a counter reset read as a huge or negative increase?)")
        check(0 <= w["errors"] <= w["requests"], f"{where}: {w['errors']} errors out of {w['requests']} requests")
        check(w["requests"] != 0, f"{where}: a window with 0 requests; minutes without a successful scrape must be gaps")
        check(w["source"] == "scraped", f"{where}: a {w['source']!r} window on a scraped deployment")


# ---- refusals and pushed windows ------------------------------------------------------------

def test_a_target_that_is_not_http_is_refused(api, active_deployments):
    deployment = active_deployments[0]
    before = api.get(f"/api/deployments/{deployment}/inference")
    refused = api.put(f"/api/deployments/{deployment}/source",
                      {"kind": "scraped", "target_url": "file:///etc/passwd", "interval_seconds": INTERVAL, "preset": PRESET})
    if missing_endpoint(refused):
        pytest.fail(missing_endpoint(refused), pytrace=False)
    assert refused.status == 400, f"setting file:///etc/passwd as the metrics page should be refused with 400: {refused!r}"
    message = ((refused.json or {}).get("errors") or {}).get("target_url") or ""
    assert re.search(r"\bhttp\b", message, re.I) and re.search(r"\bhttps\b", message, re.I), \
        f"the form would not tell the user that only http and https URLs can be scraped: errors.target_url is {message!r}"
    after = api.get(f"/api/deployments/{deployment}/inference")
    assert after.json["source"]["kind"] == before.json["source"]["kind"], "a refused source changed the deployment's source"


def test_pushed_windows_are_stored_once_per_minute(api, active_deployments):
    deployment = active_deployments[1]
    base = f"/api/deployments/{deployment}"
    switched = api.put(base + "/source", {"kind": "pushed"})
    if missing_endpoint(switched):
        pytest.fail(missing_endpoint(switched), pytrace=False)
    assert switched.status == 200 and switched.json.get("id") == deployment, f"switching to pushed failed: {switched!r}"

    minute = math.floor(time.time() / 60) * 60
    window = {"minute": iso(minute), "requests": 600, "errors": 6, "p50_ms": 10, "p95_ms": 30, "p99_ms": 60}
    for attempt in ("first", "second (the same minute again)"):
        pushed = api.post(base + "/inference", {"windows": [window]})
        assert pushed.status == 200 and pushed.json == {"accepted": 1}, f"the {attempt} push was not accepted: {pushed!r}"

    stored = api.get(base + f"/inference?since={iso(minute - 3 * 86400)}")
    assert stored.status == 200, f"reading the pushed windows failed: {stored!r}"
    assert stored.json["source"]["kind"] == "pushed"
    mine = [w for w in stored.json["windows"] if parse_iso(w["minute"]) == minute]
    assert len(mine) == 1, f"pushing the same minute twice should leave one window for {iso(minute)}, found {mine}"
    w = mine[0]
    assert (w["source"], w["requests"], w["errors"], w["p50_ms"], w["p95_ms"], w["p99_ms"]) == \
        ("pushed", 600, 6, 10, 30, 60), f"the pushed window reads back differently: {w}"
    assert w["error_rate"] == pytest.approx(0.01) and w["requests_per_second"] == pytest.approx(600 / w["seconds"])
    assert w["seconds"] == 60, f"a pushed minute should count as 60 s of observation: {w}"
    others = [x for x in stored.json["windows"] if x["source"] != "pushed"]
    assert not others, f"switching from simulated should delete the simulated windows; {len(others)} are left"

    too_old = api.post(base + "/inference", {"windows": [dict(window, minute=iso(minute - 9 * 86400))]})
    assert too_old.status == 400 and "8 days" in too_old.text, \
        f"a window 9 days old should be refused with a message about the 8 days kept: {too_old!r}"
    future = api.post(base + "/inference", {"windows": [dict(window, minute=iso(minute + 600))]})
    assert future.status == 400, f"a window 10 minutes in the future should be refused: {future!r}"
    again = api.get(base + f"/inference?since={iso(minute - 3 * 86400)}")
    assert len(again.json["windows"]) == 1, f"refused pushes stored something: {again.json['windows']}"


def test_a_push_to_a_scraped_deployment_is_refused(api, active_deployments):
    deployment = active_deployments[2]
    base = f"/api/deployments/{deployment}"
    # A target nothing listens on, scraped rarely: only the source's kind matters here.
    scraped = api.put(base + "/source", {"kind": "scraped", "target_url": f"http://127.0.0.1:{free_port()}/metrics",
                                         "interval_seconds": 300, "preset": PRESET})
    if missing_endpoint(scraped):
        pytest.fail(missing_endpoint(scraped), pytrace=False)
    assert scraped.status == 200, f"setting a scraped source failed: {scraped!r}"
    minute = iso(math.floor(time.time() / 60) * 60)
    pushed = api.post(base + "/inference", {"windows": [{"minute": minute, "requests": 1, "errors": 0,
                                                         "p50_ms": 1, "p95_ms": 1, "p99_ms": 1}]})
    assert pushed.status == 409, f"pushing figures to a deployment whose figures are scraped should be a conflict: {pushed!r}"


# ---- the scraping scenario ------------------------------------------------------------------

def test_scraped_minutes_are_what_the_model_server_served(api, active_deployments, tmp_path):
    deployment = active_deployments[0]
    base = f"/api/deployments/{deployment}"
    log = ScrapeLog(tmp_path / "scrapes.jsonl")
    output = open(tmp_path / "model_server.out", "w")
    server = ModelServerProcess(free_port(), log.path, output=output).start()
    generator = load.LoadGenerator(server.url, rate=RATE).start()
    check = Checks()
    try:
        _scenario(api, deployment, base, server, generator, log, check)
    except (AssertionError, pytest.fail.Exception) as error:
        if not check.failures:
            raise
        # A step could not go on: report what the earlier steps found as well.
        pytest.fail(f"{error}\n\nfound before that:\n- " + "\n- ".join(check.failures), pytrace=False)
    finally:
        generator.stop()
        server.stop()
        output.close()
    check.close()


def _scenario(api, deployment, base, server, generator, log, check):
    def inference(since):
        response = api.get(base + f"/inference?since={iso(since)}")
        if missing_endpoint(response):
            pytest.fail(missing_endpoint(response), pytrace=False)
        assert response.status == 200, f"reading the deployment's figures failed: {response!r}"
        return response

    def steps(text):
        print(f"{clock(time.time())} {text}")

    set_at, restart_after, minute_p = plan(time.time(), generator.started_at)
    minute_c, minute_g = minute_p + 1, minute_p + 2
    since = minute_p * 60
    steps(f"plan: set the source at {clock(set_at)}, restart after the scrape due {clock(restart_after)}; "
          f"reset minute {minute_label(minute_p)}, clean minute {minute_label(minute_c)}, gap minute {minute_label(minute_g)}")

    # c. The source, set where the scrapes will stay clear of minute boundaries.
    wait_until(set_at)
    target = server.url + "/metrics"
    source = {"kind": "scraped", "target_url": target, "interval_seconds": INTERVAL, "preset": PRESET}
    put = api.put(base + "/source", source)
    set_time = time.time()
    if missing_endpoint(put):
        pytest.fail(missing_endpoint(put), pytrace=False)
    assert put.status == 200 and (put.json or {}).get("id") == deployment, f"setting the scraped source failed: {put!r}"
    steps(f"source set (PUT took {set_time - set_at:.3f} s)")
    read = inference(since).json["source"]
    check((read.get("kind"), read.get("target_url"), read.get("interval_seconds")) == ("scraped", target, INTERVAL),
          f"the source reads back as {read}, not as set")

    # f (first). The counter reset, in minute P.
    before_restart = log.wait_for(restart_after - 1.0, deadline=restart_after + SCRAPE_LAG + 2)
    assert before_restart, (f"Trainyard did not scrape {target} by {clock(restart_after + SCRAPE_LAG + 2)} "
                            f"(the source was set at {clock(set_time)}; it should be scraped every {INTERVAL} s); "
                            f"the source reads {inference(since).json['source']}")
    restart_started = time.time()
    server.restart()
    restart_took = time.time() - restart_started
    steps(f"model server restarted {restart_started - before_restart['served_at']:.3f} s after the scrape at "
          f"{clock(before_restart['served_at'])}; it was down {restart_took:.3f} s")
    assert restart_took < INTERVAL - 2, (f"the model server took {restart_took:.1f} s to restart; Trainyard may have "
                                         "scraped it while it was down, and the test could not tell (a busy machine?)")
    after_restart = log.wait_for(restart_started, deadline=before_restart["served_at"] + INTERVAL + SCRAPE_LAG + 2)
    assert after_restart, f"no scrape of the restarted model server by {clock(time.time())}: {inference(since).json['source']}"

    ref = log.reference()
    ref_p = ref.get(minute_p)
    assert ref_p and ref_p.resets, ("the test's own check: the pages served around the restart show no counter going "
                                    f"down, so the reset is not exercised (pairs in P: {ref_p and ref_p.pairs})")
    got = poll(lambda: inference(since), lambda r: windows_of(r).get(minute_p, {}).get("seconds", 0) >= ref_p.seconds - 0.5,
               deadline=time.time() + RECORD_LAG)
    windows = windows_of(got)
    steps(f"after the reset: {len(ref_p.pairs)} pairs in P; Trainyard shows {windows.get(minute_p)}")
    assert minute_p in windows, (f"no window for {minute_label(minute_p)} although Trainyard scraped the model server "
                                 f"{len(ref_p.pairs) + 1} times in it; source: {got.json['source']}")
    reset_label = f"minute {minute_label(minute_p)} (holding the model server's restart)"
    if near_a_boundary(ref_p):
        check.notes.append(f"{reset_label}: scrapes at {near_a_boundary(ref_p)} came within 0.5 s of a minute boundary; not compared")
    else:
        compare_minute(check, windows[minute_p], ref_p, reset_label)
    check_all_windows(check, windows, "after the restart")

    # e. The clean minute C: every scrape pair from the restarted server.
    last_c = log.wait_for(minute_c * 60 + 55, deadline=minute_c * 60 + 60 + SCRAPE_LAG)
    assert last_c, f"no scrape of the model server in the last seconds of {minute_label(minute_c)}: {inference(since).json['source']}"
    # g (first half). Down: stopped at once (the page being sent still goes out), so the next
    # scrape, C's last + 5 s, fails.
    records = generator.stop()
    server.stop()
    stop_time = time.time()
    steps(f"model server and load stopped, {stop_time - last_c['served_at']:.3f} s after C's last scrape")
    ref_c = log.reference()[minute_c]
    got = poll(lambda: inference(since), lambda r: windows_of(r).get(minute_c, {}).get("seconds", 0) >= ref_c.seconds - 0.5,
               deadline=time.time() + RECORD_LAG)

    windows_after_c = windows_of(got)
    source_c = got.json["source"]
    check(source_c.get("up") is True and not source_c.get("last_error"),
          f"while the model server was answering, the source read up={source_c.get('up')}, "
          f"last_error={source_c.get('last_error')!r}")
    clean_label = f"minute {minute_label(minute_c)}"
    assert minute_c in windows_after_c, f"no window for {clean_label} after {len(ref_c.pairs)} scrapes in it: {got.json}"
    w = windows_after_c[minute_c]
    steps(f"clean minute: Trainyard {w}; reference requests={ref_c.requests} errors={ref_c.errors} "
          f"seconds={ref_c.seconds:.3f} p50/95/99={[ref_c.quantile_ms(q) for q in (0.5, 0.95, 0.99)]}")
    check(len(ref_c.pairs) == 60 // INTERVAL and abs(ref_c.seconds - 60) < 1.5,
          f"{clean_label}: the model server was scraped in {len(ref_c.pairs)} pairs spanning {ref_c.seconds:.2f} s; "
          f"every {INTERVAL} s from the source's setting should give {60 // INTERVAL} pairs, 60 s")
    if near_a_boundary(ref_c):
        check.notes.append(f"{clean_label}: scrapes at {near_a_boundary(ref_c)} came within 0.5 s of a minute boundary; not compared")
    else:
        compare_minute(check, w, ref_c, clean_label)
        span_from, span_to = ref_c.pairs[0][0], ref_c.pairs[-1][1]
        answered, failed, sent_rate, failing_share = load.summary(records, span_from, span_to)
        check(math.isclose(w["requests_per_second"], sent_rate, rel_tol=0.05),
              f"{clean_label}: the page would show {w['requests_per_second']:.2f} requests/s, but the model server "
              f"answered {answered} requests in those {span_to - span_from:.1f} s ({sent_rate:.2f}/s)")
        check(math.isclose(w["requests_per_second"], RATE, rel_tol=0.05),
              f"{clean_label}: the page would show {w['requests_per_second']:.2f} requests/s for a steady load of {RATE:g}/s")
        check(abs(w["error_rate"] - failing_share) <= 0.005,
              f"{clean_label}: the page would show an error rate of {100 * w['error_rate']:.2f} %, but "
              f"{failed} of the {answered} requests answered in that span failed ({100 * failing_share:.2f} %)")
        check(abs(ref_c.requests - answered) <= 3,
              f"the test's own check: the pages served count {ref_c.requests:.0f} requests in {clean_label}, "
              f"the load generator's records {answered}")
    check_all_windows(check, windows_after_c, "after the clean minute")
    first_scraped = min(windows_after_c)
    check(first_scraped >= math.floor(set_time / 60),
          f"a window for {minute_label(first_scraped)}, before the source was set at {clock(set_time)}")
    since_c = inference(minute_c * 60).json["windows"]
    check(bool(since_c) and parse_iso(since_c[0]["minute"]) == minute_c * 60,
          f"?since={iso(minute_c * 60)} should start with that minute (inclusive): got {[x['minute'] for x in since_c]}")
    minutes = [x["minute"] for x in got.json["windows"]]
    check(minutes == sorted(minutes), f"windows are not in ascending minute order: {minutes}")
    history = inference(set_time - 3 * 86400).json["windows"]
    check(all(x["source"] == "scraped" for x in history),
          f"switching to scraped should delete the simulated windows; "
          f"{sum(x['source'] != 'scraped' for x in history)} non-scraped windows are left")
    accept = (last_c.get("accept") or "").split(",")[0].strip().lower()
    check(accept.startswith("application/openmetrics-text"),
          f"Trainyard's scrapes should ask for OpenMetrics first; its Accept header was {last_c.get('accept')!r}")
    # Due every INTERVAL from when Trainyard took the PUT (between set_at and set_time).
    lateness = [(e["served_at"] - set_at) % INTERVAL for e in log.entries()]
    late = [round(x, 2) for x in lateness if x > (set_time - set_at) + SCRAPE_LAG]
    check(not late, f"scrapes should come every {INTERVAL} s from the moment the source was set ({clock(set_at)}); "
                    f"these came this many seconds after their slot: {late}")

    # g. Down.
    got = poll(lambda: inference(since), lambda r: r.json["source"].get("up") is False,
               deadline=stop_time + 2 * INTERVAL + SCRAPE_LAG + 1)
    down = got.json["source"]
    steps(f"source after the stop: {down}")
    assert down.get("up") is False, (f"the model server was stopped at {clock(stop_time)}, but two intervals later the "
                                     f"source still reads up={down.get('up')!r}: the page would not say it is down")
    check(bool(down.get("down_since")) and stop_time - 1 <= parse_iso(down["down_since"]) <= time.time() + 1,
          f"down_since should be the first failed scrape after {clock(stop_time)}; it is {down.get('down_since')!r}")
    check(isinstance(down.get("last_error"), str) and down["last_error"].strip() != "",
          f"the source is down, but last_error is {down.get('last_error')!r}: the user is not told why")
    if down.get("last_success_at"):
        check(parse_iso(down["last_success_at"]) <= stop_time + 1,
              f"last_success_at {down['last_success_at']} is after the model server stopped ({clock(stop_time)})")

    web = WebClient(TRAINYARD_URL).sign_in(TRAINYARD_USERNAME, TRAINYARD_PASSWORD)
    page = web.get(f"/deployments/{deployment}")
    check(page.status == 200, f"the deployment page answered {page.status}")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    raw = " ".join(html.unescape(page.text).split())
    check("down since" in text.lower(), "the deployment page does not say the metrics source is 'down since' …")
    if down.get("last_error"):
        error = " ".join(down["last_error"].split())
        check(error in text or error in raw, f"the deployment page does not show the scrape error {error!r}")

    # The gap: scrapes in G fail, so G has no window, and no minute shows zeros.
    wait_until(minute_g * 60 + PHASE + INTERVAL + SCRAPE_LAG + 0.5)  # G's first two scrapes have failed
    if FULL_GAP:
        wait_until((minute_g + 1) * 60 + RECORD_LAG)
    final = inference(since)
    windows = windows_of(final)
    steps(f"final windows: {sorted(windows)}; source {final.json['source']}")
    check(final.json["source"].get("up") is False, f"the source came back up with the model server stopped: {final.json['source']}")
    check(minute_g not in windows,
          f"minute {minute_label(minute_g)} has a window ({windows.get(minute_g)}) although every scrape in it failed: "
          "it should be a gap, never zeros")
    check_all_windows(check, windows, "after the stop")
    for minute in (minute_p, minute_c):
        check(windows.get(minute) == windows_after_c.get(minute),
              f"minute {minute_label(minute)} changed after the model server stopped (failed scrapes must add nothing): "
              f"{windows_after_c.get(minute)} -> {windows.get(minute)}")
