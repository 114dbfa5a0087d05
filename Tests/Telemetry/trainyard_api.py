"""Trainyard's JSON API for the telemetry tests: a Bearer-token client (standard library only)
and the environment scripts/telemetry-tests.sh sets (see conftest.py)."""

import json
import os
import urllib.error
import urllib.request

TRAINYARD_URL = os.environ.get("TRAINYARD_URL", "").rstrip("/")
TRAINYARD_TOKEN = os.environ.get("TRAINYARD_TOKEN", "")
TRAINYARD_USERNAME = os.environ.get("TRAINYARD_USERNAME", "")
TRAINYARD_PASSWORD = os.environ.get("TRAINYARD_PASSWORD", "")
STRICT = os.environ.get("TELEMETRY_REQUIRE_TRAINYARD") == "1"
FULL_GAP = os.environ.get("TELEMETRY_FULL_GAP") == "1"


class ApiResponse:
    def __init__(self, method, path, status, text, headers):
        self.method, self.path, self.status, self.text, self.headers = method, path, status, text, headers
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"{self.method} {self.path} -> {self.status} {self.text[:400]!r}"


class Api:
    """Trainyard's JSON API with the admin's Bearer token. Never retries; 15 s per request."""

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return ApiResponse(method, path, response.status, response.read().decode("utf-8"), response.headers)
        except urllib.error.HTTPError as error:
            return ApiResponse(method, path, error.code, error.read().decode("utf-8", "replace"), error.headers)

    def get(self, path):
        return self.call("GET", path)

    def put(self, path, body):
        return self.call("PUT", path, body)

    def post(self, path, body):
        return self.call("POST", path, body)


def missing_endpoint(response):
    """Why `response` says this Trainyard lacks the endpoint, or None."""
    if response.status in (404, 405) and (response.json or {}).get("error_code") in (None, "ENDPOINT_NOT_FOUND"):
        return (f"{response.method} {response.path} answered {response.status} ({response.text.strip()[:200]}): "
                "this Trainyard has no such endpoint; is it a build with metrics scraping?")
    return None
