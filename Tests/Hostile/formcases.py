"""Submits one form with one field replaced by each corpus value (the other fields at their
baseline), and judges each answer:

- never a 5xx, never a dropped connection, never internals in the page, redirects same-site;
- a value the field's rule refuses: a 4xx, or a redirect to a page with a flash (or a field's
  error), and the fingerprint of the database unchanged;
- a value the rule accepts: any of those, or the change it asks for.
"""

from client import Raw, ServerDown, encode_pairs, same_origin_path
from corpus import CONTROL, INVALID_UTF8, MAX_BODY, REPEATED, Case, describe, value_cases
import checks
import rules as R

STATS = {"form cases": 0}


def decoded(value):
    """The text the server's rules see for a Raw value (invalid UTF-8 becomes U+FFFD)."""
    if isinstance(value, Raw):
        import urllib.parse
        return urllib.parse.unquote_to_bytes(value.text).decode("utf-8", errors="replace")
    return value


class Outcome:
    def __init__(self):
        self.failures = []

    def fail(self, message):
        self.failures.append(message)


def pairs_with(baseline, field, values):
    """The baseline with every occurrence of `field` replaced by `values` (in its first place)."""
    out, placed = [], False
    for name, value in baseline:
        if name == field:
            if not placed:
                out.extend((field, v) for v in values)
                placed = True
            continue
        out.append((name, value))
    if not placed:
        out.extend((field, v) for v in values)
    return out


def cases_for(target, field, baseline):
    others = encode_pairs([(k, v) for k, v in baseline if k != field])
    budget = MAX_BODY - len(others) - 3 * len(field) - 64
    base = dict(baseline).get(field, "")
    rule = target.rule(field)
    alternatives = [a for a in rule.alternatives(base, target.world.n()) if a is not None]
    # Control characters and invalid UTF-8 are appended to a valid value that differs from the
    # saved one: a server that cuts the value short at the bad byte then saves a change, which
    # the fingerprint sees (appended to the saved value itself, the cut value would change nothing).
    # A fresh one for each case: the same prefix twice would make the second case a resubmission
    # of what the first saved (or collide on a slug made from it), and prove nothing.
    def prefix():
        if isinstance(rule, R.Never):
            return base
        fresh = [a for a in rule.alternatives(base, target.world.n()) if a is not None]
        return fresh[0] if fresh else base
    out = [(c, [c.value(prefix() if c.category in (CONTROL, INVALID_UTF8) else base)]) for c in value_cases(budget)]
    if not target.form.multi_valued(field):
        if len(alternatives) < 2:
            alternatives = (alternatives + [base])[:2]
        out.append((Case("repeated", REPEATED, None), alternatives))
    return out


def run_field(target, field, client, db):
    """Every corpus case for `field` of `target`; returns the failure messages."""
    outcome = Outcome()
    for case, values in cases_for(target, field, target.baseline()):
        baseline = target.baseline()  # fresh fill-ins (names) for each submission
        run_case(target, field, case, values, baseline, client, db, outcome)
    return outcome.failures


def expected_valid(target, field, case, values, baseline):
    rule = target.rule(field)
    context = dict(baseline)
    if case.category in (REPEATED, INVALID_UTF8):
        # Never valid (see rules.py), unless the field is advisory or ignored in this variant.
        return rule.advisory or (isinstance(rule, R.UnlessScraped) and rule.ignored(context))
    return rule.valid(decoded(values[0]), context)


def healthy(client):
    """Whether a fresh connection still gets an answer from the server."""
    from client import Client
    try:
        return Client(client.base).get("/healthz", follow=False).status == 200
    except ServerDown:
        return False


def run_case(target, field, case, values, baseline, client, db, outcome):
    STATS["form cases"] += 1
    pairs = pairs_with(baseline, field, values)
    body = encode_pairs(pairs)
    where = f"POST {target.form.path} field {field!r} = {case.label} {describe(values if len(values) > 1 else values[0])}"
    if target.variant_name != "defaults":
        where += f" (baseline {target.variant_name})"
    if len(body) > MAX_BODY:
        outcome.fail(f"{where}: the test built a {len(body)}-byte body, over the limit (a bug in the suite)")
        return
    valid = expected_valid(target, field, case, values, baseline)
    before = db.fingerprint()
    try:
        response = client.post(target.form.path, body)
    except ServerDown as error:
        if not healthy(client):
            outcome.fail(f"{where}: no answer, and the server is down ({error})")
            raise
        outcome.fail(f"{where}: the server dropped the connection without an answer ({error})")
        return
    followed = None
    problems = []
    if response.status >= 500:
        problems.append(f"status {response.status}")
    big = checks.oversized_head(response)
    if big:
        problems.append(big)
    leaked = checks.leaks(response)
    if leaked:
        problems.append(f"internals in the response ({', '.join(leaked)})")
    if 300 <= response.status < 400:
        why = checks.unsafe_location(response.location)
        if why:
            problems.append(f"{why}: {response.location!r}")
        target_path = same_origin_path(response.location, client.base)
        if target_path:
            followed = client.get(target_path, follow=True)
            if followed.status >= 500:
                problems.append(f"the page it redirects to ({target_path}) answers {followed.status}")
            shown = set(checks.leaks(followed))
            if shown:
                # Only what the flash added: the page itself may quote such words (the docs do).
                shown -= set(checks.leaks(client.get(target_path, follow=True)))
                if shown:
                    problems.append(f"internals in the page it redirects to ({', '.join(sorted(shown))})")
    after = db.fingerprint()
    changed = before != after
    page = followed.text if followed is not None else response.text
    flash = checks.flash(page) if page else None
    refused_shown = 400 <= response.status < 500 or flash is not None or bool(checks.field_errors(page))
    if not valid:
        if changed:
            problems.append("accepted: the database changed after input its rule refuses: " + " | ".join(before.diff(after)))
        elif not refused_shown:
            problems.append(f"no refusal shown (status {response.status}, no flash, no field error)")
    elif changed and isinstance(target.rule(field), R.Text) and case.category != REPEATED and not isinstance(values[0], Raw):
        # Accepted text must be stored as the rule says (trimmed), not cut short or altered.
        expected = target.rule(field).normalized(values[0])
        if expected and not any(expected in cell for cell in before.added_cells(after)):
            problems.append(f"accepted, but stored as something else: no changed row holds {describe(expected)}")
    if problems:
        detail = f"status {response.status}"
        if response.location:
            detail += f" -> {response.location}"
        if flash:
            detail += f", flash {flash[0]}: {flash[1][:160]!r}"
        outcome.fail(f"{where} [rule: {target.rule(field)}; expected {'valid' if valid else 'refused'}]: "
                     + "; ".join(problems) + f" ({detail})")
    if changed:
        target.after_accept()


def over_limit_body(target, client):
    """A body one byte over the limit: 413 before it is read, nothing changed."""
    from client import raw_exchange
    STATS["form cases"] += 1
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (f"POST {target.form.path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {MAX_BODY + 1}\r\n"
            f"Cookie: {cookie}\r\nConnection: close\r\n\r\n").encode()
    status, raw = raw_exchange(client.host, client.port, head + b"_csrf=x&" + b"a" * 4096, timeout=15)
    if status != 413:
        return f"POST {target.form.path} with Content-Length {MAX_BODY + 1} (one byte over the limit): status {status}, expected 413 ({raw[:120]!r})"
    return None
