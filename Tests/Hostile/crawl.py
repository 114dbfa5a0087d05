"""Discovers the app's surface as a signed-in admin sees it: a bounded breadth-first crawl of
the HTML pages from /, following same-origin links, collecting every form and every query
parameter name seen in links and GET forms."""

import collections
import urllib.parse

from client import same_origin_path
from html_forms import parse, path_pattern

MAX_PAGES = 300
# Instances of one page pattern with one set of query names fetched at most (the rest of the
# table's pages, sorts and filters add nothing new to the surface).
PER_SHAPE = 5
# Never followed: signing out ends the crawl's session; static files, health checks and the
# JSON API are not pages (the API is covered from its OpenAPI document).
SKIP_PREFIXES = ("/static/", "/healthz", "/readyz", "/api/")
SKIP_PATHS = ("/logout",)


def is_export(path):
    return "/export" in path or path.endswith((".csv", ".json", ".ndjson"))


class Surface:
    def __init__(self):
        self.pages = {}                                 # path?query -> status
        self.page_patterns = collections.OrderedDict()  # pattern -> [path?query of fetched instances]
        self.forms = []                                 # every form found (POST and GET), in crawl order
        self.query_names = collections.OrderedDict()    # pattern -> ordered set of query names seen
        self.query_values = collections.defaultdict(list)  # (pattern, name) -> values seen
        self.exports = []                               # export downloads seen (one fetched)

    def note_query(self, path, query):
        pattern = path_pattern(path)
        names = self.query_names.setdefault(pattern, collections.OrderedDict())
        for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            names[name] = True
            values = self.query_values[(pattern, name)]
            if value not in values and len(values) < 8:
                values.append(value)


def crawl(client, start="/", max_pages=MAX_PAGES, extra=()):
    """Crawls from `start`; `extra` pages are visited too (pages only reached by typing their
    address or through JavaScript, such as a GET form's result)."""
    surface = Surface()
    queue = collections.deque([start, *extra])
    seen = set(queue)
    shapes = collections.Counter()
    export_fetched = False
    while queue and len(surface.pages) < max_pages:
        target = queue.popleft()
        parts = urllib.parse.urlsplit(target)
        shape = (path_pattern(parts.path), tuple(sorted({k for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)})))
        if shapes[shape] >= PER_SHAPE:
            continue
        shapes[shape] += 1
        if is_export(parts.path):
            if export_fetched:
                continue
            export_fetched = True
        response = client.get(target)
        surface.pages[target] = response.status
        surface.page_patterns.setdefault(path_pattern(parts.path), []).append(target)
        content_type = response.header("Content-Type") or ""
        if "text/html" not in content_type:
            continue
        forms, links = parse(response.text, target)
        surface.forms.extend(forms)
        for form in forms:
            if form.method != "GET":
                continue
            surface.note_query(form.path, urllib.parse.urlencode(form.defaults()))
            # The page a GET form leads to, as sent unchanged and with its first two unticked
            # boxes ticked (the compare form only has boxes).
            ticked = form.defaults() + [(f.name, f.value) for f in form.fields if f.kind == "checkbox" and not f.checked][:2]
            for pairs in (form.defaults(), ticked):
                submitted = form.path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")
                if submitted not in seen and not form.path.startswith(SKIP_PREFIXES):
                    seen.add(submitted)
                    queue.append(submitted)
        for link in links:
            local = same_origin_path(link, client.base)
            if local is None:
                continue
            lp = urllib.parse.urlsplit(local)
            if lp.query:
                surface.note_query(lp.path, lp.query)
            if lp.path.startswith(SKIP_PREFIXES) or lp.path in SKIP_PATHS:
                continue
            if is_export(lp.path) and local not in surface.exports:
                surface.exports.append(local)
            clean = lp.path + (f"?{lp.query}" if lp.query else "")
            if clean not in seen:
                seen.add(clean)
                queue.append(clean)
    return surface
