"""Every page of the app in every state a user can meet: empty, populated, filtered to nothing,
each job and deployment status, refused forms with field messages, flash messages, 403 and
404. Collected once from the running servers (with cookies where a state needs them) and shared
by the HTML validation and accessibility tests."""

import re
import time
import urllib.parse

from support import BASE, EMPTY, VIEWER, Client, create_job, hrefs, model_paths


class Page:
    def __init__(self, name, url, response, browsable=True):
        self.name = name
        self.url = url              # absolute URL; a GET of it shows this state again
        self.status = response.status
        self.html = response.text
        self.browsable = browsable  # False: the state needs a POST first (flash, refused form, 403)

    def __repr__(self):
        return f"<{self.name} {self.status} {self.url}>"


def _path(url):
    parsed = urllib.parse.urlparse(url)
    return parsed.path + (("?" + parsed.query) if parsed.query else "")


class Collector:
    def __init__(self):
        self.pages = []

    def get(self, client, name, path, expect=200):
        response = client.get(path)
        assert response.status == expect, f"{name}: GET {path} answered {response.status}, not {expect}"
        self.pages.append(Page(name, client.base + path, response))
        return response

    def add(self, client, name, response, expect=200, flash=False, errors=False):
        """Keeps the page a POST led to (after its 303); it shows a flash, field errors or both."""
        assert response.status == expect, f"{name}: answered {response.status}, not {expect}"
        if flash:
            assert 'class="flash ' in response.text, f"{name}: no flash on {response.url}"
        if errors:
            assert 'aria-invalid="true"' in response.text, f"{name}: no field errors on {response.url}"
        self.pages.append(Page(name, response.url, response, browsable=False))
        return response


def collect():
    c = Collector()
    user = Client(BASE)

    # Dashboard, models, docs.
    c.get(user, "dashboard", "/")
    models = c.get(user, "models", "/models")
    models_shown = model_paths(models.text)
    for path in models_shown[:2]:
        c.get(user, f"model {path}", path)
    c.get(user, "model form", "/models/new")
    c.get(user, "model edit form", models_shown[0] + "/edit")
    refused = user.submit("/models", {"name": "", "slug": "Not A Slug", "parameters": "lots", "context_length": "12",
                                      "card": "kept"}, token_from="/models/new")
    c.add(user, "model form refused", refused, flash=True, errors=True)
    # A model a job links to: it has a job, so Delete is refused and the demo data stays whole.
    trained = model_paths(user.get("/training/jobs").text)[0]
    in_use = user.submit(trained + "/delete", {"return_to": trained}, token_from=trained)
    assert "can&#39;t be deleted" in in_use.text, "the model of a job is never deleted"
    c.add(user, "model delete refused", in_use, flash=True)
    docs = c.get(user, "docs index", "/docs")
    for path in hrefs(docs.text, r"/docs/[a-z0-9-]+"):
        c.get(user, f"doc {path}", path)

    # Training: list states, the form, every job status.
    c.get(user, "jobs", "/training/jobs")
    c.get(user, "jobs filtered and sorted", "/training/jobs?status=complete&status=failed&sort=name&dir=asc")
    c.get(user, "jobs matching nothing", "/training/jobs?q=no-such-job-anywhere")
    c.get(user, "configure", "/training/configure")
    c.get(user, "configure with a model chosen", "/training/configure?" + urllib.parse.urlencode(
        {"model": models_shown[0].rsplit("/", 1)[1]}))
    refused = user.submit("/training/jobs", {"name": "", "model": "", "epochs": "0",
                                             "learning_rate": "5", "batch_size": "7", "notes": ""})
    c.add(user, "configure refused", refused, flash=True, errors=True)
    jobs = {}
    for status in ("queued", "complete", "failed"):
        found = hrefs(user.get(f"/training/jobs?status={status}").text, r"/training/jobs/\d+")
        assert found, f"the demo data has no {status} job"
        jobs[status] = found
        c.get(user, f"monitor {status}", found[0])
    running = create_job(user, "validation-running", epochs=100, start=True)
    c.get(user, "monitor running", running)
    stopped = user.submit(running + "/stop", {"return_to": running}, token_from=running)
    c.add(user, "monitor stopped with flash", stopped, flash=True)

    # Deployments: the table in its states, the form, every deployment status.
    c.get(user, "deployments", "/deployments")
    c.get(user, "deployments filtered and sorted", "/deployments?status=active&status=paused&sort=p95&dir=desc")
    c.get(user, "deployments matching nothing", "/deployments?q=no-such-deployment")
    c.get(user, "deployments past the last page", "/deployments?page=999")
    c.get(user, "deploy form", f"/deployments/new?job_id={jobs['complete'][0].rsplit('/', 1)[1]}")
    c.get(user, "deploy form for a job not complete",
          f"/deployments/new?job_id={jobs['queued'][0].rsplit('/', 1)[1]}")
    complete_id = jobs["complete"][0].rsplit("/", 1)[1]
    refused = user.submit("/deployments", {"job_id": complete_id, "from": "form", "name": "bad name!",
                                           "replicas": "0", "cpu": "99", "memory_mb": "1",
                                           "gpu": "9", "storage_gb": "0"},
                          token_from=f"/deployments/new?job_id={complete_id}")
    c.add(user, "deploy form refused", refused, flash=True, errors=True)

    by_status = {}
    for path in hrefs(user.get("/deployments?per=100").text, r"/deployments/\d+"):
        html = user.get(path).text
        status = re.search(r'<dt>Status</dt><dd><span class="badge badge-\w+">.*?</svg>(\w+)</span>', html)
        by_status.setdefault(status.group(1).lower() if status else "unknown", path)
    for number in range(1, 30):  # a deleted one is not in the table
        response = user.get(f"/deployments/{number}")
        if response.status == 200 and "deleted-notice" in response.text:
            by_status["deleted"] = f"/deployments/{number}"
            break
    for status in ("active", "paused", "failed", "deleted"):
        assert status in by_status, f"the demo data has no {status} deployment ({by_status})"
        c.get(user, f"deployment {status}", by_status[status])
    detail = user.get(by_status["active"]).text
    for path in hrefs(detail, re.escape(by_status["active"]) + r"\?range=\w+")[:1]:
        c.get(user, f"deployment other range", path)
    refused = user.submit(by_status["active"] + "/scale", {"replicas": "0"}, token_from=by_status["active"])
    c.add(user, "deployment scale refused", refused, flash=True, errors=True)
    # The lifecycle forms refused and used, and the live-at and attention views.
    active = by_status["active"]
    refused = user.submit(active + "/configure", {"replicas": "2", "cpu": "99", "memory_mb": "lots", "gpu": "1",
                                                  "storage_gb": "20"}, token_from=active)
    c.add(user, "deployment configure refused", refused, flash=True, errors=True)
    refused = user.submit(active + "/guardrails", {"metric": "p42", "threshold": "-1", "minutes": "0", "action": "explode"},
                          token_from=active)
    c.add(user, "deployment guardrail refused", refused, flash=True, errors=True)
    added = user.submit(active + "/guardrails", {"metric": "p95", "threshold": "500", "minutes": "5", "action": "flag"},
                        token_from=active)
    c.add(user, "deployment with a guardrail", added, flash=True)
    c.get(user, "deployment failed with its reason", by_status["failed"])
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    c.get(user, "model live at", models_shown[0] + "?" + urllib.parse.urlencode({"live_at": now}))
    c.get(user, "model live at unreadable", models_shown[0] + "?live_at=yesterday")
    c.get(user, "deployments live at", "/deployments?" + urllib.parse.urlencode({"live_at": now}))
    c.get(user, "deployments live at unreadable", "/deployments?live_at=2026-11-30T14:00")
    c.get(user, "deployments needing attention", "/deployments?attention=1")

    # A fresh deployment: the table with its flash, and its detail while replicas start.
    for job in jobs["complete"]:
        job_id = job.rsplit("/", 1)[1]
        deployed = user.submit("/deployments", {"job_id": job_id}, token_from=job)
        if "Deploying" in deployed.text:
            c.add(user, "deployments with flash", deployed, flash=True)
            newest = hrefs(user.get("/deployments?sort=created&dir=desc").text, r"/deployments/\d+")[0]
            c.get(user, "deployment just deployed", newest)
            break

    # Accounts, tokens, users and the audit trail.
    anonymous = Client(BASE, user=None)
    c.get(anonymous, "sign-in", "/login")
    refused = anonymous.submit("/login", {"username": "browser-admin", "password": "not the password"}, token_from="/login")
    c.add(anonymous, "sign-in refused", refused, flash=True)
    c.get(user, "tokens", "/settings/tokens")
    created = user.submit("/settings/tokens", {"name": "validator", "expires_in_days": "30"}, token_from="/settings/tokens")
    assert 'id="new-token"' in created.text, "the new token is shown"
    c.add(user, "tokens with a new secret", created, flash=True)
    refused = user.submit("/settings/tokens", {"name": "", "expires_in_days": "30"}, token_from="/settings/tokens")
    c.add(user, "tokens refused", refused, flash=True, errors=True)
    c.get(user, "users", "/settings/users")
    refused = user.submit("/settings/users", {"username": "Bad Name", "display_name": "", "role": "viewer", "password": "short"},
                          token_from="/settings/users")
    c.add(user, "users refused", refused, flash=True, errors=True)
    c.get(user, "audit", "/audit")
    c.get(user, "audit filtered", "/audit?actor=browser-admin&action=token.create")
    c.get(user, "audit matching nothing", "/audit?since=2999-01-01")
    c.get(user, "audit with a bad time", "/audit?since=yesterday")
    viewer = Client(BASE, user=VIEWER)
    c.get(viewer, "dashboard as a viewer", "/")
    c.get(viewer, "deployment as a viewer", by_status["active"])
    c.get(viewer, "403 not allowed", "/settings/users", expect=403)

    # Errors.
    c.get(user, "404 page", "/no-such-page", expect=404)
    c.get(user, "404 job", "/training/jobs/999999", expect=404)
    c.get(user, "404 deployment", "/deployments/999999", expect=404)
    expired = Client(BASE).post("/training/jobs", {"name": "x"})   # signed in, but no CSRF token
    c.add(user, "403 form expired", expired, expect=403)

    # An empty installation.
    if EMPTY:
        empty = Client(EMPTY)
        for name, path in (("dashboard", "/"), ("models", "/models"), ("jobs", "/training/jobs"),
                           ("configure", "/training/configure"), ("deployments", "/deployments"),
                           ("model form", "/models/new")):
            c.get(empty, f"empty {name}", path)

    return c.pages
