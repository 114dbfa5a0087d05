"""Trainyard's own /metrics (on the port `serve --metrics-port` opens), read with the reference
parser from PyPI (`prometheus_client.parser`), after traffic of known shape."""

import os
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from trainyard_api import STRICT, TRAINYARD_URL

METRICS_URL = os.environ.get("TRAINYARD_METRICS_URL", "")

pytestmark = pytest.mark.trainyard


def fetch(url, token=None):
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def families():
    status, headers, text = fetch(METRICS_URL)
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return text, {family.name: family for family in text_string_to_metric_families(text)}


@pytest.fixture(scope="module", autouse=True)
def need_metrics_url():
    if not METRICS_URL:
        if STRICT:
            pytest.fail("TRAINYARD_METRICS_URL unset: scripts/telemetry-tests.sh serves metrics on a port of their own")
        pytest.skip("TRAINYARD_METRICS_URL unset")


def samples(family, name=None, **labels):
    return [s for s in family.samples
            if (name is None or s.name == name) and all(s.labels.get(k) == v for k, v in labels.items())]


def test_requests_are_counted_by_route_pattern_and_status(api):
    _, before = families()
    listing = api.get("/api/deployments?per=2")
    ident = listing.json["deployments"][0]["id"]
    for _ in range(3):
        assert api.get(f"/api/deployments/{ident}").status == 200
    assert api.get("/api/deployments/999999999").status == 404
    _, after = families()

    requests = after["trainyard_http_requests"]  # the parser drops the _total suffix
    assert requests.type == "counter"

    def count(family, **labels):
        return sum(s.value for s in samples(family, "trainyard_http_requests_total", **labels))

    route = "/api/deployments/{id}"
    ok_before = count(before["trainyard_http_requests"], route=route, status="200", method="GET") if "trainyard_http_requests" in before else 0
    assert count(requests, route=route, status="200", method="GET") - ok_before == 3
    missing_before = count(before["trainyard_http_requests"], route=route, status="404") if "trainyard_http_requests" in before else 0
    assert count(requests, route=route, status="404") - missing_before == 1
    # The id itself is never a label value.
    assert not [s for s in requests.samples if str(ident) in s.labels.get("route", "")]


def test_latency_histograms_are_cumulative_and_end_in_inf(api):
    api.get("/api/deployments?per=1")
    _, after = families()
    histogram = after["trainyard_http_request_duration_seconds"]
    assert histogram.type == "histogram"
    route = "/api/deployments"
    buckets = samples(histogram, "trainyard_http_request_duration_seconds_bucket", route=route, method="GET")
    assert buckets, "the route has a histogram"
    values = [s.value for s in buckets]
    assert values == sorted(values), "buckets are cumulative"
    assert buckets[-1].labels["le"] == "+Inf"
    count = samples(histogram, "trainyard_http_request_duration_seconds_count", route=route, method="GET")[0].value
    assert buckets[-1].value == count >= 1
    assert samples(histogram, "trainyard_http_request_duration_seconds_sum", route=route, method="GET")[0].value > 0


def test_server_pool_runner_and_scrape_figures_are_there():
    _, found = families()
    connections = found["trainyard_http_connections"]
    assert {s.labels["state"] for s in connections.samples} == {"idle", "reading", "writing", "processing"}
    assert found["trainyard_http_worker_threads"].samples[0].value >= 1
    assert found["trainyard_http_connection_limit"].samples[0].value > 16
    assert {s.labels["reason"] for s in found["trainyard_http_requests_refused"].samples} == {"queue_full", "queue_wait", "client_gone"}
    assert found["trainyard_db_pool_connections"].samples[0].value >= 1
    assert found["trainyard_db_pool_acquisitions"].samples[0].value >= 1
    assert {s.labels["kind"] for s in found["trainyard_db_errors"].samples} == {"timeout", "unavailable", "other"}
    ticks = {s.labels["task"]: s.value for s in found["trainyard_background_ticks"].samples}
    assert {"training", "deployments", "scraper"} <= set(ticks)
    assert ticks["training"] >= 1
    lag = {s.labels["task"]: s.value for s in found["trainyard_background_lag_seconds"].samples}
    assert lag["training"] < 5, "the training runner keeps up on an idle server"
    assert {s.labels["result"] for s in found["trainyard_scrapes"].samples} == {"ok", "failed"}


def test_no_user_data_and_not_on_the_app_port(api):
    secret = "zebra-quasar-7731"
    api.get(f"/api/deployments?q={secret}")
    api.get(f"/api/models/{secret}")
    text, _ = families()
    assert secret not in text
    status, _, _ = fetch(TRAINYARD_URL + "/metrics")
    assert status == 404, "the app's own port does not serve metrics"
