"""The state the hostile cases run against: a signed-in admin, the database fingerprint, fresh
objects made through the app's own forms (so destructive forms never touch the demo data or
the admin), the crawled surface, and one target per distinct form.

A form's *shape* is (method, path pattern, field names): the Pause button of every deployment
is one shape, the one-click Deploy button and the full deploy form are two. Each shape is
tested once, on one instance, preferring an instance on an object made here.
"""

import itertools
import re
import time
import urllib.parse

from client import Client, encode_pairs, same_origin_path
from crawl import crawl
from fingerprint import Database
from html_forms import parse_forms, path_pattern
import rules as R

PASSWORD_SUFFIX = " is long enough"


class SetupError(AssertionError):
    pass


class World:
    def __init__(self, base, username, password, db_path):
        self.base = base
        self.username, self.password = username, password
        self.admin = Client(base).sign_in(username, password)
        self.db = Database(db_path)
        # Numbers for names, unique across runs against one server (a developer's own instance).
        self._n = itertools.count(int(time.time()) % 100_000 * 10_000 + 1)
        self.objects = {}           # what provision() made, by role
        self.surface = None
        self.targets = []

    def n(self):
        return next(self._n)

    # -- forms as a person fills them in

    def find_form(self, page, action_path, client=None, names=None):
        client = client or self.admin
        response = client.get(page)
        if response.status != 200:
            raise SetupError(f"GET {page}: {response.status}")
        for form in parse_forms(response.text, page):
            if form.path == action_path and form.method == "POST" and (names is None or set(names) <= set(form.field_names())):
                return form
        raise SetupError(f"no form posting to {action_path} on {page}")

    def submit(self, page, action_path, overrides=None, client=None, names=None):
        """Fills in the form posting to `action_path` on `page` (its defaults, then `overrides`),
        posts it, and returns (response, the page the redirect leads to or None)."""
        client = client or self.admin
        form = self.find_form(page, action_path, client, names)
        pairs = [(k, v) for k, v in form.defaults() if k not in (overrides or {})]
        pairs += list((overrides or {}).items())
        response = client.post(form.path, encode_pairs(pairs))
        followed = None
        if response.status == 303:
            target = same_origin_path(response.location, self.base)
            if target:
                followed = client.get(target)
        return response, followed

    def _expect_success(self, what, response, followed):
        ok = response.status == 303 and followed is not None and 'class="flash flash-success"' in followed.text
        if not ok:
            detail = ""
            if followed is not None:
                m = re.search(r'<div class="flash[^>]*>.*?<p>(.*?)</p>', followed.text, re.S)
                detail = m.group(1) if m else ""
            raise SetupError(f"{what}: status {response.status} -> {response.location}: {detail}")

    # -- fresh objects

    def make_model(self):
        n = self.n()
        name = f"Hostile Victim {n}"
        response, followed = self.submit("/models/new", "/models", {"name": name, "parameters": "350M"})
        self._expect_success("creating a model", response, followed)
        slug = urllib.parse.urlsplit(response.location).path.rsplit("/", 1)[1]
        self.objects["model_id"] = self.db.query("SELECT id FROM models WHERE slug = ?", (slug,))[0][0]
        return slug

    def demo_model(self):
        form = self.find_form("/training/configure", "/training/jobs")
        # A demo model: the one made here is edited and deleted by the cases.
        options = [o for o in form.field("model").options if o and not o.startswith("hostile-")]
        if not options:
            raise SetupError("no model in the catalogue to train")
        return options[0]

    def make_job(self, start=False, epochs=1):
        n = self.n()
        response, followed = self.submit("/training/configure", "/training/jobs", {
            "name": f"hostile job {n}", "model": self.demo_model(), "epochs": str(epochs)})
        self._expect_success("creating a job", response, followed)
        job_id = int(urllib.parse.urlsplit(response.location).path.rsplit("/", 1)[1])
        if start:
            page = f"/training/jobs/{job_id}"
            response, followed = self.submit(page, f"{page}/start")
            self._expect_success("starting a job", response, followed)
        return job_id

    def job_status(self, job_id):
        rows = self.db.query("SELECT status FROM training_jobs WHERE id = ?", (job_id,))
        return rows[0][0] if rows else None

    def make_completed_job(self, timeout=30):
        for _ in range(3):
            job_id = self.make_job(start=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                status = self.job_status(job_id)
                if status in ("complete", "failed"):
                    break
                time.sleep(0.1)
            if self.job_status(job_id) == "complete":
                return job_id
        raise SetupError("no training job completed (is the server running with --sim-speed 1000?)")

    def live_deployment_of(self, job_id):
        rows = self.db.query("SELECT id FROM deployments WHERE job_id = ? AND deleted_at IS NULL "
                             "AND status IN ('deploying', 'active', 'paused') ORDER BY id DESC", (job_id,))
        return rows[0][0] if rows else None

    def deploy(self, job_id):
        response, followed = self.submit(f"/deployments/new?job_id={job_id}", "/deployments", names=["from"])
        self._expect_success(f"deploying job {job_id}", response, followed)
        dep = self.live_deployment_of(job_id)
        if dep is None:
            raise SetupError(f"deploying job {job_id} made no live deployment")
        return dep

    def delete_deployment(self, dep_id):
        page = f"/deployments/{dep_id}"
        response, followed = self.submit(page, f"{page}/delete")
        self._expect_success(f"deleting deployment {dep_id}", response, followed)

    def wait_for_status(self, dep_id, statuses, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.db.query("SELECT status, rollout_revision FROM deployments WHERE id = ?", (dep_id,))
            if rows and rows[0][0] in statuses and rows[0][1] is None:
                return rows[0][0]
            time.sleep(0.1)
        return None

    def ensure_live_deployment(self, target):
        """Points a deployment form at the deployment made here, deploying it again when an
        earlier case deleted or replaced it (a rollback to another version replaces it)."""
        o = self.objects
        rows = self.db.query("SELECT status, deleted_at FROM deployments WHERE id = ?", (o["deployment"],))
        if not rows or rows[0][1] is not None or rows[0][0] not in ("active", "deploying", "paused"):
            o["deployment"] = self.live_deployment_of(o["dep_job"]) or self.deploy(o["dep_job"])
            self.wait_for_status(o["deployment"], ("active",))
        dep = str(o["deployment"])
        if target.form.path.split("/")[2] != dep:
            page = f"/deployments/{dep}"
            action = "/".join(target.form.path.split("/")[:2] + [dep] + target.form.path.split("/")[3:])
            if "/guardrails/" in action:
                o["guardrail"] = self.add_guardrail(o["deployment"])
                action = f"/deployments/{dep}/guardrails/{o['guardrail']}/delete"
            _prefer(target, page, action)

    def make_token(self):
        n = self.n()
        response, followed = self.submit("/settings/tokens", "/settings/tokens", {"name": f"hostile victim token {n}"})
        self._expect_success("creating a token", response, followed)
        rows = self.db.query("SELECT id FROM api_tokens WHERE name = ?", (f"hostile victim token {n}",))
        return rows[0][0]

    def make_user(self, role="operator", prefix="hostile-victim"):
        n = self.n()
        username = f"{prefix}-{n}"
        password = f"password of {username}{PASSWORD_SUFFIX}"
        response, followed = self.submit("/settings/users", "/settings/users",
                                         {"username": username, "password": password, "role": role})
        self._expect_success("creating a user", response, followed)
        user_id = self.db.query("SELECT id FROM users WHERE username = ?", (username,))[0][0]
        return user_id, username, password

    def disable_user(self, user_id):
        response, followed = self.submit("/settings/users", f"/settings/users/{user_id}/disable")
        self._expect_success("disabling a user", response, followed)

    def add_guardrail(self, dep_id):
        page = f"/deployments/{dep_id}"
        response, followed = self.submit(page, f"{page}/guardrails", {"threshold": "900000", "action": "flag"})
        self._expect_success("adding a guardrail", response, followed)
        return self.db.query("SELECT max(id) FROM deployment_guardrails WHERE deployment_id = ?", (dep_id,))[0][0]

    def make_reported_run(self):
        """A run logged through the MLflow tracking API without a base model: its page offers
        the base-model form. Basic auth with the admin's name and password, as MLflow's client does."""
        import base64
        import json
        n = self.n()
        auth = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        body = json.dumps({"experiment_id": "0", "run_name": f"hostile run {n}"}).encode()
        response = Client(self.base).request("POST", "/api/2.0/mlflow/runs/create", body=body, cookies=False,
                                             headers={"Content-Type": "application/json", "Authorization": auth})
        if response.status != 200:
            raise SetupError(f"creating an MLflow run: {response.status} {response.text[:200]}")
        run_id = json.loads(response.text)["run"]["info"]["run_id"]
        return self.db.query("SELECT id FROM training_jobs WHERE run_uuid = ?", (run_id,))[0][0]

    def provision(self):
        o = self.objects
        o["model"] = self.make_model()                      # edit and delete forms
        o["queued_job"] = self.make_job()                   # start and stop
        o["deploy_job"] = self.make_completed_job()         # the deploy forms (kept undeployed)
        o["dep_job"] = self.make_completed_job()
        o["deployment"] = self.deploy(o["dep_job"])         # every deployment form
        self.wait_for_status(o["deployment"], ("active",))
        page = f"/deployments/{o['deployment']}"
        # A second revision, so the revision rollback form exists.
        response, followed = self.submit(page, f"{page}/configure", {"replicas": "3"})
        self._expect_success("configuring the deployment", response, followed)
        self.wait_for_status(o["deployment"], ("active",))
        o["guardrail"] = self.add_guardrail(o["deployment"])
        o["token"] = self.make_token()
        o["user"] = self.make_user()[0]                     # role, password and disable
        o["disabled_user"] = self.make_user()[0]            # enable
        self.disable_user(o["disabled_user"])
        o["reported_job"] = self.make_reported_run()         # the base-model form

    def preferred(self):
        """Strings that mark a form instance as being on an object made here."""
        o = self.objects
        return {
            "/models/{slug}": o["model"], "/training/jobs/{id}": str(o["queued_job"]),
            "/deployments/{id}": str(o["deployment"]), "/settings/tokens/{id}": str(o["token"]),
            "/settings/users/{id}": str(o["user"]), "job_id": str(o["deploy_job"]),
        }

    def discover(self):
        o = self.objects
        extra = ["/login", f"/deployments/{o['deployment']}", f"/deployments/new?job_id={o['deploy_job']}",
                 f"/training/jobs/{o['queued_job']}", f"/models/{o['model']}", f"/models/{o['model']}/edit",
                 "/settings/users", "/settings/tokens", f"/training/jobs/{o['reported_job']}"]
        self.surface = crawl(self.admin, extra=extra)
        self.targets = choose_targets(self)
        return self.surface


# -- targets

DESTRUCTIVE = re.compile(r"/(delete|revoke|disable)$")
STATEFUL = re.compile(r"/(start|stop|pause|resume|retry|rollback|role|password|enable)$")


def rank(pattern):
    if pattern in ("/logout", "/login"):
        return 3
    if DESTRUCTIVE.search(pattern):
        return 2
    if STATEFUL.search(pattern):
        return 1
    return 0


# Values put into fields a form leaves empty but requires, so the baseline submission is valid
# and a refusal can only come from the field under test. {n} is a fresh number per submission.
FILL_INS = {
    ("/training/jobs", "name"): "hostile job {n}",
    ("/models", "name"): "Hostile Model {n}",
    ("/models", "parameters"): "350M",
    ("/settings/tokens", "name"): "hostile token {n}",
    ("/settings/users", "username"): "hostile-user-{n}",
    ("/settings/users", "password"): "hostile password {n} is long enough",
    ("/settings/users/{id}/password", "password"): "reset password {n} is long enough",
    ("/deployments/{id}/guardrails", "threshold"): "900000",
}

# More baselines for a form whose fields matter only in some states: the scrape settings count
# only for a scraped source (and the metric names only with the custom preset).
VARIANTS = {
    ("POST", "/deployments/{id}/source"): [
        {"source": "scraped", "target_url": "http://127.0.0.1:9/metrics", "interval_seconds": "15", "preset": "custom",
         "histogram": "request_latency_seconds", "requests_counter": "requests_total", "failure_counter": "request_failures_total",
         "error_matcher": ""},
        {"source": "scraped", "target_url": "http://127.0.0.1:9/metrics", "interval_seconds": "15", "preset": "custom",
         "histogram": "request_latency_seconds", "requests_counter": "requests_total", "failure_counter": "",
         "error_matcher": 'status=~"5.."'},
    ],
}


class Target:
    """One form shape to test: the instance used, its rules, its baseline, and how to keep it
    usable after a submission that was accepted."""

    def __init__(self, world, form, variant=None, variant_name="defaults"):
        self.world = world
        self.form = form
        self.method = form.method
        self.pattern = path_pattern(form.path)
        self.names = form.field_names()
        self.variant = variant or {}
        self.variant_name = variant_name
        self.rank = rank(self.pattern)
        self.accepted = 0
        self.baseline_problem = None   # checked once, before the first field (see check_baseline)
        self.baseline_checked = False

    @property
    def id(self):
        fields = ",".join(n for n in self.names if n != "_csrf")
        v = "" if self.variant_name == "defaults" else f" [{self.variant_name}]"
        return f"{self.method} {self.pattern} ({fields}){v}"

    def rule(self, field):
        return R.rule_for(self.method, self.pattern, field, self.form, self.world.db)

    def baseline(self):
        """The (name, value) pairs of a valid submission: the page's defaults, the variant, and a
        fill-in (with a fresh number) for each empty required field."""
        n = self.world.n()
        pairs = []
        for name, value in self.form.defaults():
            if name in self.variant:
                continue
            fill = FILL_INS.get((self.pattern, name))
            if fill and value == "":
                value = fill.format(n=n)
            control = self.form.field(name)
            if control is not None and control.kind == "select" and value == "" and any(control.options):
                value = next(o for o in control.options if o)
            rule = self.rule(name)
            if isinstance(rule, R.Lookup) and not rule.valid(value, {}):
                # The row the page offered is gone or renamed (a case changed the catalogue):
                # any that exists now, preferring the demo's own.
                value = rule.any(prefer_not_like="hostile-%") or value
            pairs.append((name, value))
        pairs += list(self.variant.items())
        return pairs

    def check_baseline(self, client, db):
        """Submits the baseline once: it must be accepted (or be "nothing to change"), or every
        refusal of a hostile value proves nothing. Forms whose submission is an action (pause,
        delete, …) are not submitted: their only fields are the token and return_to."""
        from client import same_origin_path
        import checks
        if self.baseline_checked:
            return self.baseline_problem
        self.baseline_checked = True
        if self.pattern.startswith("/deployments/{id}/"):
            self.world.ensure_live_deployment(self)
        # Earlier targets may have changed the object since the crawl: start from its page as it is.
        if not REFRESH.get(self.pattern):
            self.reload()
        if self.rank > 0:
            return None
        before = db.fingerprint()
        response = client.post(self.form.path, encode_pairs(self.baseline()))
        flash = None
        if response.status == 303:
            target = same_origin_path(response.location, client.base)
            if target:
                flash = checks.flash(client.get(target).text)
        changed = db.fingerprint() != before
        if response.status != 303 or (flash and flash[0] == "error") or (flash is None and not changed):
            self.baseline_problem = (f"the suite's baseline submission of {self.id} is refused (status {response.status}"
                                     f"{', flash ' + repr(flash) if flash else ''}), so refusals of hostile values would "
                                     f"prove nothing: fix FILL_INS or VARIANTS in Tests/Hostile/world.py")
        if changed:
            self.after_accept()
        return self.baseline_problem

    def after_accept(self):
        """Makes the target usable again after an accepted submission changed something."""
        self.accepted += 1
        refresh = REFRESH.get(self.pattern)
        if refresh:
            refresh(self)
        else:
            # The page's defaults now show the accepted change: submit those from here on,
            # so each later case differs from the saved state only in the field under test.
            self.reload()

    def reload(self, page=None, same_action=True):
        """Finds the same form again on its page (new defaults after a change): the one posting
        to the same action (a page such as /settings/users holds one per user), or with
        `same_action=False` any of the same shape (the page of a new object)."""
        page = page or self.form.page
        response = self.world.admin.get(page)
        if response.status != 200:
            return False
        for form in parse_forms(response.text, page):
            if same_action and form.path != self.form.path:
                continue
            if form.method == self.method and path_pattern(form.path) == self.pattern and form.field_names() == self.names:
                self.form = form
                return True
        return False


def _refresh_deploy(target):
    """An accepted deploy made a deployment of the kept job: delete it so the job can be
    deployed again by the next case."""
    w = target.world
    job = target.form.field("job_id")
    job_id = int(job.value) if job is not None and job.value.isdigit() else w.objects["deploy_job"]
    while (dep := w.live_deployment_of(job_id)) is not None:
        w.delete_deployment(dep)


def _refresh_model_edit(target):
    w = target.world
    # The accepted case may have changed the slug: follow the model by its id.
    rows = w.db.query("SELECT slug FROM models WHERE id = ?", (w.objects["model_id"],))
    w.objects["model"] = rows[0][0]
    target.reload(f"/models/{w.objects['model']}/edit", same_action=False)


def _refresh_model_delete(target):
    w = target.world
    w.objects["model"] = w.make_model()
    target.reload(f"/models/{w.objects['model']}", same_action=False)


def _refresh_token_revoke(target):
    w = target.world
    w.objects["token"] = w.make_token()
    _prefer(target, "/settings/tokens", f"/settings/tokens/{w.objects['token']}/revoke")


def _refresh_user_disable(target):
    w = target.world
    w.objects["user"] = w.make_user()[0]
    _prefer(target, "/settings/users", f"/settings/users/{w.objects['user']}/disable")


def _refresh_user_enable(target):
    w = target.world
    w.objects["disabled_user"] = w.make_user()[0]
    w.disable_user(w.objects["disabled_user"])
    _prefer(target, "/settings/users", f"/settings/users/{w.objects['disabled_user']}/enable")


def _refresh_deployment_delete(target):
    w = target.world
    w.objects["deployment"] = w.deploy(w.objects["dep_job"])
    target.reload(f"/deployments/{w.objects['deployment']}", same_action=False)


def _refresh_guardrail_delete(target):
    w = target.world
    dep = w.objects["deployment"]
    w.objects["guardrail"] = w.add_guardrail(dep)
    _prefer(target, f"/deployments/{dep}", f"/deployments/{dep}/guardrails/{w.objects['guardrail']}/delete")


def _refresh_guardrail_add(target):
    """A deployment takes at most 10 guardrails: remove the ones the cases added."""
    w = target.world
    dep = w.objects["deployment"]
    for (rule_id,) in w.db.query("SELECT id FROM deployment_guardrails WHERE deployment_id = ? AND id <> ?",
                                 (dep, w.objects["guardrail"])):
        page = f"/deployments/{dep}"
        w.submit(page, f"{page}/guardrails/{rule_id}/delete")


def _refresh_rollout(target):
    """An accepted scale or configure starts a rollout; until it settles every other change is
    refused ("a rollout is in progress"), which would hide what the next case does."""
    w = target.world
    dep = int(target.form.path.split("/")[2])
    w.wait_for_status(dep, ("active", "paused", "failed"), timeout=15)
    target.reload()


def _refresh_base_model(target):
    """A run takes its base model once: the next case needs a run without one."""
    w = target.world
    w.objects["reported_job"] = w.make_reported_run()
    page = f"/training/jobs/{w.objects['reported_job']}"
    _prefer(target, page, f"{page}/base-model")


def _refresh_rollback(target):
    """A rollback to another version deploys that version's job and pauses this deployment once
    the new one serves; resume it, so the next case has a serving deployment to roll back."""
    w = target.world
    dep = int(target.form.path.split("/")[2])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and w.db.query("SELECT 1 FROM deployments WHERE replaces_id = ?", (dep,)):
        time.sleep(0.1)
    w.wait_for_status(dep, ("active", "paused", "failed"), timeout=15)
    if w.db.query("SELECT status FROM deployments WHERE id = ?", (dep,))[0][0] == "paused":
        page = f"/deployments/{dep}"
        w.submit(page, f"{page}/resume")
        w.wait_for_status(dep, ("active",), timeout=15)
    target.reload()


def _prefer(target, page, action):
    response = target.world.admin.get(page)
    for form in parse_forms(response.text, page):
        if form.path == action and form.method == "POST" and form.field_names() == target.names:
            target.form = form
            return True
    return False


REFRESH = {
    "/deployments": _refresh_deploy,
    "/models/{slug}": _refresh_model_edit,
    "/models/{slug}/delete": _refresh_model_delete,
    "/settings/tokens/{id}/revoke": _refresh_token_revoke,
    "/settings/users/{id}/disable": _refresh_user_disable,
    "/settings/users/{id}/enable": _refresh_user_enable,
    "/deployments/{id}/delete": _refresh_deployment_delete,
    "/deployments/{id}/guardrails/{rule}/delete": _refresh_guardrail_delete,
    "/deployments/{id}/guardrails": _refresh_guardrail_add,
    "/deployments/{id}/configure": _refresh_rollout,
    "/deployments/{id}/scale": _refresh_rollout,
    "/deployments/{id}/rollback": _refresh_rollback,
    "/training/jobs/{id}/base-model": _refresh_base_model,
}

# Shapes whose instance must be on an object made here (never on demo data or the admin).
MUST_BE_OURS = re.compile(r"^/(models/\{slug\}(/delete)?|settings/users/\{id\}/.*|settings/tokens/\{id\}/revoke|"
                          r"deployments/\{id\}/(delete|guardrails/\{rule\}/delete))$")


def choose_targets(world):
    preferred = world.preferred()
    shapes = {}
    for form in world.surface.forms:
        if form.method != "POST":
            continue
        key = (form.method, path_pattern(form.path), tuple(form.field_names()))
        shapes.setdefault(key, []).append(form)
    targets = []
    for (method, pattern, names), forms in shapes.items():
        def ours(form):
            for prefix, marker in preferred.items():
                if prefix == "job_id":
                    f = form.field("job_id")
                    if f is not None and f.value == marker:
                        return True
                    continue
                p = prefix.replace("{slug}", marker).replace("{id}", marker)
                if form.path == p or form.path.startswith(p + "/"):
                    return True
            return False
        mine = [f for f in forms if ours(f)]
        if pattern == "/deployments":
            # Deploy forms only for the job kept for them (any other would deploy demo jobs).
            if not mine:
                continue
        if pattern == "/settings/users/{id}/enable":
            mine = [f for f in forms if f.path == f"/settings/users/{world.objects['disabled_user']}/enable"]
        if MUST_BE_OURS.match(pattern) and not mine:
            continue
        if rank(pattern) == 3:
            continue  # sign-in and sign-out: test_5_sessions.py, each on a session of its own
        form = (mine or forms)[0]
        targets.append(Target(world, form))
        for i, variant in enumerate(VARIANTS.get((method, pattern), []), 1):
            targets.append(Target(world, form, variant, f"variant {i}: " + ", ".join(f"{k}={v}" for k, v in variant.items() if v)))
    # Removals last, and the deployment's own removal after its guardrail's; a rollback to
    # another version (which replaces the deployment) after the other deployment actions.
    targets.sort(key=lambda t: (t.rank, "version" in t.names, t.pattern == "/deployments/{id}/delete"))
    return targets


def skipped_shapes(world):
    """Shapes seen but not tested (no instance on an object made here), for the report."""
    tested = {(t.method, t.pattern, tuple(t.names)) for t in world.targets}
    out = []
    for form in world.surface.forms:
        key = (form.method, path_pattern(form.path), tuple(form.field_names()))
        if form.method == "POST" and key not in tested and key not in out and rank(key[1]) < 3:
            out.append(key)
    return out
