"""Raw-socket probes of the HTTP layer (see http_probes.py): each a 4xx, nothing leaked, and
the server still answering afterwards."""

import pytest

from client import raw_exchange
from conftest import BASE, run_cases, world
from http_probes import PROBES, SECRETS, STATS
import urllib.parse

_host = urllib.parse.urlsplit(BASE)


@pytest.mark.parametrize("label,data,statuses", PROBES, ids=[p[0] for p in PROBES])
def test_http_probe(label, data, statuses):
    def probe():
        STATS["http-layer probes"] += 1
        # Signed in as the admin (a signed-out request to a page is only a redirect to /login).
        cookie = "; ".join(f"{k}={v}" for k, v in world().admin.cookies.items()).encode()
        sent = data
        if cookie and b"\r\nHost:" in data:
            sent = data.replace(b"\r\nHost:", b"\r\nCookie: " + cookie + b"\r\nHost:", 1)
        status, raw = raw_exchange(_host.hostname, _host.port, sent)
        where = f"RAW {label}: {data[:100]!r}{'…' if len(data) > 100 else ''} (with the admin's session cookie)"
        failures = []
        if status is None:
            failures.append(f"{where}: no HTTP answer ({raw[:80]!r})")
        elif status >= 500 and not (statuses and status in statuses):
            failures.append(f"{where}: status {status}")
        elif statuses and status not in statuses:
            failures.append(f"{where}: status {status}, expected {' or '.join(map(str, statuses))}")
        elif not statuses and not 400 <= status < 500:
            failures.append(f"{where}: status {status}, expected a 4xx")
        for secret in SECRETS:
            if secret in raw:
                failures.append(f"{where}: the answer contains {secret!r}: a file outside Public/ was served")
        # The server is still there for the next client.
        alive, _ = raw_exchange(_host.hostname, _host.port, b"GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        if alive != 200:
            failures.append(f"{where}: GET /healthz afterwards answered {alive}")
        return failures

    run_cases(f"RAW {label}", probe)
