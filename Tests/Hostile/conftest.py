"""Fixtures and case generation for the hostile-input tests. scripts/hostile-tests.sh starts the
server and sets:

  TRAINYARD_URL         the server's base URL
  TRAINYARD_DB          its SQLite file (opened read-only for the fingerprint)
  TRAINYARD_USERNAME    an admin, and TRAINYARD_PASSWORD its password
  TRAINYARD_TOKEN       an API token of that admin (optional: the session cookie reads the API too)
  TRAINYARD_SERVER_PID  the server's process id (optional: tells a crash from a refusal)
  TRAINYARD_SERVER_LOG  its log (optional: shown when it stops)

The surface is discovered at collection time: sign in, make a few objects of our own through the
forms, crawl the pages, read the OpenAPI document. Each test item is one form field, one page
parameter, one API parameter or one HTTP-layer probe, running its whole corpus and listing every
failing value in its message.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from client import ServerDown  # noqa: E402

BASE = os.environ.get("TRAINYARD_URL", "http://127.0.0.1:8080").rstrip("/")
DB = os.environ.get("TRAINYARD_DB", "")
USERNAME = os.environ.get("TRAINYARD_USERNAME", "hostile-admin")
PASSWORD = os.environ.get("TRAINYARD_PASSWORD", "")
TOKEN = os.environ.get("TRAINYARD_TOKEN", "")
SERVER_PID = int(os.environ.get("TRAINYARD_SERVER_PID") or 0)
SERVER_LOG = os.environ.get("TRAINYARD_SERVER_LOG", "")

_world = None
_down = []   # the case after which the server stopped answering


def world():
    global _world
    if _world is None:
        from world import World
        assert DB and os.path.exists(DB), f"TRAINYARD_DB must name the server's SQLite file (got {DB!r})"
        w = World(BASE, USERNAME, PASSWORD, DB)
        w.provision()
        w.discover()
        if TOKEN:
            w.admin.bearer = TOKEN
        _world = w
    return _world


def server_running():
    if not SERVER_PID:
        return True
    try:
        os.kill(SERVER_PID, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by the script) is not running either.
    try:
        with open(f"/proc/{SERVER_PID}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def note_down(where):
    if not _down:
        tail = ""
        if SERVER_LOG and os.path.exists(SERVER_LOG):
            with open(SERVER_LOG, errors="replace") as f:
                tail = "".join(f.readlines()[-15:])
        _down.append(f"{where}" + (f"\n--- server log tail:\n{tail}" if tail else ""))


@pytest.fixture(autouse=True)
def server_alive(request):
    if _down:
        pytest.fail(f"the server stopped answering earlier, at: {_down[0].splitlines()[0]}", pytrace=False)
    yield
    if not server_running():
        note_down(f"after {request.node.nodeid} (the process has exited)")


def run_cases(where, fn):
    """Runs fn() -> list of failure messages; fails the test with all of them."""
    try:
        failures = fn()
    except ServerDown as error:
        note_down(f"{where}: {error}")
        crashed = "" if server_running() else " (the server process has exited: a crash)"
        pytest.fail(f"{where}: the server stopped answering{crashed}: {error}\n" + (_down[0] if _down else ""), pytrace=False)
    if failures:
        report = os.environ.get("HOSTILE_REPORT")
        if report:
            with open(report, "a", encoding="utf-8", errors="backslashreplace") as f:
                f.writelines(line.replace("\n", " ") + "\n" for line in failures)
        pytest.fail(f"{len(failures)} failing case(s):\n  " + "\n  ".join(failures), pytrace=False)


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    if "form_field" in names:
        items, ids = [], []
        for target in world().targets:
            for field in target.names:
                items.append((target, field))
                ids.append(f"{target.id} :: {field}")
        metafunc.parametrize("form_field", items, ids=ids)
    if "form_target" in names:
        targets = world().targets
        metafunc.parametrize("form_target", targets, ids=[t.id for t in targets])
    if "page_param" in names:
        from pages import page_cases
        items = page_cases(world())
        metafunc.parametrize("page_param", items, ids=[i.id for i in items])
    if "login_field" in names:
        from sessions import login_form_fields
        metafunc.parametrize("login_field", login_form_fields(world()))
    if "api_param" in names:
        from api import api_cases
        items = api_cases(world())
        metafunc.parametrize("api_param", items, ids=[i.id for i in items])


def untested_post_routes(w):
    """The page routes `app.post("…")` declares in Sources/Trainyard that no tested form posts to."""
    import glob
    import re
    root = os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "Trainyard")
    declared = set()
    for path in glob.glob(os.path.join(root, "**", "*.swift"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            declared.update(re.findall(r'app\.post\("(/[^"]*)"', f.read()))
    tested = {t.pattern for t in w.targets} | {"/login", "/logout"}
    return sorted(r for r in declared if not r.startswith("/api/") and r not in tested)


def pytest_terminal_summary(terminalreporter):
    from formcases import STATS as forms
    counts = dict(forms)
    for module in ("pages", "api", "http_probes", "sessions"):
        m = sys.modules.get(module)
        if m is not None and hasattr(m, "STATS"):
            counts.update(m.STATS)
    total = sum(counts.values())
    terminalreporter.write_line(
        "hostile: " + f"{total} requests judged (" + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")")
    if _world is not None:
        from world import skipped_shapes
        terminalreporter.write_line(f"hostile: {len(_world.surface.pages)} pages crawled, "
                                    f"{len(_world.targets)} form targets")
        for key in skipped_shapes(_world):
            terminalreporter.write_line(f"hostile: form shape not tested (no instance on an object of ours): {key}")
        for route in untested_post_routes(_world):
            terminalreporter.write_line(f"hostile: POST route with no form reached by the crawl (not tested): {route}")
    if _down:
        terminalreporter.write_line(f"hostile: THE SERVER STOPPED ANSWERING: {_down[0]}")
