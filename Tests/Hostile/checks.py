"""What every answer is checked for: no 5xx, no crash, no internals leaked, redirects that stay
on the site, and whether a page shows a refusal (an error flash or a field's error message)."""

import re

# Text that only an unhandled error, a crash report or a leaked exception would put in a page.
LEAK_PATTERNS = [
    re.compile(p, re.I) for p in (
        r"Fatal error:", r"Stack ?trace", r"Traceback \(most recent call last\)", r"\bSwift runtime failure",
        r"\.swift:\d+", r"\bThread \d+ (crashed|Crashed)", r"\bSIG(SEGV|ILL|ABRT|TRAP)\b", r"\bbacktrace\b",
        r"\bDatabaseError\b", r"\bSQLITE_[A-Z]+\b", r"sqlite3_", r"\bsyntax error\b", r"\bno such (table|column)\b",
        r"\bconstraint failed\b", r"\bFOREIGN KEY\b", r"\bUNIQUE constraint\b", r"\bCHECK constraint\b",
        r"Swift\.\w+Error", r"\bdecodingError\b", r"\bunexpectedly found nil\b", r"\bIndex out of range\b",
    )
]

FLASH = re.compile(r'<div class="flash flash-(error|info|success)"[^>]*>.*?<p>(.*?)</p>', re.S)
FIELD_ERROR = re.compile(r'<p class="error" id="[^"]*">(.*?)</p>', re.S)
ERROR_PAGE = re.compile(r'<section class="error-page">\s*<p class="error-code">(\d+)</p>\s*<h1>(.*?)</h1>', re.S)


def leaks(response):
    """The leak patterns found in a response's body (decoded loosely)."""
    text = response.text
    return [p.pattern for p in LEAK_PATTERNS if p.search(text)]


def flash(page_text):
    """(kind, message) of the page's flash, or None."""
    m = FLASH.search(page_text)
    if not m:
        return None
    return m.group(1), re.sub(r"<[^>]+>", "", m.group(2)).strip()


def field_errors(page_text):
    return [re.sub(r"<[^>]+>", "", m).strip() for m in FIELD_ERROR.findall(page_text)]


def unsafe_location(location):
    """Why a Location header is not a same-site path (None when it is one)."""
    if location is None:
        return "a redirect without Location"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        return "control characters in Location"
    if any(ord(c) > 0x7E for c in location):
        return "raw non-ASCII bytes in Location (a URI must be percent-encoded)"
    if not location.startswith("/"):
        return "Location is not a path on this site"
    if location.startswith("//") or location.startswith("/\\"):
        return "Location is protocol-relative (another site)"
    return None


MAX_RESPONSE_HEAD = 16 * 1024   # what the server itself accepts from clients; browsers drop cookies over 4 KB


def oversized_head(response):
    """Why a response's head is too big (None when it is not): the largest header named."""
    size = getattr(response, "head_bytes", 0)
    if size <= MAX_RESPONSE_HEAD:
        return None
    name, value = max(response.headers, key=lambda kv: len(kv[1]))
    return f"a {size}-byte response head (largest: {name} of {len(value)} bytes, starting {value[:60]!r})"
