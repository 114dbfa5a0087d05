"""The hostile corpus: what each form field and query parameter is given in turn.

A case is (label, make) where make(base) returns the value to send given the field's baseline
value: a `str` (form-encoded as UTF-8 on the wire) or a `client.Raw` (percent escapes sent as
written, for invalid UTF-8). The label names the case in failure messages; `describe` shows the
value itself, shortened, so a failure can be reproduced by hand.
"""

from client import Raw

MAX_BODY = 1024 * 1024          # the server's default --max-body-bytes
COMBINING = "\u0301"            # COMBINING ACUTE ACCENT: one grapheme with the 'a', many scalars

# Categories: what the requirement calls them, used to decide what the rules may accept.
LONG, CONTROL, INVALID_UTF8, NUMBER, REPEATED = "long", "control", "invalid-utf8", "number", "repeated"


class Case:
    def __init__(self, label, category, make):
        self.label, self.category, self._make = label, category, make

    def value(self, base):
        return self._make(base or "")

    def __repr__(self):
        return self.label


def _long_combining(budget):
    # 'a' then as many U+0301 as fit: each is 6 bytes on the wire (%CC%81).
    return lambda base: "a" + COMBINING * max(1, (budget - 1) // 6)


def value_cases(combining_budget):
    """The single-value cases, for a field whose other fields take `MAX_BODY - combining_budget`
    bytes (so the 1 MB case stays under the body limit)."""
    return [
        Case("long-100KiB", LONG, lambda base: "a" * (100 * 1024)),
        Case("long-1MiB-combining", LONG, _long_combining(combining_budget)),
        Case("ctrl-nul", CONTROL, lambda base: base + "\x00z"),
        Case("ctrl-soh", CONTROL, lambda base: base + "\x01z"),
        Case("ctrl-crlf", CONTROL, lambda base: base + "\r\nz"),
        Case("ctrl-esc", CONTROL, lambda base: base + "\x1b[31mz"),
        Case("utf8-ff-fe", INVALID_UTF8, lambda base: Raw(_q(base) + "%ff%fe")),
        Case("utf8-overlong-slash", INVALID_UTF8, lambda base: Raw(_q(base) + "%c0%af")),
        Case("utf8-lone-surrogate", INVALID_UTF8, lambda base: Raw(_q(base) + "%ed%a0%80")),
        Case("num-1e309", NUMBER, lambda base: "1e309"),
        Case("num-1e23-digits", NUMBER, lambda base: "99999999999999999999999"),
        Case("num-minus-1", NUMBER, lambda base: "-1"),
        Case("num-nan", NUMBER, lambda base: "NaN"),
        Case("num-hex", NUMBER, lambda base: "0x10"),
    ]


def query_cases():
    """The cases for query parameters (no body limit: the request line's own limit applies,
    so the long value is 6 KiB, under the 8 KiB line limit, plus one over it)."""
    return [
        Case("long-6KiB", LONG, lambda base: "a" * 6000),
        Case("long-combining-1000", LONG, lambda base: "a" + COMBINING * 1000),
        Case("ctrl-nul", CONTROL, lambda base: base + "\x00z"),
        Case("ctrl-soh", CONTROL, lambda base: base + "\x01z"),
        Case("ctrl-crlf", CONTROL, lambda base: base + "\r\nz"),
        Case("ctrl-esc", CONTROL, lambda base: base + "\x1b[31mz"),
        Case("utf8-ff-fe", INVALID_UTF8, lambda base: Raw(_q(base) + "%ff%fe")),
        Case("utf8-overlong-slash", INVALID_UTF8, lambda base: Raw(_q(base) + "%c0%af")),
        Case("utf8-lone-surrogate", INVALID_UTF8, lambda base: Raw(_q(base) + "%ed%a0%80")),
        Case("bad-escape", INVALID_UTF8, lambda base: Raw(_q(base) + "%zz%"),),
        Case("num-1e309", NUMBER, lambda base: "1e309"),
        Case("num-1e23-digits", NUMBER, lambda base: "99999999999999999999999"),
        Case("num-minus-1", NUMBER, lambda base: "-1"),
        Case("num-nan", NUMBER, lambda base: "NaN"),
        Case("num-hex", NUMBER, lambda base: "0x10"),
        Case("num-int64-overflow", NUMBER, lambda base: "9223372036854775808"),
        Case("num-int64-min", NUMBER, lambda base: "-9223372036854775808"),
    ]


def _q(text):
    from client import quote
    return quote(text)


def describe(value, limit=60):
    """A value as a failure message shows it: repr, shortened in the middle with its length."""
    if isinstance(value, Raw):
        text = value.text
        shown = text if len(text) <= limit else text[:limit // 2] + "…" + text[-limit // 4:]
        return f"raw-escapes {shown!r}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe(v, limit // 2) for v in value) + "]"
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit // 2]!r}…{value[-limit // 4:]!r} ({len(value)} chars, {len(value.encode('utf-8', 'surrogatepass'))} bytes)"
