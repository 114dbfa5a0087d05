"""A user's whole journey in a real browser: configure a job, start it, watch it train (with and
without JavaScript), deploy it, find it in the deployments table through the filter form and
the sort headers, reopen the bookmarked URL in a fresh session, then pause, resume, scale and
delete it. Along the way: flash messages show once, and the back button never posts again.

The steps run in order and share one browser session, as one person would."""

import os
import re
import time
import urllib.parse

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from support import ADMIN, BASE, PASSWORD, SCREENSHOTS, VIEWER, Client, click_and_wait_for_page, make_driver, wait_for

RUN = str(int(time.time()))[-6:]
JOB_NAME = f"browser-journey-{RUN}"
DEPLOYMENT_NAME = f"browser-dep-{RUN}"
EPOCHS = 12  # 1,200 steps: about 24 s at --sim-speed 10, long enough to watch it move

state = {}


@pytest.fixture(scope="module")
def user():
    driver = make_driver()
    yield driver
    driver.quit()


def flash_text(driver):
    return " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, "main > .flash"))


def text_of(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def path_of(driver):
    return urllib.parse.urlparse(driver.current_url).path


def click_button(driver, label, scope="main"):
    buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, f"{scope} button")
               if b.text.strip() == label]
    assert buttons, f"no button labelled {label!r} on {driver.current_url}"
    click_and_wait_for_page(driver, buttons[0])


def count_jobs_named(name):
    """Rows in the jobs list that carry exactly this name, as the server sees it now."""
    html = Client().get("/training/jobs?" + urllib.parse.urlencode({"q": name})).text
    return len(re.findall(r">" + re.escape(name) + r"</a>", html))


def history_rows(driver):
    return len(driver.find_elements(By.CSS_SELECTOR, ".timeline li"))


class TestJourney:
    def test_01_configure_refuses_bad_input_with_field_messages(self, user):
        user.get(BASE + "/")
        click_and_wait_for_page(user, user.find_element(By.LINK_TEXT, "New training job"))
        assert path_of(user) == "/training/configure"
        user.find_element(By.ID, "job-name").send_keys("bad name!")
        user.find_element(By.ID, "job-epochs").clear()
        user.find_element(By.ID, "job-epochs").send_keys("0")
        click_button(user, "Create job")

        assert path_of(user) == "/training/configure"
        assert flash_text(user), "a refused form shows a flash message"
        # What was typed comes back, each refused field says why and points at its message.
        name = user.find_element(By.ID, "job-name")
        assert name.get_attribute("value") == "bad name!"
        for field in ("job-name", "job-model", "job-epochs"):
            element = user.find_element(By.ID, field)
            assert element.get_attribute("aria-invalid") == "true", field
            described = element.get_attribute("aria-describedby").split()
            assert f"{field}-error" in described, field
            assert user.find_element(By.ID, f"{field}-error").text.strip(), field

    def test_02_create_a_job_and_see_the_flash_once(self, user):
        name = user.find_element(By.ID, "job-name")
        name.clear()
        name.send_keys(JOB_NAME)
        Select(user.find_element(By.ID, "job-model")).select_by_index(1)
        epochs = user.find_element(By.ID, "job-epochs")
        epochs.clear()
        epochs.send_keys(str(EPOCHS))
        click_button(user, "Create job")

        assert re.fullmatch(r"/training/jobs/\d+", path_of(user)), user.current_url
        state["job"] = path_of(user)
        assert "Training job created" in flash_text(user)
        assert text_of(user, "h1") == JOB_NAME
        assert "Queued" in text_of(user, "#monitor [data-live=status]")
        user.refresh()
        assert flash_text(user) == "", "the flash shows once"

    def test_03_back_after_creating_does_not_post_again(self, user):
        user.back()  # the configure form, fetched again with GET after its refusal
        assert path_of(user) == "/training/configure"
        assert flash_text(user) == ""
        user.forward()
        assert path_of(user) == state["job"]
        assert count_jobs_named(JOB_NAME) == 1

    def test_04_start_the_job(self, user):
        click_button(user, "Start training", scope=".page-header")
        assert path_of(user) == state["job"]
        assert "Training started" in flash_text(user)
        assert "Running" in text_of(user, "#monitor [data-live=status]")
        user.back()
        assert path_of(user) == state["job"]
        assert "Training started" not in flash_text(user)

    def test_05_monitor_updates_in_place_with_javascript(self, user):
        # A page drawn before the job's first metrics has no chart frames, and the script loads
        # it once when they arrive (as it does for any new key): start from one that has them.
        def page_with_metrics():
            user.refresh()
            return user.find_element(By.ID, "monitor").get_attribute("data-keys")
        wait_for(page_with_metrics, timeout=15, message="a monitor page drawn with the first metrics")
        user.execute_script("window.__sameDocument = true;")
        first = int(text_of(user, "[data-live=step]"))
        wait_for(lambda: int(text_of(user, "[data-live=step]")) > first, timeout=15,
                 message="the step counter to move")
        assert user.execute_script("return window.__sameDocument === true;"), \
            "the figures changed without a page load"
        progress = int(user.find_element(By.ID, "job-progress").get_attribute("value"))
        assert progress > first
        assert text_of(user, "[data-live=metric-0-latest]"), "latest metrics are shown"
        eta = text_of(user, "[data-live=eta]")
        assert eta.startswith("about "), eta
        wait_for(lambda: text_of(user, "[data-live=eta]") != eta, timeout=15, message="the time left to update")
        # The figures and charts come from the live endpoint; the page itself is never fetched again.
        fetched = user.execute_script(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
        page_url = BASE + state["job"]
        assert any(url.startswith(page_url + "/live") for url in fetched), fetched
        assert not any(url in (page_url, page_url + "?") for url in fetched), fetched

    def test_06_monitor_refreshes_itself_without_javascript(self, new_browser):
        plain = new_browser(javascript=False)
        plain.get(BASE + state["job"])
        assert plain.find_elements(By.CSS_SELECTOR, "head noscript"), "the refresh is in <noscript>"
        if "Running" not in text_of(plain, "#monitor [data-live=status]"):
            pytest.fail("the job finished before the no-JavaScript check; raise EPOCHS")
        marker = plain.find_element(By.ID, "monitor")
        first = int(marker.get_attribute("data-step"))

        def reloaded():
            try:
                marker.get_attribute("id")
                return False
            except StaleElementReferenceException:
                return True

        wait_for(reloaded, timeout=12, message="the <noscript> refresh to reload the page")
        wait_for(lambda: int(plain.find_element(By.ID, "monitor").get_attribute("data-step")) > first,
                 timeout=5, message="newer figures after the reload")

    def test_07_monitor_shows_completion(self, user):
        # monitor.js reloads the page when the job leaves "running": the deploy buttons appear.
        wait_for(lambda: "Complete" in text_of(user, "#monitor [data-live=status]"), timeout=90,
                 message="the job to complete")
        assert text_of(user, "[data-live=percent]") == "100%"
        assert user.find_elements(By.CSS_SELECTOR, ".chart polyline, .chart path"), "charts are drawn"

    def test_08_deploy_with_options(self, user):
        click_and_wait_for_page(user, user.find_element(By.LINK_TEXT, "Deploy with options…"))
        assert path_of(user) == "/deployments/new"
        user.find_element(By.ID, "deploy-name").send_keys(DEPLOYMENT_NAME)
        replicas = user.find_element(By.ID, "deploy-replicas")
        replicas.clear()
        replicas.send_keys("2")
        click_button(user, "Deploy")
        assert path_of(user) == "/deployments"
        assert f"Deploying {DEPLOYMENT_NAME}" in flash_text(user)
        user.refresh()
        assert flash_text(user) == ""
        user.back()  # the deploy form, fetched with GET: nothing is posted again
        assert path_of(user) == "/deployments/new"
        user.forward()
        html = Client().get("/deployments?" + urllib.parse.urlencode({"q": DEPLOYMENT_NAME})).text
        assert html.count(f">{DEPLOYMENT_NAME}<") == 1, "one deployment, however the user navigates"

    def test_09_find_it_by_filtering_and_sorting(self, user):
        user.get(BASE + "/")
        click_and_wait_for_page(user, user.find_element(By.CSS_SELECTOR, "nav.nav").find_element(By.LINK_TEXT, "Deployments"))
        search = user.find_element(By.ID, "filter-q")
        search.clear()
        search.send_keys(DEPLOYMENT_NAME)
        for status in ("deploying", "active"):
            box = user.find_element(By.CSS_SELECTOR, f"input[name=status][value={status}]")
            if not box.is_selected():
                box.click()
        click_button(user, "Apply", scope="form.filters")

        query = urllib.parse.parse_qs(urllib.parse.urlparse(user.current_url).query)
        assert query["q"] == [DEPLOYMENT_NAME]
        assert sorted(query["status"]) == ["active", "deploying"]
        rows = user.find_elements(By.CSS_SELECTOR, ".deployments-table tbody tr")
        assert len(rows) == 1 and DEPLOYMENT_NAME in rows[0].text

        header = lambda: user.find_element(By.XPATH, "//th[.//a[starts-with(normalize-space(.), 'P95')]]")
        click_and_wait_for_page(user, header().find_element(By.TAG_NAME, "a"))
        first = header().get_attribute("aria-sort")
        assert first in ("ascending", "descending")
        click_and_wait_for_page(user, header().find_element(By.TAG_NAME, "a"))
        second = header().get_attribute("aria-sort")
        assert {first, second} == {"ascending", "descending"}, "clicking again reverses the sort"
        query = urllib.parse.parse_qs(urllib.parse.urlparse(user.current_url).query)
        assert query["sort"] == ["p95"] and query["q"] == [DEPLOYMENT_NAME], "sorting keeps the filters"
        assert user.find_element(By.ID, "filter-q").get_attribute("value") == DEPLOYMENT_NAME
        state["bookmark"] = user.current_url
        state["bookmark_view"] = self.table_state(user)

    @staticmethod
    def table_state(driver):
        return {
            "q": driver.find_element(By.ID, "filter-q").get_attribute("value"),
            "checked": sorted(b.get_attribute("value") for b in
                              driver.find_elements(By.CSS_SELECTOR, "input[name=status]") if b.is_selected()),
            "sorted": [(th.text.strip(), th.get_attribute("aria-sort")) for th in
                       driver.find_elements(By.CSS_SELECTOR, "th[aria-sort]")
                       if th.get_attribute("aria-sort") != "none"],
            "rows": [row.find_element(By.TAG_NAME, "a").text for row in
                     driver.find_elements(By.CSS_SELECTOR, ".deployments-table tbody tr")],
        }

    def test_10_bookmark_reopens_in_a_fresh_session(self, new_browser):
        # A stranger to the session: asked to sign in first, then taken to the bookmark itself.
        fresh = new_browser(user=None)
        assert fresh.get_cookies() == []
        fresh.get(state["bookmark"])
        assert path_of(fresh) == "/login"
        assert "next=" in fresh.current_url
        fresh.find_element(By.ID, "login-username").send_keys(ADMIN)
        fresh.find_element(By.ID, "login-password").send_keys(PASSWORD)
        click_and_wait_for_page(fresh, fresh.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
        assert fresh.current_url == state["bookmark"]
        assert self.table_state(fresh) == state["bookmark_view"]

    def test_11_open_the_detail_page(self, user):
        click_and_wait_for_page(user, user.find_element(By.CSS_SELECTOR, ".deployments-table tbody tr a"))
        assert re.fullmatch(r"/deployments/\d+", path_of(user))
        state["deployment"] = path_of(user)
        assert DEPLOYMENT_NAME in text_of(user, ".page-header")

        def active():
            user.refresh()
            return "Active" in text_of(user, "#overview-heading + .stats")
        wait_for(active, timeout=30, interval=0.5, message="the deployment to become active")

    def test_12_pause_shows_the_flash_once_and_back_does_not_repost(self, user):
        before = history_rows(user)
        click_button(user, "Pause", scope=".deployment-actions")
        assert path_of(user) == state["deployment"]
        assert f"Deployment {DEPLOYMENT_NAME} paused" in flash_text(user)
        assert "Paused" in text_of(user, "#overview-heading + .stats")
        assert history_rows(user) == before + 1
        user.refresh()
        assert flash_text(user) == ""
        user.back()
        user.refresh()
        assert flash_text(user) == ""
        assert history_rows(user) == before + 1, "going back posted nothing"
        if path_of(user) != state["deployment"]:
            user.get(BASE + state["deployment"])

    def test_13_resume(self, user):
        click_button(user, "Resume", scope=".deployment-actions")
        assert f"Deployment {DEPLOYMENT_NAME} resuming" in flash_text(user)
        status = text_of(user, "#overview-heading + .stats")
        assert "Deploying" in status or "Active" in status

    def test_14_scale_refuses_then_scales(self, user):
        field = user.find_element(By.ID, "scale-replicas")
        field.clear()
        field.send_keys("0")
        click_button(user, "Scale", scope=".deployment-actions")
        field = user.find_element(By.ID, "scale-replicas")
        assert field.get_attribute("aria-invalid") == "true"
        error_id = field.get_attribute("aria-describedby")
        assert error_id and user.find_element(By.ID, error_id).text.strip()
        field.clear()
        field.send_keys("3")
        click_button(user, "Scale", scope=".deployment-actions")
        assert "scaled to 3" in flash_text(user)
        assert "of 3 running" in text_of(user, "#overview-heading + .stats")

    def test_14a_change_configuration_rolls_out_a_new_revision(self, user):
        # Scaling made a revision of its own; the message below is the one for an active
        # deployment, so wait for that rollout to finish first (under load it can take a while).
        def serving():
            user.refresh()
            return not user.find_elements(By.CSS_SELECTOR, ".rollout-notice") and "Active" in text_of(user, "#overview-heading + .stats")
        wait_for(serving, timeout=60, interval=0.5, message="the scaled deployment to be active with no rollout running")
        cpu = user.find_element(By.ID, "configure-cpu")
        current = float(cpu.get_attribute("value"))
        wanted = current + 1 if current < 32 else current - 1
        cpu.clear()
        cpu.send_keys(f"{wanted:g}")
        click_button(user, "Save as a new revision")
        assert "a new revision is rolling out" in flash_text(user)
        assert user.find_elements(By.CSS_SELECTOR, ".rollout-notice"), "the rollout is shown while it runs"

        def rolled_out():
            user.refresh()
            row = user.find_element(By.CSS_SELECTOR, "#revisions-heading ~ .table-wrap tbody tr")
            return "serving" in row.text and f"{wanted:g} cores" in row.text
        wait_for(rolled_out, timeout=60, interval=0.5, message="the new revision to serve")
        assert not user.find_elements(By.CSS_SELECTOR, ".rollout-notice")
        assert "Rolled out" in text_of(user, ".timeline")

    def test_14b_events_are_marked_on_the_charts_and_link_to_their_history_rows(self, user):
        for chart in ("requests-chart", "latency-chart"):
            markers = user.find_elements(By.CSS_SELECTOR, f"#{chart} .chart-marker")
            assert markers, f"{chart} marks the events of the last hour"
            # Each marker reads without colour (a letter) and carries a title for pointers and screen readers.
            assert all(m.find_element(By.TAG_NAME, "text").text.strip() for m in markers)
            titles = [m.find_element(By.TAG_NAME, "title").get_attribute("textContent") for m in markers]
            assert any(t.startswith("Rolled out, ") for t in titles), titles
        links = user.find_elements(By.CSS_SELECTOR, ".chart-events a")
        assert len(links) == len(user.find_elements(By.CSS_SELECTOR, "#requests-chart .chart-marker"))
        target = links[-1].get_attribute("href").split("#", 1)[1]
        links[-1].click()
        assert user.find_element(By.ID, target).text.strip(), "the link lands on its history row"

    def test_14c_roll_back_to_revision_1(self, user):
        revisions_before = len(user.find_elements(By.CSS_SELECTOR, "#revisions-heading ~ .table-wrap tbody tr"))
        click_button(user, "Roll back to revision 1")
        assert "rolling back to revision 1" in flash_text(user)
        rows = user.find_elements(By.CSS_SELECTOR, "#revisions-heading ~ .table-wrap tbody tr")
        assert len(rows) == revisions_before + 1, "a rollback is one more revision; none is rewritten"
        assert "rollback to revision 1" in rows[0].text
        assert "Rollback" in text_of(user, ".timeline")

        def serving():
            user.refresh()
            row = user.find_element(By.CSS_SELECTOR, "#revisions-heading ~ .table-wrap tbody tr")
            return "serving" in row.text
        wait_for(serving, timeout=60, interval=0.5, message="the rollback to serve")

    def test_15_delete(self, user):
        click_button(user, "Delete", scope=".deployment-actions")
        assert path_of(user) == "/deployments"
        assert f"Deployment {DEPLOYMENT_NAME} deleted" in flash_text(user)
        user.get(BASE + state["deployment"])
        assert user.find_elements(By.CSS_SELECTOR, ".deleted-notice")
        assert not user.find_elements(By.CSS_SELECTOR, ".deployment-actions")
        html = Client().get("/deployments?" + urllib.parse.urlencode({"q": DEPLOYMENT_NAME})).text
        assert f">{DEPLOYMENT_NAME}<" not in html, "deleted deployments leave the table"


def test_a_viewer_sees_everything_but_no_action_buttons(new_browser):
    viewer = new_browser(user=VIEWER)
    admin = Client(BASE)
    deployment = re.findall(r'href="(/deployments/\d+)"', admin.get("/deployments?status=active").text)[0]
    job = re.findall(r'href="(/training/jobs/\d+)"', admin.get("/training/jobs?status=queued").text)[0]
    for path in ("/", "/training/jobs", job, "/deployments", deployment, "/models"):
        viewer.get(BASE + path)
        labels = [b.text for b in viewer.find_elements(By.CSS_SELECTOR, "main form[method=post] button")]
        assert labels == [], f"{path} offers {labels} to a viewer"
        assert "Browser Viewer" in viewer.find_element(By.CSS_SELECTOR, ".user-menu").text
    viewer.get(BASE + deployment)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    viewer.save_screenshot(os.path.join(SCREENSHOTS, "deployment-viewer-light.png"))
    # What the viewer may not open says so, and changes nothing.
    viewer.get(BASE + "/training/configure")
    assert "This needs an operator role" in viewer.find_element(By.TAG_NAME, "main").text
