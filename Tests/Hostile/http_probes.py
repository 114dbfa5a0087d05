"""Requests the HTTP layer must refuse, written byte for byte on a fresh socket (no client
library would send most of them): over-long and malformed heads, bad escapes in the path,
and path traversal out of /static/. Each must be answered with a 4xx and nothing leaked."""

STATS = {"http-layer probes": 0}

# Text that would show a file outside Public/ was served.
SECRETS = [b"root:x:0:0", b"swift-tools-version", b"import HTTPServer", b"import Foundation", b"PRAGMA", b"BEGIN PRIVATE"]


def _get(target, extra=b""):
    return b"GET " + target + b" HTTP/1.1\r\nHost: hostile\r\n" + extra + b"Connection: close\r\n\r\n"


TRAVERSALS = [
    b"/static/../../etc/passwd",
    b"/static/../../../../../../etc/passwd",
    b"/static/..%2f..%2f..%2fetc%2fpasswd",
    b"/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    b"/static/%252e%252e/%252e%252e/etc/passwd",
    b"/static/..%5c..%5c..%5cetc%5cpasswd",
    b"/static/..\\..\\..\\etc\\passwd",
    b"/static/....//....//....//etc/passwd",
    b"/static/..;/..;/etc/passwd",
    b"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    b"/static//etc/passwd",
    b"/static/%2fetc%2fpasswd",
    b"/static/../Package.swift",
    b"/static/%2e%2e/Package.swift",
    b"/static/..%2fPackage.swift",
    b"/static/.%2e/Package.swift",
    b"/static/../Sources/Trainyard/App/Routes.swift",
    b"/static/%2e%2e%2fSources%2fTrainyard%2fApp%2fRoutes.swift",
    b"/static/icons.svg%00.png",
    b"/static/icons.svg%00",
    b"/static/../.git/config",
    b"/static/../data/secret_key",
]

BAD_PATHS = [
    b"/%zz", b"/deployments/%zz", b"/deployments/%ff%fe", b"/models/%c0%af", b"/models/%ed%a0%80",
    b"/%00", b"/deployments/%00", b"/models/a%00b", b"/static/%ff", b"/docs/%", b"/training/jobs/%2",
    b"/models/" + b"a" * 4000, b"/deployments/" + b"9" * 40,
]

PROBES = (
    [("header over 16 KiB", _get(b"/", b"X-Long: " + b"a" * 20_000 + b"\r\n"), (431,)),
     ("many headers over 16 KiB together", _get(b"/", b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 200) for i in range(100))), (431,)),
     ("cookie header over 16 KiB", _get(b"/", b"Cookie: ty_session=" + b"c" * 17_000 + b"\r\n"), (431,)),
     ("NUL in a header value", _get(b"/", b"X-Nul: a\x00b\r\n"), (400,)),
     ("NUL in a header name", _get(b"/", b"X-N\x00ul: ab\r\n"), (400,)),
     ("bare CR in a header value", _get(b"/", b"X-Cr: a\rb\r\n"), (400,)),
     ("bare LF line end", b"GET / HTTP/1.1\nHost: hostile\nConnection: close\n\n", (400,)),
     ("space before the colon", _get(b"/", b"X-Sp : a\r\n"), (400,)),
     ("obs-fold continuation line", _get(b"/", b"X-Fold: a\r\n  b\r\n"), (400,)),
     ("no Host header", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", (400,)),
     ("request line over 8 KiB", _get(b"/?q=" + b"a" * 9000), (414,)),
     ("control character in the target", b"GET /\x01 HTTP/1.1\r\nHost: hostile\r\nConnection: close\r\n\r\n", (400,)),
     ("NUL in the target", b"GET /\x00 HTTP/1.1\r\nHost: hostile\r\nConnection: close\r\n\r\n", (400,)),
     ("non-ASCII byte in the target", b"GET /\xff HTTP/1.1\r\nHost: hostile\r\nConnection: close\r\n\r\n", (400, 404)),
     ("Content-Length not a number", b"POST /login HTTP/1.1\r\nHost: hostile\r\nContent-Length: abc\r\nConnection: close\r\n\r\n", (400,)),
     ("negative Content-Length", b"POST /login HTTP/1.1\r\nHost: hostile\r\nContent-Length: -1\r\nConnection: close\r\n\r\n", (400,)),
     ("huge Content-Length", b"POST /login HTTP/1.1\r\nHost: hostile\r\nContent-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n", (400, 413)),
     ("two different Content-Lengths", b"POST /login HTTP/1.1\r\nHost: hostile\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab", (400,)),
     ("Content-Length with Transfer-Encoding", b"POST /login HTTP/1.1\r\nHost: hostile\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n", (400,)),
     ("unknown HTTP version", b"GET / HTTP/9.9\r\nHost: hostile\r\nConnection: close\r\n\r\n", (400, 505)),
     ]
    + [(f"bad escape in the path {p[:60]!r}", _get(p), None) for p in BAD_PATHS]
    + [(f"path traversal {p!r}", _get(p), None) for p in TRAVERSALS]
)
