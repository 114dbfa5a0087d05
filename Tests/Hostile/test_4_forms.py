"""Every POST form the crawl found, every field, the whole corpus (see formcases.py); and a
body over the limit for every form."""

from conftest import run_cases, world
from formcases import over_limit_body, run_field


def test_form_field(form_field):
    target, field = form_field
    w = world()
    problem = target.check_baseline(w.admin, w.db)
    assert problem is None, problem
    run_cases(f"{target.id} field {field}", lambda: run_field(target, field, w.admin, w.db))


def test_form_body_over_limit(form_target):
    w = world()
    before = w.db.fingerprint()

    def check():
        failures = []
        message = over_limit_body(form_target, w.admin)
        if message:
            failures.append(message)
        after = w.db.fingerprint()
        if before != after:
            failures.append(f"POST {form_target.form.path} over the body limit changed the database: " + " | ".join(before.diff(after)))
        return failures

    run_cases(f"{form_target.id} over-limit body", check)
