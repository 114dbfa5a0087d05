"""The JSON API's query parameters, from its OpenAPI document (see api.py)."""

from api import run_api_param
from conftest import run_cases, world


def test_api_param(api_param):
    w = world()
    run_cases(api_param.id, lambda: run_api_param(api_param, w.admin))
