"""A small HTTP client for the hostile-input tests: raw bodies and query strings (so invalid
percent-encoding reaches the server exactly as written), its own cookie jar (the session cookie
and the flash cookie), redirects followed only when asked, and raw-socket requests for the HTTP
layer. Standard library only."""

import http.client
import socket
import threading
import time
import urllib.parse

TIMEOUT = 60
# http.client refuses header lines over 64 KiB; a server bug can send longer ones (a giant
# Set-Cookie), which the checks must see rather than crash on.
http.client._MAXLINE = 64 * 1024 * 1024
http.client._MAXHEADERS = 10_000


class ServerDown(Exception):
    """The server did not answer at all (refused, reset or timed out)."""


class Response:
    def __init__(self, method, url, status, headers, body):
        self.method, self.url, self.status = method, url, status
        self.headers = headers          # list of (name, value), as sent
        self.body = body                # bytes
        self._text = None

    @property
    def text(self):
        if self._text is None:
            self._text = self.body.decode("utf-8", errors="replace")
        return self._text

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def location(self):
        return self.header("Location")

    def __repr__(self):
        return f"<{self.method} {self.url} -> {self.status}>"


class Client:
    """One user agent: a cookie jar and a base URL. Not shared between threads; `clone()` makes
    another agent with the same session cookie (so the same sign-in and CSRF token) but its own
    flash cookie."""

    def __init__(self, base):
        parsed = urllib.parse.urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.cookies = {}
        self.bearer = None
        self._local = threading.local()

    def clone(self):
        other = Client(self.base)
        other.cookies = {k: v for k, v in self.cookies.items() if "flash" not in k}
        other.bearer = self.bearer
        return other

    # -- the wire

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            self._local.conn = conn
        return conn

    def _drop_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None

    def request(self, method, target, body=None, headers=None, cookies=True):
        """Sends one request; `target` is a path with its query string, sent as it is."""
        all_headers = {"Host": f"{self.host}:{self.port}", "Accept": "text/html,application/json"}
        if cookies and self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.bearer and target.startswith("/api/"):
            all_headers["Authorization"] = f"Bearer {self.bearer}"
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            all_headers["Content-Length"] = str(len(body))
        all_headers.update(headers or {})
        last_error = None
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in all_headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body)
                raw = conn.getresponse()
                data = raw.read()
                response = Response(method, target, raw.status, raw.getheaders(), data)
                response.head_bytes = sum(len(k) + len(v) + 4 for k, v in response.headers)
                if (raw.getheader("Connection") or "").lower() == "close":
                    self._drop_connection()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest, http.client.ResponseNotReady) as error:
                # A keep-alive connection the server closed while idle: try once on a new one.
                last_error = error
                self._drop_connection()
                if attempt == 1:
                    raise ServerDown(f"{method} {target[:200]}: {error!r}") from error
            except (ConnectionRefusedError, socket.timeout, TimeoutError, OSError) as error:
                self._drop_connection()
                raise ServerDown(f"{method} {target[:200]}: {error!r}") from error
        else:  # pragma: no cover
            raise ServerDown(repr(last_error))
        if cookies:
            self._keep_cookies(response)
        return response

    def _keep_cookies(self, response):
        for header in response.header_all("Set-Cookie"):
            first, *attributes = header.split(";")
            name, _, value = first.strip().partition("=")
            expired = any(a.strip().lower() in ("max-age=0",) for a in attributes) or value == ""
            if len(name) + len(value) > 4096:
                continue  # as browsers do: a cookie over 4 KB is ignored (the checks report the header)
            if expired:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    # -- conveniences

    def get(self, target, follow=True, headers=None):
        response = self.request("GET", target, headers=headers)
        hops = 0
        while follow and response.status in (301, 302, 303, 307, 308) and hops < 5:
            location = same_origin_path(response.location, self.base)
            if location is None:
                break
            response = self.request("GET", location, headers=headers)
            hops += 1
        return response

    def post(self, target, body, headers=None):
        """POSTs `body` (bytes, already form-encoded) and does not follow the redirect."""
        return self.request("POST", target, body=body, headers=headers)

    def sign_in(self, username, password):
        from html_forms import parse_forms  # noqa: import cycle free at call time
        page = self.get("/login")
        forms = [f for f in parse_forms(page.text, "/login") if f.path == "/login" and f.method == "POST"]
        assert forms, f"no sign-in form on /login (status {page.status})"
        fields = forms[0].defaults()
        fields = [(k, v) for k, v in fields if k not in ("username", "password")]
        fields += [("username", username), ("password", password)]
        response = self.post("/login", encode_pairs(fields))
        assert response.status == 303, f"signing in as {username}: status {response.status}"
        after = self.get(same_origin_path(response.location, self.base) or "/")
        assert after.status == 200 and "/login" not in after.url, \
            f"signing in as {username} failed: {after.status} at {after.url}"
        return self


def same_origin_path(location, base):
    """The path?query of `location` when it stays on `base`, else None."""
    if not location:
        return None
    parts = urllib.parse.urlsplit(location)
    if parts.scheme or parts.netloc:
        b = urllib.parse.urlsplit(base)
        if (parts.scheme, parts.netloc) != (b.scheme, b.netloc):
            return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    # Header values arrive as latin-1 text: bytes above 0x7F (raw UTF-8 a server put in a
    # Location) go back on the wire percent-encoded, as a browser would send them.
    return "".join(c if ord(c) < 0x80 and c not in " \x7f" and ord(c) > 0x20 else "%%%02X" % ord(c)
                   for c in target.encode("latin-1", "replace").decode("latin-1"))


def quote(value):
    """Form-encodes one name or value (str: UTF-8; bytes: as they are)."""
    if isinstance(value, bytes):
        return urllib.parse.quote_from_bytes(value, safe="")
    return urllib.parse.quote(value, safe="", encoding="utf-8", errors="surrogatepass")


def encode_pairs(pairs):
    """`name=value&…` as bytes. A value that is a `Raw` is inserted without encoding (used for
    invalid UTF-8 written as percent escapes)."""
    out = []
    for name, value in pairs:
        encoded = value.text if isinstance(value, Raw) else quote(value)
        out.append(f"{quote(name)}={encoded}")
    return "&".join(out).encode("ascii")


class Raw:
    """A value already percent-encoded, sent as it is (`%ff%fe`)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"raw {self.text!r}"

    def __eq__(self, other):
        return isinstance(other, Raw) and other.text == self.text

    def __hash__(self):
        return hash(("raw", self.text))


def raw_exchange(host, port, data, timeout=10.0, read_limit=256 * 1024):
    """Writes `data` on a fresh socket and reads until the server closes, the head and the
    announced body have arrived, or `timeout`. Returns (status or None, raw bytes read)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(received) < read_limit:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, sep, rest = received.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        try:
                            length = int(v.strip())
                        except ValueError:
                            length = 0
                if len(rest) >= length:
                    break
    status = None
    if received.startswith(b"HTTP/1."):
        try:
            status = int(received.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = None
    return status, received
