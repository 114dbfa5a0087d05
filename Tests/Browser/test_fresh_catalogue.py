"""A fresh installation used without the demo data: on the empty server, an admin adds a model
through the form (a refused attempt first), trains it for one epoch, deploys the finished job
through the deploy form and opens the deployment's page; the model then refuses to be deleted
because its job and deployment use it.

The steps run in order and share one browser session, as one person would."""

import re
import time
import urllib.parse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from support import EMPTY, click_and_wait_for_page, make_driver, wait_for

RUN = str(int(time.time()))[-6:]
MODEL_NAME = f"Fresh LFM {RUN}"
MODEL_SLUG = f"fresh-lfm-{RUN}"
JOB_NAME = f"fresh-job-{RUN}"
DEPLOYMENT_NAME = f"fresh-dep-{RUN}"

pytestmark = pytest.mark.skipif(not EMPTY, reason="needs the empty server (TRAINYARD_EMPTY_URL); run scripts/browser-tests.sh")

state = {}


@pytest.fixture(scope="module")
def admin():
    driver = make_driver(base=EMPTY)
    yield driver
    driver.quit()


def flash_text(driver):
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, "main > .flash"))


def text_of(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def path_of(driver):
    return urllib.parse.urlparse(driver.current_url).path


def click_button(driver, label, scope="main"):
    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, f"{scope} button") if b.text.strip() == label]
    assert buttons, f"no button labelled {label!r} on {driver.current_url}"
    click_and_wait_for_page(driver, buttons[0])


def fill(driver, field_id, value):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(value)


class TestFreshCatalogue:
    def test_01_the_empty_catalogue_leads_to_the_form(self, admin):
        admin.get(EMPTY + "/models")
        assert "The catalogue is empty." in text_of(admin, "main")
        empty_state = admin.find_element(By.CSS_SELECTOR, ".panel.empty")
        click_and_wait_for_page(admin, empty_state.find_element(By.LINK_TEXT, "Add a model"))
        assert path_of(admin) == "/models/new"

    def test_02_a_refused_model_keeps_what_was_typed(self, admin):
        fill(admin, "model-name", MODEL_NAME)
        fill(admin, "model-parameters", "lots")
        click_button(admin, "Add model")
        assert path_of(admin) == "/models/new"
        assert "Parameters must be a whole number" in flash_text(admin)
        assert admin.find_element(By.ID, "model-name").get_attribute("value") == MODEL_NAME
        parameters = admin.find_element(By.ID, "model-parameters")
        assert parameters.get_attribute("value") == "lots"
        assert parameters.get_attribute("aria-invalid") == "true"
        assert "model-parameters-error" in parameters.get_attribute("aria-describedby").split()

    def test_03_add_the_model(self, admin):
        fill(admin, "model-parameters", "354M")
        fill(admin, "model-context_length", "32768")
        fill(admin, "model-card", "# Fresh LFM\n\nAdded **in the browser**.")
        click_button(admin, "Add model")
        assert path_of(admin) == f"/models/{MODEL_SLUG}", "the slug is made from the name"
        assert "Model added" in flash_text(admin)
        assert text_of(admin, "h1") == MODEL_NAME
        assert "354M parameters · Nano" in text_of(admin, ".page-header")
        assert admin.find_element(By.CSS_SELECTOR, "article.markdown strong").text == "in the browser"

    def test_04_configure_and_start_a_job_on_it(self, admin):
        click_and_wait_for_page(admin, admin.find_element(By.LINK_TEXT, "Train this model"))
        assert path_of(admin) == "/training/configure"
        assert Select(admin.find_element(By.ID, "job-model")).first_selected_option.get_attribute("value") == MODEL_SLUG
        fill(admin, "job-name", JOB_NAME)
        fill(admin, "job-epochs", "1")
        click_button(admin, "Create job")
        assert re.fullmatch(r"/training/jobs/\d+", path_of(admin)), admin.current_url
        assert "Training job created" in flash_text(admin)
        assert "Queued" in text_of(admin, "#monitor [data-live=status]"), "the form creates the job queued"
        state["job"] = path_of(admin)
        click_button(admin, "Start training", scope=".page-header")
        assert "Training started" in flash_text(admin)

    def test_05_the_job_completes(self, admin):
        # 100 steps at --sim-speed 10 take a few seconds; the monitor reloads itself when done.
        wait_for(lambda: "Complete" in text_of(admin, "#monitor [data-live=status]"), timeout=60,
                 message="the one-epoch job to complete")
        assert text_of(admin, "[data-live=percent]") == "100%"

    def test_06_deploy_it_through_the_form(self, admin):
        admin.get(EMPTY + state["job"])
        click_and_wait_for_page(admin, admin.find_element(By.LINK_TEXT, "Deploy with options…"))
        assert path_of(admin) == "/deployments/new"
        fill(admin, "deploy-name", DEPLOYMENT_NAME)
        click_button(admin, "Deploy")
        assert path_of(admin) == "/deployments"
        assert f"Deploying {DEPLOYMENT_NAME} (v1.0.0)" in flash_text(admin), "the model's first version"

    def test_07_the_deployment_page(self, admin):
        row = [r for r in admin.find_elements(By.CSS_SELECTOR, ".deployments-table tbody tr") if DEPLOYMENT_NAME in r.text]
        assert len(row) == 1, "one deployment in the table"
        assert MODEL_NAME in row[0].text
        click_and_wait_for_page(admin, row[0].find_element(By.TAG_NAME, "a"))
        assert re.fullmatch(r"/deployments/\d+", path_of(admin))
        assert DEPLOYMENT_NAME in text_of(admin, ".page-header")
        assert admin.find_element(By.CSS_SELECTOR, f'main a[href="{state["job"]}"]'), "it links to its source job"
        assert f"/api/inference/{MODEL_SLUG}/v1.0.0" in text_of(admin, "main")

        def active():
            admin.refresh()
            return "Active" in text_of(admin, "#overview-heading + .stats")
        wait_for(active, timeout=30, interval=0.5, message="the deployment to become active")

    def test_08_the_model_in_use_refuses_to_be_deleted(self, admin):
        admin.get(EMPTY + f"/models/{MODEL_SLUG}")
        assert JOB_NAME in text_of(admin, "main") and DEPLOYMENT_NAME in text_of(admin, "main")
        click_button(admin, "Delete", scope=".page-header")
        assert path_of(admin) == f"/models/{MODEL_SLUG}"
        assert f"{MODEL_NAME} can't be deleted: 1 training job and 1 deployment use it." in flash_text(admin)
