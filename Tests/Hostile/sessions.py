"""Sign-in and sign-out, each case on a session of its own.

Sign-in is throttled (5 failures per user name or per address in 15 minutes), which would turn
every case after the fifth into a throttle refusal and hide what the field itself does. So each
case comes from its own address (X-Forwarded-For, believed because the server runs with
--trusted-proxies 127.0.0.1) and the user names rotate over a pool of users made for this,
each kept under the limit.
"""

from client import Client, encode_pairs, same_origin_path
from corpus import Case, REPEATED, INVALID_UTF8, describe, value_cases, MAX_BODY
from formcases import decoded
from html_forms import parse_forms
import checks
import rules as R

STATS = {"sign-in cases": 0, "sign-out cases": 0}

LOGIN_RULES = {
    "_csrf": R.CSRF,
    "username": R.Never("the user's name"),
    "password": R.Never("the user's password"),
    "next": R.Advisory("next: an unsafe path falls back to the dashboard"),
}


class LoginPool:
    def __init__(self, world, size=6):
        self.world = world
        self.users = [list(world.make_user(role="viewer", prefix="hostile-login")[1:]) + [0] for _ in range(size)]
        self.address = 0

    def user(self):
        """A (username, password) with fewer than 4 failures so far."""
        for entry in self.users:
            if entry[2] < 4:
                return entry
        entry = list(self.world.make_user(role="viewer", prefix="hostile-login")[1:]) + [0]
        self.users.append(entry)
        return entry

    def next_address(self):
        self.address += 1
        return f"10.66.{self.address // 250 % 250}.{self.address % 250 + 1}"


def signed_in(client):
    response = client.get("/settings/tokens", follow=False)
    return response.status == 200


def login_form_fields(world):
    anonymous = Client(world.base)
    page = anonymous.get("/login")
    forms = [f for f in parse_forms(page.text, "/login") if f.path == "/login" and f.method == "POST"]
    assert forms, f"no sign-in form on /login (status {page.status})"
    return forms[0].field_names()


def run_login_field(world, pool, field):
    failures = []
    cases = [(c, None) for c in value_cases(MAX_BODY - 2048)]
    cases.append((Case("repeated", REPEATED, None), None))
    for case, _ in cases:
        entry = pool.user()
        username, password = entry[0], entry[1]
        client = Client(world.base)
        page = client.get("/login")
        form = [f for f in parse_forms(page.text, "/login") if f.path == "/login" and f.method == "POST"][0]
        baseline = dict(form.defaults())
        baseline.update(username=username, password=password)
        base = baseline.get(field, "")
        if case.category == REPEATED:
            values = {"username": [username, username + "x"], "password": [password, password + "x"],
                      "_csrf": [base, "x" + base[1:]], "next": ["/models", "/docs"]}.get(field, [base, base + "x"])
        else:
            values = [case.value(base)]
        pairs = []
        for name, value in baseline.items():
            if name == field:
                pairs += [(name, v) for v in values]
            else:
                pairs.append((name, value))
        rule = LOGIN_RULES.get(field, R.Unknown())
        valid = rule.advisory if case.category in (REPEATED, INVALID_UTF8) else rule.valid(decoded(values[0]), baseline)
        where = f"POST /login field {field!r} = {case.label} {describe(values if len(values) > 1 else values[0])}"
        STATS["sign-in cases"] += 1
        before = world.db.fingerprint()
        response = client.post("/login", encode_pairs(pairs), headers={"X-Forwarded-For": pool.next_address()})
        problems = []
        followed = None
        if response.status >= 500:
            problems.append(f"status {response.status}")
        big = checks.oversized_head(response)
        if big:
            problems.append(big)
        if 300 <= response.status < 400:
            why = checks.unsafe_location(response.location)
            if why:
                problems.append(f"{why}: {response.location!r}")
            target = same_origin_path(response.location, world.base)
            if target:
                followed = client.get(target)
        now_signed_in = signed_in(client)
        after = world.db.fingerprint()
        page_text = followed.text if followed is not None else response.text
        flash = checks.flash(page_text)
        if not valid:
            if now_signed_in or before != after:
                problems.append("signed in (or changed the database) with input its rule refuses: " + " | ".join(before.diff(after)))
            elif not (400 <= response.status < 500 or flash):
                problems.append(f"no refusal shown (status {response.status})")
            if field == "password" and not now_signed_in:
                entry[2] += 1   # a failure recorded against this user name
        if problems:
            failures.append(f"{where} [rule: {rule}; expected {'valid' if valid else 'refused'}]: " + "; ".join(problems)
                            + f" (status {response.status} -> {response.location}" + (f", flash {flash}" if flash else "") + ")")
    return failures


def run_logout(world):
    """The sign-out form's only field is the CSRF token: every hostile value must leave the
    session signed in and the database as it was."""
    failures = []
    client = Client(world.base).sign_in(world.username, world.password)
    cases = [(c, None) for c in value_cases(MAX_BODY - 2048)] + [(Case("repeated", REPEATED, None), None)]
    for case, _ in cases:
        if not signed_in(client):
            client = Client(world.base).sign_in(world.username, world.password)
        page = client.get("/")
        form = [f for f in parse_forms(page.text, "/") if f.path == "/logout" and f.method == "POST"][0]
        token = dict(form.defaults())["_csrf"]
        values = [token, "x" + token[1:]] if case.category == REPEATED else [case.value(token)]
        pairs = [(k, v) for k, v in form.defaults() if k != "_csrf"] + [("_csrf", v) for v in values]
        where = f"POST /logout field '_csrf' = {case.label} {describe(values if len(values) > 1 else values[0])}"
        STATS["sign-out cases"] += 1
        before = world.db.fingerprint()
        response = client.post("/logout", encode_pairs(pairs))
        problems = []
        if response.status >= 500:
            problems.append(f"status {response.status}")
        still = signed_in(client)
        after = world.db.fingerprint()
        if not still or before != after:
            problems.append("signed out (or changed the database) with a CSRF token that is not the session's: "
                            + " | ".join(before.diff(after)))
        elif not 400 <= response.status < 500:
            followed = client.get(same_origin_path(response.location, world.base) or "/") if 300 <= response.status < 400 else response
            if not checks.flash(followed.text):
                problems.append(f"no refusal shown (status {response.status})")
        if problems:
            failures.append(f"{where} [rule: {R.CSRF}; expected refused]: " + "; ".join(problems) + f" (status {response.status})")
    return failures
