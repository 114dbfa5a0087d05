"""Settings for the telemetry tests, from the environment only. scripts/telemetry-tests.sh starts
a throwaway Trainyard (demo data, an admin, an API token) and sets:

    TRAINYARD_URL        the server, e.g. http://127.0.0.1:8080
    TRAINYARD_TOKEN      an admin's API token (Bearer)
    TRAINYARD_USERNAME / TRAINYARD_PASSWORD   the same admin, to sign in to the pages
    TELEMETRY_REQUIRE_TRAINYARD=1   a test that needs Trainyard fails instead of being skipped
                         when a variable is missing
    TELEMETRY_FULL_GAP=1 the scrape scenario waits for the whole minute after the model server
                         stopped to end before checking it has no window (about 50 s more)

Tests marked `trainyard` need the server; the rest (test_promtext.py: the reference parser and
quantiles, the model server, the load generator) run anywhere with the requirements installed:

    .build/telemetry-venv/bin/python -m pytest Tests/Telemetry/test_promtext.py
"""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent / "Tracking"))  # web.py: the signed-in page client, shared

from trainyard_api import (STRICT, TRAINYARD_PASSWORD, TRAINYARD_TOKEN, TRAINYARD_URL,  # noqa: E402
                           TRAINYARD_USERNAME, Api, missing_endpoint)


def pytest_configure(config):
    config.addinivalue_line("markers", "trainyard: needs a Trainyard server (TRAINYARD_URL, TRAINYARD_TOKEN)")


def pytest_runtest_setup(item):
    if item.get_closest_marker("trainyard"):
        missing = [name for name, value in [("TRAINYARD_URL", TRAINYARD_URL), ("TRAINYARD_TOKEN", TRAINYARD_TOKEN),
                                            ("TRAINYARD_USERNAME", TRAINYARD_USERNAME),
                                            ("TRAINYARD_PASSWORD", TRAINYARD_PASSWORD)] if not value]
        if missing:
            reason = f"{', '.join(missing)} unset: scripts/telemetry-tests.sh sets them for a throwaway Trainyard"
            if STRICT:
                pytest.fail(f"TELEMETRY_REQUIRE_TRAINYARD=1, but {reason}")
            pytest.skip(reason)


@pytest.fixture(scope="session")
def api():
    return Api(TRAINYARD_URL, TRAINYARD_TOKEN)


@pytest.fixture(scope="session")
def active_deployments(api):
    """Ids of three active demo deployments: [0] is scraped by the scenario, [1] gets pushed
    windows, [2] is the scraped deployment a push must be refused for."""
    listing = api.get("/api/deployments?status=active&per=3")
    assert listing.status == 200, f"the deployments list failed: {listing!r}"
    ids = [d["id"] for d in listing.json["deployments"]]
    assert len(ids) == 3, f"seed-demo should leave at least 3 active deployments; the list has {ids}"
    # Fail in a second, not after minutes of waiting, against a Trainyard without the feature.
    probe = api.get(f"/api/deployments/{ids[0]}/inference")
    if missing_endpoint(probe):
        pytest.fail(missing_endpoint(probe), pytrace=False)
    assert probe.status == 200, f"reading a demo deployment's inference figures failed: {probe!r}"
    return ids
