"""The corpus in the query string of every crawled page: each parameter seen for that page
(in its links and GET forms) gets the whole corpus and repeated keys; every parameter seen
anywhere else, and unknown ones, get a shorter corpus (they should simply be ignored). The
answer must be a 200 or a 4xx page (redirects followed), never a 5xx, never internals."""

import concurrent.futures
import urllib.parse

from client import Raw, ServerDown, quote
from corpus import Case, describe, query_cases
import checks

STATS = {"page query cases": 0}

SHORT = {"long-6KiB", "ctrl-nul", "utf8-ff-fe", "num-1e23-digits"}
UNKNOWN_NAMES = ["hostile_unknown", "a" * 300, Raw("%ff%fe"), "x\x00y", "q[]", "__proto__"]
THREADS = 3


class PageParam:
    def __init__(self, pattern, path, base_pairs, name, cases, own):
        self.pattern, self.path, self.base_pairs = pattern, path, base_pairs
        self.name, self.cases, self.own = name, cases, own

    @property
    def id(self):
        name = self.name.text if isinstance(self.name, Raw) else self.name
        name = name if len(name) < 40 else f"{name[:10]}…({len(name)} chars)"
        return f"GET {self.pattern} ?{name!r}" + ("" if self.own else " (not its own)")


def _representative(instances):
    """The instance with the fewest query pairs: its path and the pairs it needs."""
    best = min(instances, key=lambda t: len(urllib.parse.urlsplit(t).query))
    parts = urllib.parse.urlsplit(best)
    return parts.path, urllib.parse.parse_qsl(parts.query, keep_blank_values=True)


def page_cases(world):
    surface = world.surface
    all_names = []
    for names in surface.query_names.values():
        for name in names:
            if name not in all_names:
                all_names.append(name)
    items = []
    patterns = dict(surface.page_patterns)
    # Every table download the pages link to (the crawl fetches only one of them).
    for link in surface.exports:
        path = urllib.parse.urlsplit(link).path
        patterns.setdefault(path, [path])
    for pattern, instances in patterns.items():
        if pattern == "/login":
            continue  # signed in, it redirects; the sign-in page is covered in test_5_sessions.py
        path, base = _representative(instances)
        own = list(surface.query_names.get(pattern, {}))
        for name in own:
            seen = surface.query_values.get((pattern, name), [])
            repeated = [v for v in seen if v][:2]
            if len(repeated) < 2:
                repeated = (repeated + ["1", "2"])[:2]
            cases = [(c, [c.value(_first(base, name))]) for c in query_cases()]
            cases.append((Case("repeated", "repeated", None), repeated))
            items.append(PageParam(pattern, path, base, name, cases, True))
        for name in all_names + UNKNOWN_NAMES:
            if name in own:
                continue
            cases = [(c, [c.value("")]) for c in query_cases() if c.label in SHORT]
            items.append(PageParam(pattern, path, base, name, cases, False))
    return items


def _first(pairs, name):
    for k, v in pairs:
        if k == name:
            return v
    return ""


def _query(pairs):
    out = []
    for k, v in pairs:
        name = k.text if isinstance(k, Raw) else quote(k)
        value = v.text if isinstance(v, Raw) else quote(v)
        out.append(f"{name}={value}")
    return "&".join(out)


def baseline_leaks(client, path, cache={}):
    if path not in cache:
        try:
            cache[path] = set(checks.leaks(client.get(path)))
        except ServerDown:
            cache[path] = set()
    return cache[path]


def run_param(item, client):
    """Every case of one parameter on one page, a few at a time; returns failure messages."""
    known = baseline_leaks(client, item.path + (f"?{_query(item.base_pairs)}" if item.base_pairs else ""))

    def one(case_values):
        case, values = case_values
        pairs = [(k, v) for k, v in item.base_pairs if k != item.name] + [(item.name, v) for v in values]
        target = f"{item.path}?{_query(pairs)}"
        shown = describe(values if len(values) > 1 else values[0])
        where = f"GET {item.path} param {describe(item.name.text if isinstance(item.name, Raw) else item.name, 40)} = {case.label} {shown}"
        agent = client.clone()
        response = agent.get(target, follow=False)
        problems = []
        hops = 0
        while 300 <= response.status < 400 and hops < 5:
            why = checks.unsafe_location(response.location)
            if why:
                problems.append(f"{why}: {response.location!r}")
                break
            from client import same_origin_path
            response = agent.get(same_origin_path(response.location, agent.base), follow=False)
            hops += 1
        if response.status >= 500:
            problems.append(f"status {response.status}")
        elif not (response.status == 200 or 400 <= response.status < 500):
            problems.append(f"status {response.status} (expected a 200 or a 4xx page)")
        big = checks.oversized_head(response)
        if big:
            problems.append(big)
        leaked = set(checks.leaks(response)) - known
        if leaked:
            problems.append(f"internals in the page ({', '.join(sorted(leaked))})")
        return f"{where}: " + "; ".join(problems) + f" (final status {response.status})" if problems else None

    STATS["page query cases"] += len(item.cases)
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, item.cases))
    return [r for r in results if r]
