"""The telemetry tests' own reference for what Trainyard computes from a metrics page,
written from the formats' and PromQL's definitions, independent of Trainyard's Swift code.
Standard library only.

    parse(text)                    -> [Sample]: every sample line of a text 0.0.4 or OpenMetrics page
    series(text)                   -> {(name, labels): value}, labels a sorted tuple of (name, value)
    increases(previous, current)   -> {(name, labels): increase}: the per-series rule below
    histogram_quantile(q, buckets) -> float: PromQL's estimate from (upper bound, cumulative count)
    Mapping, minute_windows(scrapes, mapping) -> {minute: Window}: Trainyard's per-minute figures,
                                      recomputed from the pages it was served

The increase rule, per series (each `_bucket` series with its own `le`): a series absent from
the previous scrape counts its whole current value; one lower than before (the target restarted)
counts its whole current value; otherwise the difference. A series that vanished contributes
nothing. The bucket increases are then summed by `le` before a quantile is taken.
"""

import math
import re
from collections import namedtuple

Sample = namedtuple("Sample", "name labels value timestamp exemplar")
"""One sample line. `labels` is a sorted tuple of (name, value); `exemplar` is None or
(labels, value, timestamp) for an OpenMetrics exemplar."""

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SPACES = re.compile(r"[ \t]+")


class ParseError(ValueError):
    def __init__(self, line_number, line, why):
        super().__init__(f"line {line_number}: {why}: {line[:120]!r}")
        self.line_number = line_number


def parse_float(text):
    """A sample value as the formats write it: Go's float syntax, +Inf/-Inf/NaN in any case."""
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    if lowered == "nan":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def _quoted(line, i):
    """The string starting at the opening quote line[i], unescaped, and the index after it.
    Escapes are those of the formats: \\\\, \\" and \\n; any other backslash stays as written."""
    assert line[i] == '"'
    out = []
    i += 1
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            nxt = line[i + 1]
            out.append({"\\": "\\", '"': '"', "n": "\n"}.get(nxt, "\\" + nxt))
            i += 2
        elif ch == '"':
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ValueError("unterminated quoted string")


def _skip_spaces(line, i):
    while i < len(line) and line[i] in " \t":
        i += 1
    return i


def _label_set(line, i):
    """Parses `{...}` starting at line[i] == "{". Returns (metric name given inside the braces
    or None, sorted label tuple, index after "}"). Accepts the UTF-8 forms of the newer text
    format too: a quoted metric name alone, and quoted label names."""
    assert line[i] == "{"
    i += 1
    labels, name = {}, None
    while True:
        i = _skip_spaces(line, i)
        if i >= len(line):
            raise ValueError("unterminated label set")
        if line[i] == "}":
            return name, tuple(sorted(labels.items())), i + 1
        if line[i] == '"':
            text, i = _quoted(line, i)
            i = _skip_spaces(line, i)
            if i < len(line) and line[i] in ",}":  # a quoted metric name
                if name is not None:
                    raise ValueError("two metric names in one label set")
                name = text
                key = None
            else:
                key = text
        else:
            match = _LABEL_NAME.match(line, i)
            if not match:
                raise ValueError(f"bad label name at column {i}")
            key, i = match.group(0), match.end()
        if key is not None:
            i = _skip_spaces(line, i)
            if i >= len(line) or line[i] != "=":
                raise ValueError(f"expected '=' after label {key!r}")
            i = _skip_spaces(line, i + 1)
            if i >= len(line) or line[i] != '"':
                raise ValueError(f"label {key!r} has no quoted value")
            value, i = _quoted(line, i)
            if key in labels:
                raise ValueError(f"label {key!r} given twice")
            labels[key] = value
        i = _skip_spaces(line, i)
        if i < len(line) and line[i] == ",":
            i += 1
        elif i < len(line) and line[i] == "}":
            continue
        else:
            raise ValueError(f"expected ',' or '}}' at column {i}")


def _sample(line):
    i = 0
    name = None
    match = _NAME.match(line, i)
    if match:
        name, i = match.group(0), match.end()
    labels = ()
    j = _skip_spaces(line, i)
    if j < len(line) and line[j] == "{":
        i = j
        inner_name, labels, i = _label_set(line, i)
        if inner_name is not None:
            if name is not None:
                raise ValueError("metric name both before and inside the braces")
            name = inner_name
    if not name:
        raise ValueError("no metric name")
    rest = line[i:]
    exemplar = None
    # An OpenMetrics exemplar follows " # " after the value (label values are behind us).
    if " # " in rest:
        rest, _, exemplar_text = rest.partition(" # ")
        exemplar_text = exemplar_text.strip()
        if not exemplar_text.startswith("{"):
            raise ValueError("an exemplar must start with a label set")
        _, ex_labels, j = _label_set(exemplar_text, 0)
        parts = exemplar_text[j:].split()
        if not 1 <= len(parts) <= 2:
            raise ValueError("an exemplar needs a value and at most a timestamp")
        exemplar = (ex_labels, parse_float(parts[0]), parse_float(parts[1]) if len(parts) == 2 else None)
    parts = _SPACES.split(rest.strip())
    if not rest[:1].isspace() or not 1 <= len(parts) <= 2 or not parts[0]:
        raise ValueError("expected a value and at most a timestamp after the name")
    value = parse_float(parts[0])
    timestamp = parse_float(parts[1]) if len(parts) == 2 else None
    return Sample(name, labels, value, timestamp, exemplar)


def parse(text):
    """Every sample of a page in the Prometheus text format (0.0.4) or OpenMetrics text 1.0, in
    page order. Comments (# HELP, # TYPE, # UNIT, # EOF and any other '#' line) and blank lines
    are skipped; nothing after '# EOF' is read."""
    samples = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if stripped == "# EOF":
                break
            continue
        try:
            samples.append(_sample(line.lstrip(" \t")))
        except ValueError as error:
            raise ParseError(number, line, str(error)) from None
    return samples


def series(text):
    """{(name, labels): value} for a page; a series given twice is an error (as for Prometheus)."""
    values = {}
    for sample in parse(text):
        key = (sample.name, sample.labels)
        if key in values:
            raise ValueError(f"series {format_series(key)} appears twice on the page")
        values[key] = sample.value
    return values


def format_series(key):
    name, labels = key
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}}" if labels else name


def increases(previous, current):
    """Per series of `current`: its whole value when it is new or went down (a reset), else
    what it grew by. Series only in `previous` contribute nothing; NaN values are skipped."""
    out = {}
    for key, value in current.items():
        if math.isnan(value):
            continue
        before = previous.get(key) if previous is not None else None
        if before is None or math.isnan(before) or value < before:
            out[key] = value
        else:
            out[key] = value - before
    return out


def resets(previous, current):
    """The series of `current` that went down since `previous`."""
    return sorted(key for key, value in current.items()
                  if key in previous and value < previous[key])


def histogram_quantile(q, buckets):
    """PromQL's histogram_quantile for classic buckets: `buckets` are (upper bound, cumulative
    count) pairs in any order. As Prometheus (promql/quantile.go, bucketQuantile) does it:

    q NaN -> NaN, q < 0 -> -Inf, q > 1 -> +Inf; buckets sorted by upper bound; no +Inf bucket ->
    NaN; buckets with equal bounds merged; counts within 1e-12 (relative) of the one below made
    equal, then counts made monotonic; fewer than 2 buckets -> NaN; total (the +Inf count) 0 ->
    NaN. rank = q * total; the first bucket (the +Inf one excluded) whose count >= rank, else the
    +Inf bucket. In the +Inf bucket: the upper bound of the one below it. In the first bucket
    with an upper bound <= 0: that bound. Otherwise linear within the bucket, its lower bound
    being the previous bucket's upper bound, or 0 for the first bucket.
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(((float(bound), float(count)) for bound, count in buckets), key=lambda b: b[0])
    if not ordered or ordered[-1][0] != math.inf:
        return math.nan
    merged = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    # Float noise first (a count a hair below the one before it), then any real decrease.
    kept = merged[0][1]
    for b in merged[1:]:
        delta = abs(b[1] - kept)
        if delta == 0:
            continue
        if b[1] != 0 and delta / b[1] <= 1e-12:
            b[1] = kept
        else:
            kept = b[1]
    highest = merged[0][1]
    for b in merged[1:]:
        if b[1] < highest:
            b[1] = highest
        else:
            highest = b[1]
    if len(merged) < 2:
        return math.nan
    total = merged[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    last = len(merged) - 1
    index = next((i for i in range(last) if merged[i][1] >= rank), last)
    if index == last:
        return merged[last - 1][0]
    upper, count = merged[index]
    if index == 0 and upper <= 0:
        return upper
    lower = 0.0
    if index > 0:
        lower = merged[index - 1][0]
        count -= merged[index - 1][1]
        rank -= merged[index - 1][1]
    return lower + (upper - lower) * (rank / count)


# ---- Trainyard's per-minute figures, recomputed -------------------------------------------

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def parse_matchers(text):
    """`status=~"5..", method!="GET"` -> [(label, op, value)]; regexes are anchored as in PromQL."""
    matchers, i = [], 0
    text = text.strip().strip("{}")
    while i < len(text):
        match = _MATCHER.match(text, i)
        if not match:
            raise ValueError(f"not a label matcher list: {text!r}")
        value, _ = _quoted('"' + match.group(3) + '"', 0)
        matchers.append((match.group(1), match.group(2), value))
        i = match.end()
        if i < len(text):
            if text[i] != ",":
                raise ValueError(f"not a label matcher list: {text!r}")
            i += 1
    return matchers


def labels_match(labels, matchers):
    values = dict(labels)
    for name, op, want in matchers:
        have = values.get(name, "")
        if op == "=" and have != want:
            return False
        if op == "!=" and have == want:
            return False
        if op == "=~" and not re.fullmatch(want, have):
            return False
        if op == "!~" and re.fullmatch(want, have):
            return False
    return True


class Mapping(namedtuple("Mapping", "histogram requests_counter failure_counter error_matcher")):
    """Which series a scraped source reads: the latency histogram (seconds), the requests
    counter, and the failures as a counter of their own or a matcher on the requests counter."""

    def requests(self, increase):
        return sum(v for (name, _), v in increase.items() if name == self.requests_counter)

    def errors(self, increase):
        if self.failure_counter:
            return sum(v for (name, _), v in increase.items() if name == self.failure_counter)
        matchers = parse_matchers(self.error_matcher)
        return sum(v for (name, labels), v in increase.items()
                   if name == self.requests_counter and labels_match(labels, matchers))

    def buckets(self, increase):
        """{upper bound: summed increase} over every `<histogram>_bucket` series."""
        by_bound = {}
        for (name, labels), v in increase.items():
            if name != self.histogram + "_bucket":
                continue
            le = dict(labels).get("le")
            if le is None:
                continue
            bound = parse_float(le)
            by_bound[bound] = by_bound.get(bound, 0.0) + v
        return by_bound


PROMETHEUS_CLIENT = Mapping("request_latency_seconds", "requests_total", None, 'status=~"5.."')


class Window:
    """One minute's figures as Trainyard should have them."""

    def __init__(self, minute):
        self.minute = minute            # minutes since the Unix epoch
        self.requests = 0.0
        self.errors = 0.0
        self.seconds = 0.0
        self.buckets = {}               # upper bound (seconds) -> summed increase
        self.pairs = []                 # (t0, t) of each scrape pair added
        self.resets = []                # series that went down in one of those pairs

    def add(self, mapping, previous, current, t0, t):
        increase = increases(previous, current)
        self.requests += mapping.requests(increase)
        self.errors += mapping.errors(increase)
        self.seconds += t - t0
        for bound, count in mapping.buckets(increase).items():
            self.buckets[bound] = self.buckets.get(bound, 0.0) + count
        self.pairs.append((t0, t))
        self.resets.extend(key for key in resets(previous, current)
                           if key[0] in (mapping.requests_counter, mapping.histogram + "_bucket"))

    def quantile_ms(self, q):
        value = histogram_quantile(q, self.buckets.items())
        return value * 1000 if math.isfinite(value) else None

    @property
    def requests_per_second(self):
        return self.requests / self.seconds

    @property
    def error_rate(self):
        return self.errors / self.requests if self.requests else 0.0


def minute_windows(scrapes, mapping=PROMETHEUS_CLIENT):
    """Trainyard's rule over scrapes in time order, each (t, series dict) for a success or
    (t, None) for a failure: a success at t after a success at t0 adds its increases, and
    t - t0 seconds, to minute floor(t / 60); a failure adds nothing and drops the baseline,
    so the next success only sets a new one. Returns {minute: Window}."""
    windows = {}
    previous = None
    for t, current in scrapes:
        if current is None:
            previous = None
            continue
        if previous is not None and t > previous[0]:
            minute = math.floor(t / 60)
            windows.setdefault(minute, Window(minute)).add(mapping, previous[1], current, previous[0], t)
        previous = (t, current)
    return windows
