"""The telemetry tests' own tools, without Trainyard: promtext (the reference parser, increases
and quantiles) against hand computations and against prometheus_client's own parsers, the model
server, and the load generator's pacing. A few seconds of live load in all."""

import json
import math
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

import load
import model_server as model_server_module
import promtext
from model_server import BUCKETS, ModelServerProcess, SentimentModel, free_port
from promtext import histogram_quantile

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
INF = math.inf


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---- parsing ---------------------------------------------------------------------------------

def test_parse_text_format_with_escapes_and_timestamps():
    page = "\n".join([
        "# HELP m A help text with {braces} and \"quotes\" that is never parsed as a sample",
        "# TYPE m counter",
        'm{a="x\\"y",b="back\\\\slash",c="new\\nline"} 1.5 1700000000000',
        "",
        "plain 3",
        "   indented_one 4",
        'inf_value{le="+Inf"} +Inf',
        "neg -Inf",
        "nan NaN",
        "small 1.5e-05",
        'tricky{path="/a # b}, c=\\"d\\""} 2',
        "spaced { a = \"1\" , b=\"2\", } 7",
    ])
    got = promtext.parse(page)
    assert [s.name for s in got] == ["m", "plain", "indented_one", "inf_value", "neg", "nan", "small", "tricky", "spaced"]
    assert got[0].labels == (("a", 'x"y'), ("b", "back\\slash"), ("c", "new\nline"))
    assert got[0].value == 1.5 and got[0].timestamp == 1700000000000
    assert got[1].labels == () and got[1].value == 3 and got[1].timestamp is None
    assert got[3].value == INF and got[3].labels == (("le", "+Inf"),)
    assert got[4].value == -INF and math.isnan(got[5].value) and got[6].value == 1.5e-05
    assert got[7].labels == (("path", '/a # b}, c="d"'),) and got[7].value == 2
    assert got[8].labels == (("a", "1"), ("b", "2")) and got[8].value == 7


def test_parse_openmetrics_exemplars_timestamps_and_eof():
    page = "\n".join([
        "# TYPE request_latency_seconds histogram",
        "# UNIT request_latency_seconds seconds",
        'request_latency_seconds_bucket{le="0.5"} 3.0 # {trace_id="abc",span="1"} 0.3 1700000000.125',
        'request_latency_seconds_bucket{le="+Inf"} 4.0 # {trace_id="def"} 0.9',
        "request_latency_seconds_count 4.0 1700000001.5",
        "# EOF",
        "after_eof 1",
    ])
    got = promtext.parse(page)
    assert [s.name for s in got] == ["request_latency_seconds_bucket"] * 2 + ["request_latency_seconds_count"]
    assert got[0].value == 3.0 and got[0].exemplar == ((("span", "1"), ("trace_id", "abc")), 0.3, 1700000000.125)
    assert got[1].exemplar == ((("trace_id", "def"),), 0.9, None) and got[1].timestamp is None
    assert got[2].timestamp == 1700000001.5


def test_parse_utf8_quoted_names():
    got = promtext.parse('{"my.metric", "label.with.dot"="v", plain="w"} 1\n')
    assert got == [promtext.Sample("my.metric", (("label.with.dot", "v"), ("plain", "w")), 1.0, None, None)]


@pytest.mark.parametrize("line", ["no_value", 'm{a="1"}', 'm{a="1" 2', "m 1 2 3", "m{a=1} 2", "m one", '{a="1"} 2'])
def test_parse_refuses_broken_lines(line):
    with pytest.raises(promtext.ParseError):
        promtext.parse("ok 1\n" + line + "\n")


def test_series_refuses_a_series_given_twice():
    with pytest.raises(ValueError, match="twice"):
        promtext.series('m{a="1"} 1\nm{a="1"} 2\n')


def _tricky_registry():
    registry = CollectorRegistry()
    latency = Histogram("request_latency_seconds", 'Latency "quoted" \\ help\nsecond line', buckets=BUCKETS, registry=registry)
    requests = Counter("requests", "Requests by status.", ["status", "path"], registry=registry)
    odd = Gauge("odd_values", "Special values.", ["kind"], registry=registry)
    for value in (0.001, 0.004, 0.02, 0.3, 0.3, 0.7, 3.0):
        latency.observe(value)
    latency.observe(0.2, {"trace_id": "abc123"})  # an exemplar: OpenMetrics shows it
    requests.labels("200", "/predict").inc(41)
    requests.labels("500", 'a "quoted" \\ path\nwith newline # and } brace').inc(2)
    requests.labels("200", "/ünïcödé").inc()
    odd.labels("inf").set(INF)
    odd.labels("minus_inf").set(-INF)
    odd.labels("nan").set(math.nan)
    odd.labels("tiny").set(1.25e-300)
    return registry


@pytest.mark.parametrize("accept, reference", [("", parse_text), (OPENMETRICS, parse_openmetrics)],
                         ids=["text-0.0.4", "openmetrics-1.0"])
def test_parse_agrees_with_prometheus_clients_parser(accept, reference):
    encoder, content_type = choose_encoder(accept)
    page = encoder(_tricky_registry()).decode("utf-8")
    assert ("openmetrics" in content_type) == bool(accept)
    ours = [(s.name, s.labels, s.value, s.timestamp) for s in promtext.parse(page)]
    theirs = [(s.name, tuple(sorted(s.labels.items())), s.value, s.timestamp)
              for family in reference(page) for s in family.samples]
    assert len(ours) == len(theirs) and len(ours) > 20
    for mine, other in zip(ours, theirs):
        assert mine[:2] == other[:2] and same(mine[2], other[2]), f"{mine} != {other}"
        assert (mine[3] is None) == (other[3] is None)
    if accept:
        (exemplar,) = [s.exemplar for s in promtext.parse(page) if s.exemplar]
        assert exemplar[:2] == ((("trace_id", "abc123"),), 0.2)
        assert abs(exemplar[2] - time.time()) < 60  # prometheus_client stamps exemplars


# ---- increases ------------------------------------------------------------------------------

def test_increases_new_reset_grown_and_vanished_series():
    a = ("requests_total", (("status", "200"),))
    b = ("requests_total", (("status", "500"),))
    gone = ("requests_total", (("status", "404"),))
    previous = {a: 100.0, gone: 7.0}
    current = {a: 130.0, b: 4.0}
    assert promtext.increases(previous, current) == {a: 30.0, b: 4.0}
    after_restart = {a: 12.0, b: 1.0}
    assert promtext.increases(current, after_restart) == {a: 12.0, b: 1.0}
    assert promtext.resets(current, after_restart) == [a, b]
    assert promtext.increases(None, current) == current
    assert promtext.increases(current, current) == {a: 0.0, b: 0.0}


def test_bucket_series_are_increased_separately_then_summed_by_le():
    def bucket(le, pod):
        return ("request_latency_seconds_bucket", (("le", le), ("pod", pod)))
    previous = {bucket("0.1", "a"): 10.0, bucket("+Inf", "a"): 12.0, bucket("0.1", "b"): 50.0, bucket("+Inf", "b"): 60.0}
    current = {bucket("0.1", "a"): 15.0, bucket("+Inf", "a"): 20.0,   # grew by 5 / 8
               bucket("0.1", "b"): 3.0, bucket("+Inf", "b"): 4.0}     # pod b restarted: whole values
    by_le = promtext.PROMETHEUS_CLIENT.buckets(promtext.increases(previous, current))
    assert by_le == {0.1: 8.0, INF: 12.0}


# ---- histogram_quantile, by hand ------------------------------------------------------------

EIGHTY_FIVE_FAST = [(0.005, 85), (0.01, 85), (0.025, 85), (0.05, 85), (0.1, 85), (0.25, 85),
                    (0.5, 100), (1.0, 100), (2.5, 100), (INF, 100)]


@pytest.mark.parametrize("q, expected", [
    (0.5, 0.005 * 50 / 85),             # in the first bucket: from 0 to 0.005
    (0.85, 0.005),                      # exactly the first bucket's count
    (0.95, 0.25 + 0.25 * 10 / 15),      # in (0.25, 0.5]: 10 of its 15
    (0.99, 0.25 + 0.25 * 14 / 15),
    (1.0, 0.5),                         # rank 100 is reached at 0.5
])
def test_quantile_interpolates_within_the_bucket(q, expected):
    assert histogram_quantile(q, EIGHTY_FIVE_FAST) == pytest.approx(expected, rel=1e-15)


def test_quantile_in_the_inf_bucket_is_the_highest_finite_bound():
    assert histogram_quantile(0.9, [(0.1, 10), (0.2, 20), (INF, 30)]) == 0.2


def test_quantile_in_a_first_bucket_at_or_below_zero_is_its_bound():
    assert histogram_quantile(0.2, [(-1, 5), (0, 5), (1, 10), (INF, 10)]) == -1
    assert histogram_quantile(0.1, [(0, 5), (1, 10), (INF, 10)]) == 0
    # past the first bucket the lower bound is the previous upper bound, negative or not
    assert histogram_quantile(0.75, [(-1, 5), (0, 5), (1, 10), (INF, 10)]) == pytest.approx(0.5)


@pytest.mark.parametrize("buckets", [
    [],
    [(INF, 10)],                        # fewer than 2 buckets
    [(0.1, 5), (0.2, 10)],              # no +Inf bucket
    [(0.1, 0), (INF, 0)],               # no observations
], ids=["empty", "one-bucket", "no-inf", "zero-total"])
def test_quantile_is_nan_without_a_usable_histogram(buckets):
    assert math.isnan(histogram_quantile(0.5, buckets))


def test_quantile_out_of_range():
    assert histogram_quantile(-0.1, EIGHTY_FIVE_FAST) == -INF
    assert histogram_quantile(1.1, EIGHTY_FIVE_FAST) == INF
    assert math.isnan(histogram_quantile(math.nan, EIGHTY_FIVE_FAST))


def test_quantile_forces_monotonic_counts_merges_equal_bounds_and_sorts():
    # 8 after 10 becomes 10
    assert histogram_quantile(0.5, [(0.1, 10), (0.2, 8), (0.3, 15), (INF, 15)]) == pytest.approx(0.1 * 7.5 / 10)
    assert histogram_quantile(0.8, [(0.1, 10), (0.2, 8), (0.3, 15), (INF, 15)]) == pytest.approx(0.2 + 0.1 * 2 / 5)
    # two series with le=0.1 (summed as a group without `by (le)` would give): merged to 5
    assert histogram_quantile(0.4, [(0.1, 3), (0.1, 2), (INF, 10)]) == pytest.approx(0.1 * 4 / 5)
    shuffled = list(reversed(EIGHTY_FIVE_FAST))
    assert histogram_quantile(0.95, shuffled) == histogram_quantile(0.95, EIGHTY_FIVE_FAST)


# ---- Trainyard's minute rule ----------------------------------------------------------------

def _page(ok, failed, fast, slow):
    """A prometheus_client-like page: `fast` observations in le=0.005, `slow` in (0.25, 0.5]."""
    lines = [f'request_latency_seconds_bucket{{le="{le}"}} {fast if bound < 0.5 else fast + slow}'
             for le, bound in [("0.005", 0.005), ("0.25", 0.25), ("0.5", 0.5), ("+Inf", INF)]]
    lines += [f'requests_total{{status="200"}} {ok}', 'requests_created{status="200"} 1.7e9']
    if failed is not None:
        lines.append(f'requests_total{{status="500"}} {failed}')
    return promtext.series("\n".join(lines) + "\n")


def test_minute_windows_follow_pairs_failures_and_resets():
    scrapes = [
        (62.5, _page(100, None, 95, 5)),     # baseline
        (67.5, _page(190, 10, 180, 20)),     # +100 requests (the 500 series is new: all 10 count)
        (72.5, None),                        # failed: adds nothing, drops the baseline
        (77.5, _page(380, 20, 360, 40)),     # only a new baseline
        (82.5, _page(470, 30, 440, 60)),     # +100
        (117.5, _page(40, 2, 36, 6)),        # restarted: lower everywhere, whole values (42)
        (122.5, _page(130, 7, 118, 19)),     # the next minute: +95
    ]
    windows = promtext.minute_windows(scrapes)
    assert sorted(windows) == [1, 2]
    first, second = windows[1], windows[2]
    assert first.pairs == [(62.5, 67.5), (77.5, 82.5), (82.5, 117.5)]
    assert first.seconds == pytest.approx(5 + 5 + 35)
    assert (first.requests, first.errors) == (100 + 100 + 42, 10 + 10 + 2)
    assert first.buckets == {0.005: 85 + 80 + 36, 0.25: 85 + 80 + 36, 0.5: 100 + 100 + 42, INF: 100 + 100 + 42}
    assert len(first.resets) == 6  # both counters and the four buckets
    assert first.quantile_ms(0.5) == pytest.approx(1000 * 0.005 * 121 / 201)
    assert (second.requests, second.errors, second.seconds, second.resets) == (95, 5, 5.0, [])
    assert second.requests_per_second == 19.0 and second.error_rate == pytest.approx(5 / 95)


def test_error_matcher():
    matchers = promtext.parse_matchers('status=~"5..", method!="GET"')
    assert matchers == [("status", "=~", "5.."), ("method", "!=", "GET")]
    assert promtext.labels_match((("status", "503"),), matchers)
    assert not promtext.labels_match((("status", "5030"),), matchers)   # anchored
    assert not promtext.labels_match((("method", "GET"), ("status", "500")), matchers)


# ---- the model server and the load generator, live -----------------------------------------

@pytest.fixture
def model_server(tmp_path):
    server = ModelServerProcess(free_port(), tmp_path / "scrapes.jsonl").start()
    yield server
    server.stop()


def _post(url, body, timeout=5):
    request = urllib.request.Request(url + "/predict", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _scrape(url, accept=OPENMETRICS):
    request = urllib.request.Request(url + "/metrics", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def test_the_model_predicts_from_its_input():
    model = SentimentModel()
    assert model.predict("great")["probability"] == round(1 / (1 + math.exp(-(0.15 + 1.7))), 6)
    assert model.predict("I love it, excellent")["label"] == "positive"
    assert model.predict("terrible, it crashes")["label"] == "negative"
    assert model.predict("not good")["label"] == "negative"          # the negator flips "good"
    assert model.predict("nothing it knows")["known_words"] == 0
    for text in load.TEXTS:
        assert model.predict(text)["label"] in ("positive", "negative")


def test_model_server_modes_and_metrics(model_server):
    url = model_server.url
    assert _post(url, {"text": "excellent, I love it"})[0] == 200
    started = time.perf_counter()
    status, answer = _post(url, {"text": "slow but fine", "slow": True})
    assert status == 200 and time.perf_counter() - started >= 0.25
    status, answer = _post(url, {"text": "anything", "fail": True})
    assert status == 500 and "model error" in answer["error"]
    assert _post(url, {"no_text": 1})[0] == 400
    content_type, page = _scrape(url)
    assert content_type.startswith("application/openmetrics-text; version=1.0.0") and page.endswith("# EOF\n")
    values = promtext.series(page)
    count = {dict(labels)["status"]: v for (name, labels), v in values.items() if name == "requests_total"}
    assert count == {"200": 2.0, "500": 1.0, "400": 1.0}
    buckets = promtext.PROMETHEUS_CLIENT.buckets(values)
    assert buckets[INF] == 4 and buckets[0.5] - buckets[0.25] == 1   # the slow one
    assert ("request_latency_seconds_created", ()) in values          # kept, as real servers send them
    text_type, text_page = _scrape(url, accept="text/plain")
    assert text_type.startswith("text/plain; version=0.0.4") and "# EOF" not in text_page
    logged = [json.loads(line) for line in open(model_server.scrape_log)]
    assert [entry["body"] for entry in logged] == [page, text_page]
    assert logged[0]["content_type"] == content_type and logged[0]["accept"] == OPENMETRICS


def test_two_scrapes_of_a_loaded_server_match_what_was_sent(model_server):
    """Load at 20/s, scrape twice 4 s apart, and check the increases against the load
    generator's own records of what was answered between the two scrapes."""
    generator = load.LoadGenerator(model_server.url, rate=20).start()
    try:
        time.sleep(1.0)
        _, first = _scrape(model_server.url)
        time.sleep(4.0)
        _, second = _scrape(model_server.url)
        time.sleep(0.4)
    finally:
        records = generator.stop()
    logged = [json.loads(line) for line in open(model_server.scrape_log)]
    assert [e["body"] for e in logged] == [first, second]
    t0, t1 = logged[0]["served_at"], logged[1]["served_at"]

    # Pacing: request i left at start + i/20, whatever the mix (a few ms idle; up to ~0.1 s on a
    # machine busy with a build, which the schedule then catches up on).
    lateness = [r.sent - r.scheduled for r in records]
    assert max(lateness) < 0.25, f"the load generator fell {max(lateness):.3f} s behind its schedule"
    assert [r.kind for r in records] == [load.kind_of(i) for i in range(len(records))]
    assert all(r.status == (500 if r.kind == "fail" else 200) for r in records), \
        [(r.i, r.kind, r.status, r.error) for r in records if r.status != (500 if r.kind == "fail" else 200)]

    for page in (first, second):  # the same samples as prometheus_client's own parser reads
        theirs = {(s.name, tuple(sorted(s.labels.items()))): s.value
                  for family in parse_openmetrics(page) for s in family.samples}
        assert promtext.series(page) == theirs

    window = promtext.minute_windows([(t0, promtext.series(first)), (t1, promtext.series(second))])
    (minute_window,) = window.values()
    answered, failed, rate, share = load.summary(records, t0, t1)
    # The counters move before the answer is sent: a request answered within a hair of a
    # scrape may fall on the other side of it.
    assert abs(minute_window.requests - answered) <= 2, (minute_window.requests, answered)
    assert abs(minute_window.errors - failed) <= 1, (minute_window.errors, failed)
    assert rate == pytest.approx(20, rel=0.03)
    # Slow requests sleep 0.25 s, so they are exactly the observations above 0.25 s.
    slow = sum(1 for r in load.answered_between(records, t0, t1) if r.kind == "slow")
    above = minute_window.buckets[INF] - minute_window.buckets[0.25]
    assert abs(above - slow) <= 1, (above, slow)
    # 85 % answer in milliseconds and 15 % after 0.25 s: p95 and p99 lie above 0.25 s.
    p50, p95, p99 = (minute_window.quantile_ms(q) for q in (0.5, 0.95, 0.99))
    assert p50 < 250 < p95 <= p99, (p50, p95, p99)
    below, upto = minute_window.buckets[0.25], minute_window.buckets[0.5]
    rank = 0.95 * minute_window.requests
    if below < rank <= upto:  # in (0.25, 0.5], as it is unless the machine is badly overloaded
        assert p95 == pytest.approx(1000 * (0.25 + 0.25 * (rank - below) / (upto - below)))


def test_model_server_restarts_on_the_same_port_with_fresh_counters(model_server):
    for _ in range(5):
        _post(model_server.url, {"text": "good"})
    _, before = _scrape(model_server.url)
    started = time.monotonic()
    model_server.restart()
    assert time.monotonic() - started < 5, "restarting on the same port took too long"
    _post(model_server.url, {"text": "good"})
    _, after = _scrape(model_server.url)
    key = ("requests_total", (("status", "200"),))
    assert promtext.series(before)[key] == 5 and promtext.series(after)[key] == 1
    assert promtext.increases(promtext.series(before), promtext.series(after))[key] == 1   # a reset: the whole value
    assert len(open(model_server.scrape_log).readlines()) == 2   # the restarted server appended


def test_model_server_exits_cleanly_on_sigterm(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, model_server_module.__file__, "--port", str(port)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert "listening on" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
