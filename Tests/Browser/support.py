"""Helpers shared by the browser tests: server URLs, a cookie-keeping HTTP client, WebDriver
sessions (JavaScript on or off, light or dark) and waiting."""

import http.cookiejar
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

BASE = os.environ.get("TRAINYARD_URL", "http://127.0.0.1:8123").rstrip("/")
EMPTY = os.environ.get("TRAINYARD_EMPTY_URL", "").rstrip("/")
SCREENSHOTS = os.environ.get("TRAINYARD_SCREENSHOTS", os.path.join(os.getcwd(), "screenshots-tmp"))
WORK = os.environ.get("TRAINYARD_WORK", "/tmp")

PASSWORD = os.environ.get("TRAINYARD_TEST_PASSWORD", "browser tests sign in with this")
ADMIN = "browser-admin"
VIEWER = "browser-viewer"

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def make_driver(javascript=True, width=1280, height=900, dark=False, user=ADMIN, base=BASE):
    """A fresh headless Chromium session: its own profile, so no cookies carry over. Signed in
    as `user` through the sign-in form (None: not signed in)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    # The driver path is given, so Selenium never tries to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    set_viewport(driver, width, height)
    set_color_scheme(driver, "dark" if dark else "light")
    if user:
        sign_in(driver, user, base)
    return driver


def sign_in(driver, user, base=BASE):
    """Signs `driver` in through the form, as a person would."""
    driver.get(base + "/login")
    driver.find_element("id", "login-username").send_keys(user)
    driver.find_element("id", "login-password").send_keys(PASSWORD)
    click_and_wait_for_page(driver, driver.find_element("css selector", "form button[type=submit]"))
    assert "/login" not in driver.current_url, f"sign-in as {user} failed: {driver.current_url}"


def set_viewport(driver, width, height, mobile=False):
    """Emulates a viewport of exactly this size (the window's outer size includes chrome)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def set_color_scheme(driver, scheme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def wait_for(predicate, timeout=20.0, interval=0.2, message="condition"):
    """Polls `predicate` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # a page mid-reload may throw; try again
            last_error = error
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}"
                         + (f" (last error: {last_error})" if last_error else ""))


class Response:
    def __init__(self, status, url, body):
        self.status, self.url, self.text = status, url, body


class Client:
    """A user agent without JavaScript: keeps cookies, follows 303s like a browser."""

    def __init__(self, base=BASE, user=ADMIN):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        if user:
            signed_in = self.submit("/login", {"username": user, "password": PASSWORD}, token_from="/login")
            assert "/login" not in signed_in.url, f"sign-in as {user} failed"

    def _open(self, request):
        try:
            with self.opener.open(request, timeout=30) as response:
                return Response(response.status, response.url, response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.url, error.read().decode("utf-8"))

    def get(self, path):
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path, fields):
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, method="POST"))

    def csrf(self, path="/training/configure"):
        match = re.search(r'name="_csrf" value="([^"]+)"', self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def submit(self, path, fields, token_from="/training/configure"):
        """POSTs `fields` with a fresh CSRF token, as the form on `token_from` would."""
        return self.post(path, dict(fields, _csrf=self.csrf(token_from)))


def hrefs(html, pattern):
    """Distinct links in `html` whose href matches `pattern`, in page order."""
    seen = []
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&")
        if re.fullmatch(pattern, href) and href not in seen:
            seen.append(href)
    return seen


def model_paths(html):
    """The model pages `html` links to, in page order (not the Add a model form at /models/new)."""
    return [path for path in hrefs(html, r"/models/[a-z0-9.-]+") if path != "/models/new"]


def create_job(client, name, epochs, model=None, start=False):
    """Creates a training job (and starts it) through the forms; returns its monitor path."""
    if model is None:
        model = model_paths(client.get("/models").text)[0].rsplit("/", 1)[1]
    response = client.submit("/training/jobs", {
        "name": name, "model": model, "epochs": str(epochs), "learning_rate": "0.0003",
        "batch_size": "32", "notes": ""})
    path = urllib.parse.urlparse(response.url).path
    assert re.fullmatch(r"/training/jobs/\d+", path), f"job not created: {response.url}"
    if start:
        client.submit(path + "/start", {"return_to": path}, token_from=path)
    return path


def click_and_wait_for_page(driver, element, timeout=15.0):
    """Clicks a link or submit button and waits until the next page has loaded.

    A click only starts the navigation; reading the URL or the DOM right after it can still see
    the old page. Waiting for the old <html> element to go stale, then for the new document to
    finish loading, makes each step see the page the click led to.
    """
    old = driver.find_element("tag name", "html")
    element.click()

    def replaced():
        try:
            old.get_attribute("lang")
            return False
        except Exception:  # StaleElementReferenceException: the old document is gone
            return True

    wait_for(replaced, timeout=timeout, interval=0.05, message="the next page to replace the current one")
    wait_for(lambda: driver.execute_script("return document.readyState") == "complete",
             timeout=timeout, interval=0.05, message="the next page to finish loading")
