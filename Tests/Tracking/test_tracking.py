"""End to end: the official MLflow client and a real training script against a tracking server.

train_logreg.py runs as a subprocess, as a user would run it, four times into one fresh
experiment; the tests then read everything back through `mlflow.MlflowClient` and compare it with
what the script says it logged (its --record file), so no expected value is written down here.
Against Trainyard (TRAINYARD_URL set) they also look at the pages a person would: the job list,
the monitor with its charts, and deploying the finished run. See conftest.py for the settings.
"""

import html
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from web import WebClient, form_fields, links

SCRIPT = Path(__file__).with_name("train_logreg.py")
TRACKING_URI = os.environ["TRACKING_URI"].rstrip("/")
TRAINYARD_URL = os.environ.get("TRAINYARD_URL", "").rstrip("/")
TRAINYARD_USERNAME = os.environ.get("TRAINYARD_USERNAME", "")
TRAINYARD_PASSWORD = os.environ.get("TRAINYARD_PASSWORD", "")
BASE_MODEL = os.environ.get("TRACKING_BASE_MODEL", "lfm2-350m")
EPOCHS = 2

# One experiment per test session, so a reused server never mixes in older runs.
SUFFIX = uuid.uuid4().hex[:8]
EXPERIMENT = f"tracking-e2e-{SUFFIX}"

# The runs, by the key the tests use. "baseline" learns nothing (lr 0): accuracy exactly 0.5, so
# `metrics.accuracy > 0.5` leaves it out. "failed" crashes halfway through epoch 1.
PLANS = {
    "fast": {"lr": "0.1", "team": "vision"},
    "slow": {"lr": "0.03", "team": "vision"},
    "baseline": {"lr": "0", "team": "vision"},
    "failed": {"lr": "0.1", "team": "nlp", "fail_at_epoch": 1},
}
METRIC_KEYS = ("loss", "accuracy", "val_loss")
SCRIPT_TIMEOUT = 180


class Run:
    """One finished subprocess: its exit status, output and record of every logged value."""

    def __init__(self, key, name, process, record):
        self.key, self.name, self.process, self.record = key, name, process, record

    @property
    def id(self):
        return self.record["run_id"]

    def latest(self, metric):
        return self.record["metrics"][metric][-1][1]

    def describe(self):
        return (f"{self.key} run exited {self.process.returncode}\n--- stdout\n{self.process.stdout}"
                f"\n--- stderr\n{self.process.stderr}")


def script_env(basic_auth=None):
    """The environment the script runs in: ours, or Basic auth (username, password) instead of
    the token."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=TRACKING_URI)
    if basic_auth:
        env.pop("MLFLOW_TRACKING_TOKEN", None)
        env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"] = basic_auth
    return env


def run_script(tmp_path, key, name, experiment=EXPERIMENT, lr="0.1", team="ml-platform",
               fail_at_epoch=None, env=None):
    record_path = tmp_path / f"{key}.json"
    command = [sys.executable, str(SCRIPT), "--experiment", experiment, "--run-name", name,
               "--epochs", str(EPOCHS), "--lr", lr, "--base-model", BASE_MODEL, "--team", team,
               "--record", str(record_path)]
    if fail_at_epoch is not None:
        command += ["--fail-at-epoch", str(fail_at_epoch)]
    process = subprocess.run(command, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT,
                             env=env or script_env())
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    return Run(key, name, process, record)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("records")
    made = {}
    for key, plan in PLANS.items():
        run = run_script(tmp, key, f"logreg-{key}-{SUFFIX}", **plan)
        expected = 3 if plan.get("fail_at_epoch") else 0
        assert run.process.returncode == expected, run.describe()
        assert run.record.get("run_id"), run.describe()
        made[key] = run
    return made


@pytest.fixture(scope="session")
def client():
    return MlflowClient(tracking_uri=TRACKING_URI)


@pytest.fixture(scope="session")
def experiment_id(runs):
    ids = {run.record["experiment_id"] for run in runs.values()}
    assert len(ids) == 1, f"the runs landed in several experiments: {ids}"
    return ids.pop()


def ids(found):
    return [run.info.run_id for run in found]


def expect(runs, keys):
    return [runs[key].id for key in keys]


# The script and what the client reads back


def test_the_script_prints_the_run_id_last_and_exits_by_outcome(runs):
    for run in runs.values():
        assert run.process.stdout.strip().splitlines()[-1] == f"run_id={run.id}", run.describe()
        # What the client itself accepts as a run id (MLflow's own servers use 32 hex digits).
        assert re.fullmatch(r"[A-Za-z0-9][\w-]{0,255}", run.id), f"not a run id MLflow accepts: {run.id!r}"
    assert "failing at step" in runs["failed"].process.stderr
    assert "Traceback" not in runs["failed"].process.stderr, "the injected failure is reported, not a crash"


def test_the_experiment_is_found_by_name(client, experiment_id):
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    assert (experiment.experiment_id, experiment.name, experiment.lifecycle_stage) == (experiment_id, EXPERIMENT, "active")
    assert client.get_experiment(experiment_id).name == EXPERIMENT


@pytest.mark.parametrize("key", PLANS)
def test_get_run_returns_params_tags_latest_metrics_and_status(client, runs, experiment_id, key):
    sent = runs[key]
    run = client.get_run(sent.id)
    assert run.info.run_id == sent.id
    assert run.info.experiment_id == experiment_id
    assert run.info.run_name == sent.name
    assert run.info.status == sent.record["status"] == ("FAILED" if key == "failed" else "FINISHED")
    assert run.info.lifecycle_stage == "active"
    assert run.info.start_time and run.info.end_time and run.info.end_time >= run.info.start_time
    assert run.data.params == sent.record["params"]
    assert run.data.params["base_model"] == BASE_MODEL
    for tag, value in sent.record["tags"].items():
        assert run.data.tags.get(tag) == value, f"tag {tag}"
    assert run.data.tags.get("mlflow.runName") == sent.name
    # The latest value of each key: the one at the highest step.
    assert run.data.metrics == {metric: sent.latest(metric) for metric in sent.record["metrics"]}


@pytest.mark.parametrize("metric", METRIC_KEYS)
@pytest.mark.parametrize("key", PLANS)
def test_metric_history_has_every_step_with_its_value(client, runs, key, metric):
    sent = runs[key].record["metrics"].get(metric, [])
    history = client.get_metric_history(runs[key].id, metric)
    got = sorted((m.step, m.value) for m in history)
    assert got == [(step, value) for step, value in sent], "values must come back exactly as sent"
    assert all(m.key == metric for m in history)
    by_step = [m.timestamp for m in sorted(history, key=lambda m: m.step)]
    assert all(t > 0 for t in by_step) and by_step == sorted(by_step), "timestamps as the client sent them"


def test_the_failed_run_logged_only_part_of_its_first_epoch(runs):
    failed, fast = runs["failed"].record["metrics"], runs["fast"].record["metrics"]
    assert "val_loss" not in failed, "it fails before the end of epoch 1"
    steps_per_epoch = len(fast["loss"]) // EPOCHS
    assert 0 < len(failed["loss"]) < steps_per_epoch


# Searching


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_search_by_metric_ordered_by_loss(client, runs, experiment_id, direction):
    matching = [key for key, run in runs.items() if run.latest("accuracy") > 0.5]
    # The data must make the filter and the order mean something.
    assert "baseline" not in matching and len(matching) == 3, {k: r.latest("accuracy") for k, r in runs.items()}
    expected = sorted(matching, key=lambda key: runs[key].latest("loss"), reverse=direction == "DESC")
    found = client.search_runs([experiment_id], filter_string="metrics.accuracy > 0.5",
                               order_by=[f"metrics.loss {direction}"])
    assert ids(found) == expect(runs, expected)


@pytest.mark.parametrize("filter_string, predicate", [
    ("params.learning_rate = '0.1'", lambda run: run.record["params"]["learning_rate"] == "0.1"),
    ("tags.team = 'nlp'", lambda run: run.record["tags"]["team"] == "nlp"),
    ("tags.team = 'vision'", lambda run: run.record["tags"]["team"] == "vision"),
    ("attributes.status = 'FAILED'", lambda run: run.record["status"] == "FAILED"),
    ("attributes.status = 'FINISHED'", lambda run: run.record["status"] == "FINISHED"),
    ("params.learning_rate = '0.1' and attributes.status = 'FINISHED'",
     lambda run: run.record["params"]["learning_rate"] == "0.1" and run.record["status"] == "FINISHED"),
    ("metrics.accuracy = 0.5", lambda run: run.latest("accuracy") == 0.5),
    ("params.base_model = '%s'" % BASE_MODEL, lambda run: True),
])
def test_search_by_param_tag_and_status(client, runs, experiment_id, filter_string, predicate):
    expected = {run.id for run in runs.values() if predicate(run)}
    assert 0 < len(expected), "the filter must match something"
    found = client.search_runs([experiment_id], filter_string=filter_string)
    assert set(ids(found)) == expected
    assert len(ids(found)) == len(expected), "each run once"


def test_search_pages_through_every_run_one_at_a_time(client, runs, experiment_id):
    unpaged = ids(client.search_runs([experiment_id], order_by=["metrics.loss ASC"]))
    assert sorted(unpaged) == sorted(run.id for run in runs.values())
    paged, token = [], None
    for _ in range(len(runs) + 2):
        page = client.search_runs([experiment_id], order_by=["metrics.loss ASC"], max_results=1, page_token=token)
        assert len(page) <= 1
        paged += ids(page)
        token = page.token
        if not token:
            break
    else:
        pytest.fail(f"still a page token after {len(runs) + 2} pages of one")
    assert paged == unpaged, "every run once, in the same order as unpaged"


# Errors as the client reports them


def test_changing_a_logged_param_is_refused(client, runs):
    run_id = runs["fast"].id
    client.log_param(run_id, "learning_rate", "0.1")  # the same value again is fine
    with pytest.raises(MlflowException) as refused:
        client.log_param(run_id, "learning_rate", "0.2")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE", str(refused.value)
    assert client.get_run(run_id).data.params["learning_rate"] == "0.1"


def test_an_unknown_run_does_not_exist(client):
    with pytest.raises(MlflowException) as missing:
        client.get_run("0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST", str(missing.value)


def test_creating_an_existing_experiment_is_refused(client, experiment_id):
    with pytest.raises(MlflowException) as taken:
        client.create_experiment(EXPERIMENT)
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS", str(taken.value)


# Basic auth (what MLFLOW_TRACKING_USERNAME/PASSWORD send)


@pytest.mark.trainyard
def test_artifacts_are_refused_with_a_clear_error(client, tmp_path):
    # Trainyard stores no files: the client's artifact upload must fail loudly, not write locally.
    # (Its own experiment, so the searches above keep seeing exactly the script's runs.)
    run = client.create_run(client.create_experiment(f"{EXPERIMENT}-artifacts"))
    artifact = tmp_path / "notes.txt"
    artifact.write_text("not stored")
    # The artifact client raises requests' HTTPError carrying the body, not an MlflowException.
    with pytest.raises(Exception) as refused:
        client.log_artifact(run.info.run_id, str(artifact))
    assert "NOT_IMPLEMENTED" in str(refused.value) or "501" in str(refused.value), str(refused.value)
    assert "not supported" in str(refused.value), str(refused.value)
    client.set_terminated(run.info.run_id, "KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"


def is_auth_error(error):
    """A refusal for credentials: a 401/403, whether or not the body is MLflow's JSON error."""
    return error.get_http_status_code() in (401, 403) or re.search(r"\b40[13]\b", str(error)) is not None


@pytest.mark.basic_auth
def test_the_script_runs_with_basic_auth(client, tmp_path):
    run = run_script(tmp_path, "basic", f"logreg-basic-{SUFFIX}", experiment=f"{EXPERIMENT}-basic-auth",
                     env=script_env(basic_auth=(TRAINYARD_USERNAME, TRAINYARD_PASSWORD)))
    assert run.process.returncode == 0, run.describe()
    got = client.get_run(run.id)
    assert got.info.status == "FINISHED"
    assert got.data.params == run.record["params"]
    assert sorted((m.step, m.value) for m in client.get_metric_history(run.id, "loss")) == \
        [tuple(point) for point in run.record["metrics"]["loss"]]


@pytest.mark.basic_auth
def test_a_wrong_basic_auth_password_is_refused(tmp_path, monkeypatch):
    wrong = (TRAINYARD_USERNAME, TRAINYARD_PASSWORD + " but wrong")
    run = run_script(tmp_path, "wrong", f"logreg-wrong-{SUFFIX}", experiment=f"{EXPERIMENT}-wrong-password",
                     env=script_env(basic_auth=wrong))
    assert run.process.returncode not in (0, 3), run.describe()
    assert "run_id" not in run.record and "run_id=" not in run.process.stdout, "no run may be created"
    # RestException is MLflow's subclass of MlflowException for a JSON error body.
    assert "MlflowException" in run.process.stderr or "RestException" in run.process.stderr, run.describe()
    assert "UNAUTHENTICATED" in run.process.stderr or "401" in run.process.stderr, run.describe()

    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", wrong[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", wrong[1])
    with pytest.raises(MlflowException) as refused:
        MlflowClient(tracking_uri=TRACKING_URI).search_experiments()
    assert is_auth_error(refused.value), str(refused.value)


# Trainyard only: its token checks and its pages


@pytest.mark.trainyard
def test_a_wrong_or_missing_token_is_refused(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    for token in ("not-a-trainyard-token", None):
        if token:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        else:
            monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
        with pytest.raises(MlflowException) as refused:
            MlflowClient(tracking_uri=TRACKING_URI).get_experiment_by_name(EXPERIMENT)
        assert is_auth_error(refused.value), f"token {token!r}: {refused.value}"


@pytest.fixture(scope="session")
def web():
    return WebClient(TRAINYARD_URL).sign_in(TRAINYARD_USERNAME, TRAINYARD_PASSWORD)


@pytest.fixture(scope="session")
def job_paths(web, runs):
    """The monitor path of each run, read off the job list filtered by the experiment."""
    page = web.get("/training/jobs?" + urllib.parse.urlencode({"experiment": EXPERIMENT}))
    assert page.status == 200, page.text[:500]
    by_name = {text: path for path, text in links(page.text, r"/training/jobs/\d+")}
    missing = [run.name for run in runs.values() if run.name not in by_name]
    assert not missing, f"the job list for {EXPERIMENT} lacks {missing}; it links {sorted(by_name)}"
    return {key: by_name[run.name] for key, run in runs.items()}


def deploy_form_path(job_path):
    """The deploy form of the job at `job_path` (GET /deployments/new?job_id=N)."""
    return "/deployments/new?" + urllib.parse.urlencode({"job_id": job_path.rsplit("/", 1)[1]})


def page_text(page_html):
    return html.unescape(re.sub(r"<[^>]+>", " ", page_html))


def shows_value(text, value, percent=False):
    """Whether the page shows `value` the way a number is shown: rounded to 1–6 decimals (the
    monitor today shows loss as %.4f and accuracy as a percentage with one decimal), or in full."""
    forms = {repr(value)} | {f"{value:.{d}f}" for d in range(1, 7)}
    if percent:
        forms |= {f"{value * 100:.{d}f}%" for d in range(0, 3)}
    return any(form in text for form in forms)


@pytest.mark.trainyard
def test_the_job_list_shows_each_run_of_the_experiment(job_paths, runs):
    assert len(set(job_paths.values())) == len(runs), "one job per run"


@pytest.mark.trainyard
def test_the_monitor_of_a_finished_run_charts_every_key(web, job_paths, runs):
    page = web.get(job_paths["fast"])
    assert page.status == 200
    assert runs["fast"].name in page_text(page.text)
    for metric in METRIC_KEYS:
        assert re.search(rf'<svg\b[^>]*\bid="chart-{re.escape(metric)}"', page.text), f"no <svg id=\"chart-{metric}\">"
        assert metric in page_text(page.text), f"the page does not name {metric}"


@pytest.mark.trainyard
def test_the_monitor_of_the_failed_run_shows_failed_and_its_last_metrics(web, job_paths, runs):
    failed = runs["failed"]
    page = web.get(job_paths["failed"])
    assert page.status == 200
    text = page_text(page.text)
    assert re.search(r"\bfailed\b", text, re.I), "the page does not say the run failed"
    assert shows_value(text, failed.latest("loss")), f"last loss {failed.latest('loss')} not shown"
    assert shows_value(text, failed.latest("accuracy"), percent=True), \
        f"last accuracy {failed.latest('accuracy')} not shown"
    for metric in ("loss", "accuracy"):
        assert re.search(rf'<svg\b[^>]*\bid="chart-{metric}"', page.text), f"no chart of {metric}"


@pytest.mark.trainyard
def test_the_failed_run_cannot_be_deployed(web, job_paths):
    monitor = web.get(job_paths["failed"]).text
    assert not links(monitor, r"/deployments/new\?.+"), "a failed run's monitor must not offer to deploy it"
    page = web.get(deploy_form_path(job_paths["failed"]))
    assert 'action="/deployments"' not in page.text, "a failed run must get no deploy form"


@pytest.mark.trainyard
def test_the_finished_run_deploys_with_the_form_defaults(web, job_paths, runs):
    job_id = job_paths["fast"].rsplit("/", 1)[1]
    # Where the monitor's "Deploy with options…" leads, as a person would get there.
    offered = [path for path, _ in links(web.get(job_paths["fast"]).text, r"/deployments/new\?.+")]
    assert offered, "the finished run's monitor offers no deploy form"
    form = web.get(offered[0])
    assert form.status == 200, form.text[:500]
    fields = form_fields(form.text, "/deployments")
    assert fields.get("job_id") == job_id
    created = web.post("/deployments", fields, follow=False)
    assert created.status in (302, 303), f"status {created.status}: {created.text[:500]}"
    assert created.location, "the deploy form did not redirect"
    landed = web.get(created.location)
    assert "Deploying" in page_text(landed.text), "no flash saying the run is being deployed"
    # The monitor now links its live deployment instead of offering Deploy.
    deployed = [path for path, _ in links(web.get(job_paths["fast"]).text, r"/deployments/\d+")]
    assert deployed, "the monitor does not link the new deployment"
    deployment = web.get(deployed[0])
    assert deployment.status == 200
    assert runs["fast"].name in page_text(deployment.text)
