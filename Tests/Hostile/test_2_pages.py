"""The corpus in the query string of every page the crawl found (see pages.py), and in the
path's own id or slug."""

import pytest

from conftest import run_cases, world
from pages import run_param
import paths


def test_page_param(page_param):
    w = world()
    run_cases(page_param.id, lambda: run_param(page_param, w.admin))


@pytest.mark.parametrize("pattern", paths.PATTERNS)
def test_path_segment(pattern):
    w = world()
    run_cases(f"GET {pattern}", lambda: paths.run_pattern(pattern, w))
