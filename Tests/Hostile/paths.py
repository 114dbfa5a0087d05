"""The corpus in a page's id or slug (the path segment itself): every id-bearing page pattern
the crawl found. An id that is no number, a slug that is no slug, must be a 4xx page."""

import concurrent.futures

from client import quote
from corpus import query_cases
import checks

STATS = {"path segment cases": 0}

# Filled from the crawl in run_pattern; parametrized by the patterns the app is known to have
# so the test ids are stable (a pattern the crawl did not reach fails as "not found by the crawl").
PATTERNS = ["/deployments/{id}", "/training/jobs/{id}", "/training/jobs/{id}/live", "/models/{slug}",
            "/models/{slug}/edit", "/docs/{slug}", "/api/deployments/{id}", "/api/models/{slug}",
            "/api/training/{id}/metrics", "/api/deployments/{id}/inference"]

EXTRA = ["0", "00000000000000000001", "%2e%2e", "..", "%2F", "%00", "%0d%0aSet-Cookie:%20x=1", "%25", "%", "+", "%20"]


def segments():
    out = []
    for case in query_cases():
        value = case.value("1")
        out.append((case.label, value.text if hasattr(value, "text") else quote(value)))
    out += [(f"raw {e!r}", e) for e in EXTRA]
    return out


def plausible(segment, pattern):
    """Whether a segment could name something that exists (a 200 is then no failure): a
    small id, or a slug-shaped word."""
    import re
    if "{slug}" in pattern:
        return bool(re.fullmatch(r"[a-z0-9-]{1,64}", segment))
    return bool(re.fullmatch(r"0*[1-9][0-9]{0,8}", segment))


def run_pattern(pattern, world):
    known_pages = set(world.surface.page_patterns)
    if not pattern.startswith("/api/") and pattern not in known_pages and pattern != "/training/jobs/{id}/live":
        return [f"GET {pattern}: the crawl found no such page (is it still linked?)"]
    client = world.admin

    def one(item):
        label, segment = item
        target = pattern.replace("{id}", segment).replace("{slug}", segment)
        agent = client.clone()
        response = agent.get(target, follow=True)
        problems = []
        if response.status >= 500:
            problems.append(f"status {response.status}")
        elif not 400 <= response.status < 500 and not plausible(segment, pattern):
            problems.append(f"status {response.status} (expected a 4xx for an id or slug that names nothing)")
        big = checks.oversized_head(response)
        if big:
            problems.append(big)
        leaked = checks.leaks(response)
        if leaked:
            problems.append(f"internals in the page ({', '.join(leaked)})")
        return f"GET {target[:120]} ({label}): " + "; ".join(problems) + f" (status {response.status})" if problems else None

    items = segments()
    STATS["path segment cases"] += len(items)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        return [r for r in pool.map(one, items) if r]
