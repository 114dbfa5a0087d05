"""What each form field accepts, written from the app's own rules, so the suite knows which
hostile values may legitimately be accepted and which must be refused with nothing changed.

Sources (Sources/Trainyard/…): Web/FieldRule.swift (IntegerRule, DecimalRule, TextRule),
Models/ModelForm.swift + ModelRules.swift + ParameterCount.swift, Training/JobForm.swift,
Deployments/DeploymentForm.swift + Deployment.swift (DeploymentRules) +
DeploymentRoutes(+Changes).swift + Guardrail.swift (GuardrailRules), Telemetry/SourceForm.swift,
Accounts/User.swift (AccountRules) + TokensPage.swift + UsersPage.swift + LoginPage.swift,
Web/SafeRedirect.swift.

Policy, from the acceptance requirement ("each answered 4xx or a flash with nothing changed"):
- Invalid UTF-8 is never valid: no rule can accept bytes the server never saw as text (the
  server turns them into U+FFFD before any rule runs), so it must be refused.
- A field sent twice with different values is never valid (which one counts is a guess),
  except for fields the form itself sends several times (checkbox groups) and advisory fields.
- Every other value is valid exactly when the field's rule (as written in Swift) accepts it.
  Numbers are decimal: the rules' messages and docs speak of "a number", "a whole number";
  a hexadecimal float such as 0x10 (which Swift's Double(String) happens to parse) is not one.
- Advisory fields (return_to, next, from) never make a form invalid: the server falls back to
  a safe default (SafeRedirect), so any value may be accepted; the redirect must stay same-site.
- Fields a form ignores in the chosen variant (the scrape settings of a simulated source) may
  take anything: accepted means nothing changed for them.
A rule returns True (valid: may be accepted), False (must be refused).
"""

import re
import unicodedata

# Swift's CharacterSet.whitespaces: Unicode Zs and TAB. whitespacesAndNewlines adds
# U+000A–U+000D, U+0085, U+2028, U+2029.
_ZS = "".join(chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs")
WHITESPACES = "\t" + _ZS
WHITESPACES_AND_NEWLINES = WHITESPACES + "\n\x0b\x0c\r\x85\u2028\u2029"


def trim(text, chars=WHITESPACES):
    return text.strip(chars)


def trim_nl(text):
    return text.strip(WHITESPACES_AND_NEWLINES)


def scalars(text):
    return len(text)


def graphemes(text):
    """Swift's String.count, closely enough for the corpus: combining marks join the character
    before them and CR LF is one character."""
    count = 0
    previous = None
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Mc"):
            if count == 0:
                count = 1
        elif previous == "\r" and ch == "\n":
            pass
        else:
            count += 1
        previous = ch
    return count


_INT = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


class Rule:
    """valid(value, baseline) -> bool; `alternatives(base)` gives valid values other than
    `base`, for the repeated-key case."""
    advisory = False
    multi = False
    description = "rule"

    def valid(self, value, baseline):
        raise NotImplementedError

    def alternatives(self, base, n):
        return [f"{base}1", f"{base}2"]

    def __repr__(self):
        return self.description


class Advisory(Rule):
    advisory = True

    def __init__(self, why):
        self.description = f"advisory ({why})"

    def valid(self, value, baseline):
        return True

    def alternatives(self, base, n):
        return ["/", "/docs"]


class Integer(Rule):
    """IntegerRule.parse: trimmed of whitespace, at most 12 bytes, Int(…) in range; empty is
    refused when required and takes the default otherwise."""

    def __init__(self, lo, hi, required=True):
        self.lo, self.hi, self.required = lo, hi, required
        self.description = f"integer {lo}…{hi}" + ("" if required else " or empty")

    def valid(self, value, baseline):
        t = trim(value)
        if t == "":
            return not self.required
        return len(t.encode()) <= 12 and bool(_INT.fullmatch(t)) and self.lo <= int(t) <= self.hi

    def alternatives(self, base, n):
        candidates = [self.lo, self.lo + 1, self.hi, self.hi - 1, (self.lo + self.hi) // 2]
        return [str(c) for c in dict.fromkeys(candidates) if str(c) != base][:2]


class PositiveID(Rule):
    """DeploymentForm.positiveInt / WebContext.idParameter: digits only, at most 18, above 0."""
    description = "positive id (digits)"

    def __init__(self, required=True):
        self.required = required

    def valid(self, value, baseline):
        t = trim(value)
        if t == "":
            return not self.required
        return len(t) <= 18 and t.isascii() and t.isdigit() and int(t) > 0

    def alternatives(self, base, n):
        # The id in use first: a server that takes the first value acts on it.
        return [base, base + "000"] if base else ["1", "2"]


class Decimal(Rule):
    """DecimalRule.parse: trimmed, at most 32 bytes, a finite decimal number in range."""

    def __init__(self, lo, hi, exclude_lo=False, required=True):
        self.lo, self.hi, self.exclude_lo, self.required = lo, hi, exclude_lo, required
        self.description = f"decimal {'(' if exclude_lo else '['}{lo}, {hi}]" + ("" if required else " or empty")

    def valid(self, value, baseline):
        t = trim(value)
        if t == "":
            return not self.required
        if len(t.encode()) > 32 or not _DECIMAL.fullmatch(t):
            return False
        v = float(t)
        return v == v and v not in (float("inf"), float("-inf")) and self.lo <= v <= self.hi \
            and not (self.exclude_lo and v == self.lo)

    def alternatives(self, base, n):
        mid = (self.lo + self.hi) / 2
        candidates = [self.hi, mid, self.lo * 2 if self.lo else self.hi / 2]
        return [_num(c) for c in candidates if _num(c) != base][:2]


def _num(v):
    return str(int(v)) if float(v).is_integer() else repr(v)


class Choice(Rule):
    """A select or radio: the value must be one of `options` (after `strip` when given)."""

    def __init__(self, options, strip=None, empty_ok=False):
        self.options, self.strip, self.empty_ok = list(options), strip, empty_ok
        self.description = f"one of {self.options}" + (" or empty" if empty_ok else "")

    def valid(self, value, baseline):
        t = value.strip(self.strip) if self.strip else value
        return t in self.options or (self.empty_ok and t == "")

    def alternatives(self, base, n):
        return [o for o in self.options if o != base and o != ""][:2]


class IntChoice(Choice):
    """Int(trimmed) in a list (batch_size): "+32" is 32."""

    def valid(self, value, baseline):
        t = trim(value)
        return bool(_INT.fullmatch(t)) and len(t) < 20 and int(t) in [int(o) for o in self.options]


class Text(Rule):
    """TextRule plus the form's own checks: trimmed (`newlines`: of whitespace and newlines),
    at most `max` Unicode scalars, 1 or more when `required`, only `charset` when given, no
    hidden characters when `no_hidden`."""

    def __init__(self, max, required=True, newlines=True, charset=None, no_hidden=False, lower=False, crlf=False):
        self.max, self.required, self.newlines, self.crlf = max, required, newlines, crlf
        self.charset, self.no_hidden, self.lower = charset, no_hidden, lower
        self.description = f"text ≤{max} scalars" + (f", [{charset}]" if charset else "") + \
            (", no hidden characters" if no_hidden else "") + ("" if required else ", optional")

    def normalized(self, value):
        if self.crlf:
            value = value.replace("\r\n", "\n")   # ModelForm.normalizedCard: stored as the browser counts it
        t = trim_nl(value) if self.newlines else trim(value)
        return t.lower() if self.lower else t

    def valid(self, value, baseline):
        t = self.normalized(value)
        if t == "":
            return not self.required
        if scalars(t) > self.max:
            return False
        if self.charset and not re.fullmatch(f"[{self.charset}]+", t):
            return False
        if self.no_hidden and any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in t):
            return False
        return True

    def alternatives(self, base, n):
        sep = "-" if self.charset and " " not in self.charset else " "
        stem = base or "hostile"
        return [f"{stem}{sep}alt{sep}{n}a", f"{stem}{sep}alt{sep}{n}b"]


class Username(Text):
    """AccountRules.isValidUsername after trimming whitespace and lowercasing (UsersPage)."""

    def __init__(self):
        super().__init__(64, newlines=False, charset="a-z0-9._-", lower=True)
        self.description = "user name [a-z0-9._-]{1,64} (lowercased)"


class Password(Rule):
    """AccountRules.isValidPassword: at least 12 characters, at most 1,024 bytes."""
    description = "password ≥12 characters, ≤1024 bytes"

    def valid(self, value, baseline):
        return graphemes(value) >= 12 and len(value.encode("utf-8", "surrogatepass")) <= 1024

    def alternatives(self, base, n):
        return [f"alternative password {n} a", f"alternative password {n} b"]


class Slug(Rule):
    """The model form's slug: trimmed of whitespace; empty means made from the name;
    otherwise SlugRule ([a-z0-9-], 1…64 bytes) and not a reserved word."""
    description = "model slug [a-z0-9-]{1,64} or empty"

    def valid(self, value, baseline):
        t = trim(value)
        if t == "":
            return True
        return len(t.encode()) <= 64 and bool(re.fullmatch(r"[a-z0-9-]+", t)) and t != "new"

    def alternatives(self, base, n):
        return [f"hostile-alt-{n}-a", f"hostile-alt-{n}-b"]


class ParameterCount(Rule):
    """ParameterCount.parse (digits, optional fraction and K/M/B/T suffix) within 1M…10T."""
    description = "parameter count such as 354M, 1.2B (1M…10T)"
    _RE = re.compile(r"([0-9]+)(\.([0-9]+))? ?([kKmMbBtT]?)")
    _UNITS = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}

    def valid(self, value, baseline):
        t = trim(value)
        if t == "" or len(t.encode()) > 32:
            return False
        m = self._RE.fullmatch(t)
        if not m:
            return False
        whole, fraction, unit = m.group(1), m.group(3) or "", m.group(4).lower()
        digits = (whole + fraction).lstrip("0")
        if len(digits) > 18 or len(fraction) > 12:
            return False
        product = int(digits or "0") * self._UNITS[unit]
        if product % (10 ** len(fraction)):
            return False
        count = product // (10 ** len(fraction))
        return 1_000_000 <= count <= 10_000_000_000_000 and product < 2**63

    def alternatives(self, base, n):
        return [c for c in ("350M", "1.2B", "7B") if c != base][:2]


class MetricName(Rule):
    """SourceForm.isMetricName: [a-zA-Z_:][a-zA-Z0-9_:]*, at most 200 bytes (trimmed)."""
    description = "Prometheus metric name"

    def __init__(self, required):
        self.required = required

    def valid(self, value, baseline):
        t = trim(value)
        if t == "":
            return not self.required
        return len(t.encode()) <= 200 and bool(re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", t))

    def alternatives(self, base, n):
        return [f"alt_metric_{n}_a", f"alt_metric_{n}_b"]


class Never(Rule):
    """Only one exact value is right (a CSRF token, a password being checked, a matcher we do
    not model): every hostile value must be refused."""

    def __init__(self, why):
        self.description = f"exact value only ({why})"

    def valid(self, value, baseline):
        return False

    def alternatives(self, base, n):
        return [base, "x" + base[1:] if base else "x"]


class ScrapeURL(Never):
    """TargetCheck: an http(s) URL whose host resolves to an allowlisted address (loopback by
    default). None of the corpus is one; its alternatives are loopback URLs."""

    def __init__(self):
        super().__init__("an allowlisted http(s) URL; hostile values are never one")

    def alternatives(self, base, n):
        return [f"http://127.0.0.1:9/metrics-{n}a", f"http://127.0.0.1:9/metrics-{n}b"]


class UnlessScraped(Rule):
    """A scrape setting: ignored unless the form's source is `scraped` (and, for the custom
    mapping's names, the preset is `custom`)."""

    def __init__(self, inner, needs_custom=False):
        self.inner, self.needs_custom = inner, needs_custom
        self.description = f"{inner.description} when scraped" + (" with preset custom" if needs_custom else "") + ", else ignored"

    def ignored(self, baseline):
        if trim(baseline.get("source", "")) != "scraped":
            return True
        return self.needs_custom and trim(baseline.get("preset", "")) != "custom"

    def valid(self, value, baseline):
        return True if self.ignored(baseline) else self.inner.valid(value, baseline)

    def alternatives(self, base, n):
        return self.inner.alternatives(base, n)


class Lookup(Rule):
    """A reference to a row that must exist now (a model's slug): the crawled select's
    options go stale as soon as a case creates a model, so the database decides."""

    def __init__(self, what, sql, strip=WHITESPACES):
        self.sql, self.strip = sql, strip
        self.description = f"an existing {what}"
        self.db = None

    def valid(self, value, baseline):
        t = value.strip(self.strip) if self.strip else value
        return bool(t) and bool(self.db.query(self.sql, (t,)))

    def alternatives(self, base, n):
        rows = self.db.query(self.sql.replace("= ?", "<> ?") + " LIMIT 2", (base,))
        return [r[0] for r in rows]

    def any(self, prefer_not_like=None):
        """A value that exists now (one not matching `prefer_not_like` when there is one)."""
        column = self.sql.split()[1]
        table = self.sql.split(" FROM ")[1].split()[0]
        if prefer_not_like:
            rows = self.db.query(f"SELECT {column} FROM {table} WHERE {column} NOT LIKE ? ORDER BY rowid LIMIT 1", (prefer_not_like,))
            if rows:
                return rows[0][0]
        rows = self.db.query(f"SELECT {column} FROM {table} ORDER BY rowid LIMIT 1")
        return rows[0][0] if rows else None


CSRF = Never("the session's CSRF token")
RETURN_TO = Advisory("return_to: an unsafe path falls back to the object's page")

JOB_NAME_CHARS = "a-zA-Z0-9 ._-"
DEPLOYMENT_NAME_CHARS = "a-zA-Z0-9._-"

SOURCE_FIELDS = {
    "source": Choice(["simulated", "scraped", "pushed"], strip=WHITESPACES, empty_ok=True),
    "target_url": UnlessScraped(ScrapeURL()),
    "interval_seconds": UnlessScraped(Integer(5, 300, required=False)),
    "preset": UnlessScraped(Choice(["vllm", "tgi", "prometheus_client", "custom"], strip=WHITESPACES, empty_ok=True)),
    "histogram": UnlessScraped(MetricName(required=True), needs_custom=True),
    "requests_counter": UnlessScraped(MetricName(required=True), needs_custom=True),
    "failure_counter": UnlessScraped(MetricName(required=False), needs_custom=True),
    "error_matcher": UnlessScraped(Never("a label matcher list; none of the corpus is one"), needs_custom=True),
}

DEPLOY_FIELDS = {
    "job_id": PositiveID(),
    "return_to": RETURN_TO,
    "from": Advisory("from=form only chooses where a refusal goes back to"),
    "name": Text(100, required=False, charset=DEPLOYMENT_NAME_CHARS),
    "replicas": Integer(1, 100, required=False),
    "cpu": Decimal(0.5, 32, required=False),
    "memory_mb": Integer(512, 65536, required=False),
    "gpu": Integer(0, 8, required=False),
    "storage_gb": Integer(1, 1000, required=False),
    **SOURCE_FIELDS,
}

# (method, path pattern) -> {field: Rule}. `_csrf` is added to every POST form.
FORMS = {
    ("POST", "/login"): {
        "username": Never("the user's name"), "password": Never("the user's password"),
        "next": Advisory("next: an unsafe path falls back to the dashboard"),
    },
    ("POST", "/logout"): {},
    ("POST", "/settings/tokens"): {
        "name": Text(100), "expires_in_days": Choice(["7", "30", "90", "365", "0"]),
    },
    ("POST", "/settings/tokens/{id}/revoke"): {},
    ("POST", "/settings/users"): {
        "username": Username(), "display_name": Text(100, required=False),
        "role": Choice(["viewer", "operator", "admin"]), "password": Password(),
    },
    ("POST", "/settings/users/{id}/role"): {"role": Choice(["viewer", "operator", "admin"])},
    ("POST", "/settings/users/{id}/disable"): {},
    ("POST", "/settings/users/{id}/enable"): {},
    ("POST", "/settings/users/{id}/password"): {"password": Password()},
    ("POST", "/models"): {
        "name": Text(80, no_hidden=True), "slug": Slug(), "parameters": ParameterCount(),
        "context_length": Integer(128, 10_000_000), "card": Text(20_000, required=False, crlf=True),
    },
    ("POST", "/models/{slug}/delete"): {"return_to": RETURN_TO},
    ("POST", "/training/jobs"): {
        "name": Text(100, charset=JOB_NAME_CHARS),
        "model": Lookup("model slug", "SELECT slug FROM models WHERE slug = ?"),
        "epochs": Integer(1, 100), "learning_rate": Decimal(0, 1, exclude_lo=True),
        "batch_size": IntChoice(["4", "8", "16", "32", "64", "128"]), "notes": Text(5000, required=False),
    },
    ("POST", "/training/jobs/{id}/start"): {"return_to": RETURN_TO},
    ("POST", "/training/jobs/{id}/stop"): {"return_to": RETURN_TO},
    ("POST", "/training/jobs/{id}/base-model"): {"model": Lookup("model slug", "SELECT slug FROM models WHERE slug = ?", strip=None)},
    ("POST", "/deployments"): DEPLOY_FIELDS,
    ("POST", "/deployments/{id}/pause"): {"return_to": RETURN_TO},
    ("POST", "/deployments/{id}/resume"): {"return_to": RETURN_TO},
    ("POST", "/deployments/{id}/delete"): {"return_to": RETURN_TO},
    ("POST", "/deployments/{id}/retry"): {"return_to": RETURN_TO},
    ("POST", "/deployments/{id}/scale"): {"replicas": Integer(1, 100), "return_to": RETURN_TO},
    ("POST", "/deployments/{id}/configure"): {
        "replicas": Integer(1, 100, required=False), "cpu": Decimal(0.5, 32, required=False),
        "memory_mb": Integer(512, 65536, required=False), "gpu": Integer(0, 8, required=False),
        "storage_gb": Integer(1, 1000, required=False), "return_to": RETURN_TO,
    },
    ("POST", "/deployments/{id}/rollback"): {
        "revision": PositiveID(required=False),
        "version": None,  # the select's options
        "return_to": RETURN_TO,
    },
    ("POST", "/deployments/{id}/guardrails"): {
        "metric": Choice(["p95", "p99", "error_rate"]), "threshold": Decimal(0.001, 1_000_000),
        "minutes": Integer(1, 1440), "action": Choice(["flag", "pause"]), "return_to": RETURN_TO,
    },
    ("POST", "/deployments/{id}/guardrails/{rule}/delete"): {"return_to": RETURN_TO},
    ("POST", "/deployments/{id}/source"): {**SOURCE_FIELDS, "return_to": RETURN_TO},
}
FORMS[("POST", "/models/{slug}")] = FORMS[("POST", "/models")]


class Unknown(Rule):
    description = "no rule written for this field: every hostile value must be refused"

    def valid(self, value, baseline):
        return False


def rule_for(method, pattern, field, form, db=None):
    """The rule of `field` on a form (a select's options stand in for rules left as None)."""
    if field == "_csrf":
        return CSRF
    rules = FORMS.get((method, pattern))
    if rules is None or field not in rules:
        return Unknown()
    rule = rules[field]
    if rule is None:
        control = form.field(field)
        options = control.options if control is not None else []
        return Choice([o for o in options if o != ""], strip=WHITESPACES)
    if isinstance(rule, Lookup):
        rule.db = db
    return rule
