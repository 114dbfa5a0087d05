"""A signed-in HTTP client for Trainyard's pages, without JavaScript: keeps cookies, reads the
`_csrf` hidden field of a form before posting it, and can stop at a redirect to look at it.
Standard library only (the tracking tests install no browser)."""

import html
import html.parser
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request


class Response:
    def __init__(self, status, url, text, headers):
        self.status, self.url, self.text, self.headers = status, url, text, headers

    @property
    def path(self):
        return urllib.parse.urlparse(self.url).path

    @property
    def location(self):
        """Where a redirect points, as a path (None when this is no redirect)."""
        value = self.headers.get("Location")
        return urllib.parse.urlparse(value).path if value else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx comes back as the response


class WebClient:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self._follow = urllib.request.build_opener(cookies)
        self._stay = urllib.request.build_opener(cookies, _NoRedirect())

    def _open(self, request, follow):
        opener = self._follow if follow else self._stay
        try:
            with opener.open(request, timeout=30) as response:
                return Response(response.status, response.url, response.read().decode("utf-8"), response.headers)
        except urllib.error.HTTPError as error:  # 4xx/5xx, and 3xx when not following
            return Response(error.code, error.url, error.read().decode("utf-8"), error.headers)

    def get(self, path, follow=True):
        return self._open(urllib.request.Request(self.base + path), follow)

    def post(self, path, fields, follow=True):
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        return self._open(request, follow)

    def sign_in(self, username, password):
        """Signs in through the form on /login, as a person would; fails if it does not take."""
        page = self.get("/login")
        fields = form_fields(page.text, "/login")
        fields.update(username=username, password=password)
        signed_in = self.post("/login", fields)
        assert signed_in.status == 200 and signed_in.path != "/login", \
            f"signing in as {username} failed: {signed_in.status} at {signed_in.url}"
        return self


class _FormParser(html.parser.HTMLParser):
    """The named fields of the first <form> whose action is `action`, with the values the
    page gives them: inputs, the selected (else the first) option of each select, textareas."""

    def __init__(self, action):
        super().__init__(convert_charrefs=True)
        self.action, self.fields, self.found = action, {}, False
        self._in_form = self._done = False
        self._select = self._textarea = None
        self._first_option = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and urllib.parse.urlparse(a.get("action") or "").path == self.action:
            self._in_form = self.found = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "image", "reset"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            self._first_option.setdefault(self._select, value)
            if "selected" in a:
                self.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option.get(self._select, ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_fields(page_html, action):
    """What submitting the form posting to `action` unchanged would send (the `_csrf` included)."""
    parser = _FormParser(action)
    parser.feed(page_html)
    assert parser.found, f"no form posting to {action} on the page"
    assert parser.fields.get("_csrf"), f"the form posting to {action} has no _csrf field"
    return parser.fields


def links(page_html, path_pattern):
    """(path, link text) of every <a> whose href matches `path_pattern`, in page order."""
    found = []
    for href, inner in re.findall(r'<a\b[^>]*\bhref="([^"]+)"[^>]*>(.*?)</a>', page_html, re.S):
        path = html.unescape(href)
        if re.fullmatch(path_pattern, path):
            found.append((path, html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()))
    return found
