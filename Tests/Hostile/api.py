"""The corpus in the JSON API's query parameters, read from the OpenAPI document the server
serves (/api/openapi.json): every GET operation, every query parameter, plus an unknown one.
The answer must be a 200 or a 4xx in JSON ({"error": …} for a 4xx), never a 5xx."""

import concurrent.futures
import json

from corpus import Case, describe, query_cases
from pages import SHORT, _query
import checks

STATS = {"api query cases": 0}


class APIParam:
    def __init__(self, template, path, name, cases):
        self.template, self.path, self.name, self.cases = template, path, name, cases

    @property
    def id(self):
        return f"GET {self.template} ?{self.name}"


def _fill(template, world):
    o = world.objects
    return (template.replace("/api/training/{id}", f"/api/training/{o['dep_job']}")
            .replace("/api/deployments/{id}", f"/api/deployments/{o['deployment']}")
            .replace("{slug}", o["model"]))


def api_cases(world):
    response = world.admin.get("/api/openapi.json")
    assert response.status == 200, f"GET /api/openapi.json: {response.status}"
    document = json.loads(response.text)
    items = []
    for template, operations in document.get("paths", {}).items():
        get = operations.get("get")
        if not isinstance(get, dict):
            continue
        parameters = [p for p in get.get("parameters", []) + operations.get("parameters", []) if isinstance(p, dict)]
        query = [p["name"] for p in parameters if p.get("in") == "query" and "name" in p]
        path = _fill(template, world)
        for name in query:
            cases = [(c, [c.value("")]) for c in query_cases()]
            cases.append((Case("repeated", "repeated", None), ["1", "2"]))
            items.append(APIParam(template, path, name, cases))
        if query or "{" in template:
            unknown = [(c, [c.value("")]) for c in query_cases() if c.label in SHORT]
            items.append(APIParam(template, path, "hostile_unknown", unknown))
    return items


def run_api_param(item, client):
    def one(case_values):
        case, values = case_values
        target = f"{item.path}?{_query([(item.name, v) for v in values])}"
        where = f"GET {item.path} param {item.name!r} = {case.label} {describe(values if len(values) > 1 else values[0])}"
        response = client.clone().get(target, follow=False)
        problems = []
        if response.status >= 500:
            problems.append(f"status {response.status}")
        elif not (response.status == 200 or 400 <= response.status < 500):
            problems.append(f"status {response.status} (expected a 200 or a 4xx)")
        kind = response.header("Content-Type") or ""
        if "json" not in kind:
            problems.append(f"Content-Type {kind!r}, not JSON")
        else:
            try:
                body = json.loads(response.text)
                if 400 <= response.status < 500 and not (isinstance(body, dict) and "error" in body):
                    problems.append("a 4xx without an \"error\" member")
            except ValueError as error:
                problems.append(f"the body is not JSON ({error})")
        leaked = checks.leaks(response)
        if leaked:
            problems.append(f"internals in the body ({', '.join(leaked)})")
        return f"{where}: " + "; ".join(problems) + f" (status {response.status}: {response.text[:160]!r})" if problems else None

    STATS["api query cases"] += len(item.cases)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        return [r for r in pool.map(one, item.cases) if r]
