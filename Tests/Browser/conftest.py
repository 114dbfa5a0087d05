"""Fixtures for the browser tests. scripts/browser-tests.sh starts the servers and sets
TRAINYARD_URL (demo data) and TRAINYARD_EMPTY_URL (an empty database)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from support import make_driver  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    """One JavaScript-enabled session shared by tests that only read pages."""
    driver = make_driver()
    yield driver
    driver.quit()


@pytest.fixture
def new_browser():
    """Makes extra sessions (no cookies, JavaScript on or off) and quits them afterwards."""
    drivers = []

    def make(**options):
        driver = make_driver(**options)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


@pytest.fixture(scope="session")
def all_pages():
    """Every page in every state, fetched once from the running servers (see pages.py)."""
    from pages import collect
    return collect()
