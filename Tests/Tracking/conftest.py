"""Settings for the MLflow tracking tests, from the environment only. These tests start nothing:
scripts/tracking-tests.sh starts Trainyard and sets everything; any MLflow tracking server works
for the client-side tests.

    TRACKING_URI            the tracking server (required), e.g. http://127.0.0.1:8080
    MLFLOW_TRACKING_TOKEN   how the client and train_logreg.py authenticate (bearer token), or
    MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD   Basic auth; neither for an open server
    TRAINYARD_URL           the same server's pages; unset against a plain MLflow server
    TRAINYARD_USERNAME / TRAINYARD_PASSWORD   a Trainyard admin: signs in to the pages, and is
                            what the Basic-auth tests send
    TRACKING_BASE_MODEL     the base_model param, a catalogue slug on Trainyard (default lfm2-350m)
    TRACKING_REQUIRE_TRAINYARD=1   what the Trainyard runner sets: a test that would be skipped
                            for a missing variable fails instead

Two markers say which tests need more than a tracking server:
    @pytest.mark.trainyard    Trainyard-only checks (its pages, its token checks): skipped only
                              when TRAINYARD_URL is unset
    @pytest.mark.basic_auth   runs with MLFLOW_TRACKING_USERNAME/PASSWORD: skipped only when
                              TRAINYARD_USERNAME or TRAINYARD_PASSWORD is unset

So that a broken server fails a test in seconds instead of minutes of back-off, and so that the
client sends nothing anywhere but the server under test, these defaults are set before MLflow is
imported (and are inherited by train_logreg.py): no retries, a 20 s request timeout, MLflow's
telemetry off.
"""

import os

import pytest

os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

TRACKING_URI = os.environ.get("TRACKING_URI", "").rstrip("/")
if TRACKING_URI:
    os.environ["MLFLOW_TRACKING_URI"] = TRACKING_URI  # for MlflowClient() and the script alike

TRAINYARD_URL = os.environ.get("TRAINYARD_URL", "").rstrip("/")
TRAINYARD_USERNAME = os.environ.get("TRAINYARD_USERNAME", "")
TRAINYARD_PASSWORD = os.environ.get("TRAINYARD_PASSWORD", "")
STRICT = os.environ.get("TRACKING_REQUIRE_TRAINYARD") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "trainyard: needs TRAINYARD_URL (Trainyard's pages); skipped without it")
    config.addinivalue_line("markers", "basic_auth: needs TRAINYARD_USERNAME and TRAINYARD_PASSWORD; skipped without them")
    if not TRACKING_URI:
        raise pytest.UsageError("set TRACKING_URI to the tracking server under test (see Tests/Tracking/conftest.py)")


def _skip_or_fail(reason):
    if STRICT:
        pytest.fail(f"TRACKING_REQUIRE_TRAINYARD=1, but {reason}")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("trainyard"):
        if not TRAINYARD_URL:
            _skip_or_fail("TRAINYARD_URL is unset: Trainyard-only checks run against Trainyard alone")
        # With TRAINYARD_URL given, missing credentials are a mistake, not a reason to skip.
        assert TRAINYARD_USERNAME and TRAINYARD_PASSWORD, \
            "TRAINYARD_URL is set, so TRAINYARD_USERNAME and TRAINYARD_PASSWORD must be too"
    if item.get_closest_marker("basic_auth") and not (TRAINYARD_USERNAME and TRAINYARD_PASSWORD):
        _skip_or_fail("TRAINYARD_USERNAME/TRAINYARD_PASSWORD are unset: no Basic-auth account to test with")
