"""Accessibility in a real browser: axe-core (bundled with axe-selenium-python, injected from its
files) finds no serious or critical violation on any page, in light and dark; status is never
colour alone; every form control has a label and its errors are tied to it; the keyboard
reaches every action; sortable headers say how they sort."""

import re
import urllib.parse

from axe_selenium_python import Axe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import BASE, Client, click_and_wait_for_page, make_driver, set_color_scheme

BLOCKING = ("serious", "critical")


def axe_violations(driver):
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def describe(url, violations):
    lines = []
    for v in violations:
        targets = ", ".join(str(n["target"]) for n in v["nodes"][:4])
        lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} at {targets}")
    return lines


def test_axe_finds_nothing_serious_on_any_page(browser, all_pages):
    """Every page state reachable by a GET, in light mode; the main pages in dark mode too."""
    problems = []
    checked = 0
    for page in all_pages:
        if not page.browsable:
            continue
        browser.get(page.url)
        problems += describe(page.url, axe_violations(browser))
        checked += 1
    set_color_scheme(browser, "dark")
    try:
        for page in all_pages:
            if page.browsable and page.name in ("dashboard", "jobs", "monitor complete", "monitor running",
                                                "deployments", "deployment active", "deployment paused",
                                                "configure", "doc /docs/concepts", "404 page", "empty dashboard"):
                browser.get(page.url)
                problems += describe(page.url + " (dark)", axe_violations(browser))
    finally:
        set_color_scheme(browser, "light")
    assert checked >= 35
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


def test_axe_finds_nothing_serious_after_posts(new_browser):
    """States a POST leads to: a refused form with field messages, a flash, and 403."""
    driver = new_browser()
    problems = []
    driver.get(BASE + "/training/configure")
    click_and_wait_for_page(driver, driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]"))
    assert driver.find_elements(By.CSS_SELECTOR, "[aria-invalid=true]")
    problems += describe("configure refused", axe_violations(driver))
    for scheme in ("dark",):
        set_color_scheme(driver, scheme)
        problems += describe("configure refused (dark)", axe_violations(driver))
        set_color_scheme(driver, "light")

    driver.get(BASE + "/deployments?status=active")
    click_and_wait_for_page(driver, driver.find_element(By.CSS_SELECTOR, ".deployments-table tbody a"))
    driver.find_element(By.ID, "scale-replicas").clear()
    driver.find_element(By.ID, "scale-replicas").send_keys("0")
    click_and_wait_for_page(driver, driver.find_element(By.CSS_SELECTOR, ".scale-form button"))
    assert driver.find_elements(By.CSS_SELECTOR, "main > .flash")
    problems += describe("scale refused", axe_violations(driver))

    driver.get(BASE + "/training/configure")
    driver.delete_all_cookies()  # the session expired while the form was open
    click_and_wait_for_page(driver, driver.find_element(By.CSS_SELECTOR, "form.form button[type=submit]"))
    assert "Sign in" in driver.title and "Sign in to continue" in driver.find_element(By.TAG_NAME, "main").text
    problems += describe("sign in after the session expired", axe_violations(driver))
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


def test_status_is_never_colour_alone(all_pages):
    """Every badge carries an icon and a word; every tile and stat card a word."""
    badges = 0
    for page in all_pages:
        for badge in re.findall(r'<span class="badge badge-\w+">(.*?)</span>', page.html):
            badges += 1
            assert "<svg" in badge and "<use href=" in badge, f"badge without icon on {page.url}"
            assert re.sub(r"<[^>]+>", "", badge).strip(), f"badge without text on {page.url}"
        for tile in re.findall(r'<a class="tile tile-\w+"[^>]*>(.*?)</a>', page.html):
            assert re.search(r"[A-Za-z]", re.sub(r"<[^>]+>", "", tile)), f"tile without a word on {page.url}"
        for flag in re.findall(r'class="num metric-bad">(.*?)</td>', page.html):
            assert "metric-flag" in flag, f"a red figure without a word on {page.url}"
    assert badges > 50


def test_every_control_is_labelled_and_errors_are_tied(all_pages):
    for page in all_pages:
        ids = set(re.findall(r'\sid="([^"]+)"', page.html))
        labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', page.html))
        wrapped = set(re.findall(r"<label[^>]*>\s*(<input\b[^>]*>)", page.html))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", page.html):
            if re.search(r'type="(hidden|submit)"', tag):
                continue
            control_id = re.search(r'\sid="([^"]+)"', tag)
            # A <label>, or (for the per-row controls of a table) an aria-label naming the row, or
            # aria-labelledby pointing at text on the page (every id it names must exist).
            labelled_by = re.search(r'\saria-labelledby="([^"]+)"', tag)
            named = re.search(r'\saria-label="[^"]+"', tag) or (
                labelled_by and all(ref in ids for ref in labelled_by.group(1).split()))
            assert (control_id and control_id.group(1) in labelled) or tag in wrapped or named, \
                f"control without a label: {tag} on {page.url}"
            for ref in (re.search(r'aria-describedby="([^"]+)"', tag) or [None, ""])[1].split():
                assert ref in ids, f"aria-describedby points at missing #{ref} on {page.url}"
            if 'aria-invalid="true"' in tag:
                described = re.search(r'aria-describedby="([^"]+)"', tag)
                assert described and any(ref.endswith("-error") for ref in described.group(1).split()), \
                    f"an invalid field whose message is not tied to it: {tag} on {page.url}"
        for error in re.findall(r'<p class="error" id="([^"]+)"', page.html):
            assert re.search(r'aria-describedby="[^"]*\b' + re.escape(error) + r'\b', page.html), \
                f"error #{error} is not referenced by its field on {page.url}"


def test_sortable_headers_say_how_they_sort(all_pages):
    tables = [p for p in all_pages if p.name in ("jobs", "jobs filtered and sorted", "deployments",
                                                  "deployments filtered and sorted")]
    assert len(tables) == 4
    for page in tables:
        headers = re.findall(r'<th scope="col" aria-sort="(\w+)"[^>]*><a href="([^"]+)"', page.html)
        assert len(headers) >= 5, page.url
        assert all(sort in ("ascending", "descending", "none") for sort, _ in headers)
        assert sum(sort != "none" for sort, _ in headers) == 1, f"exactly one sorted column on {page.url}"
        query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
        for _, href in headers:
            kept = urllib.parse.parse_qs(urllib.parse.urlparse(href.replace("&amp;", "&")).query)
            assert kept.get("status") == query.get("status"), f"a sort link drops the filters on {page.url}"


def tab_through(driver, limit=120):
    """Presses Tab from the top of the page and returns what received focus, in order."""
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    reached = []
    ActionChains(driver).send_keys(Keys.TAB).perform()
    for _ in range(limit):
        element = driver.switch_to.active_element
        key = element.get_attribute("outerHTML")[:160]
        if element.tag_name == "body" or (reached and key == reached[0][1]):
            break
        visible = driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return r.width > 0 && r.height > 0;", element)
        reached.append((element.tag_name, key, element.text.strip() or element.get_attribute("value"), visible))
        ActionChains(driver).send_keys(Keys.TAB).perform()
    return reached


def test_keyboard_reaches_every_action(new_browser):
    driver = new_browser()
    driver.get(BASE + "/deployments?status=active")
    click_and_wait_for_page(driver, driver.find_element(By.CSS_SELECTOR, ".deployments-table tbody a"))
    reached = tab_through(driver)
    assert reached[0][0] == "a" and "Skip to content" in reached[0][2], "the first stop skips to content"
    labels = [text for _, _, text, _ in reached]
    for action in ("Pause", "Scale", "Delete", "Deployments", "Training", "Last hour", "Health"):
        assert action in labels, f"Tab never reaches {action!r}: {labels}"
    assert all(visible for *_, visible in reached), "every focus stop is visible"
    # Focus is drawn: the action reached with Tab gets an outline from the stylesheet.
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    for _ in range(len(reached)):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.switch_to.active_element.text.strip() == "Pause":
            break
    pause = driver.switch_to.active_element
    assert pause.text.strip() == "Pause"
    outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", pause)
    assert outline not in ("none", ""), "focused buttons show an outline"

    driver.get(BASE + "/training/jobs")
    labels = [text for _, _, text, _ in tab_through(driver, limit=200)]
    for action in ("New training job", "Apply", "Clear"):
        assert action in labels, f"Tab never reaches {action!r} on the jobs list"
    assert any(label and label.lower().startswith("epochs") for label in labels), "sort headers are reachable"
    # Keyboard only: activate a sort header with Enter.
    driver.get(BASE + "/training/jobs")
    link = driver.find_element(By.XPATH, "//th//a[starts-with(normalize-space(.), 'Epochs')]")
    link.send_keys(Keys.ENTER)
    assert "sort=epochs" in driver.current_url


def test_layout_at_phone_width(new_browser):
    """At 375 px nothing makes the page scroll sideways: wide tables scroll in their wrapper."""
    driver = new_browser(width=375, height=800)
    client = Client()
    deployment = re.search(r'href="(/deployments/\d+)"', client.get("/deployments?status=active").text).group(1)
    job = re.search(r'href="(/training/jobs/\d+)"', client.get("/training/jobs?status=complete").text).group(1)
    for path in ("/", "/models", "/training/jobs", "/training/configure", job, "/deployments",
                 deployment, "/docs/concepts"):
        driver.get(BASE + path)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 375 px"
        for table in driver.find_elements(By.CSS_SELECTOR, "main table"):
            inside = driver.execute_script(
                "const t = arguments[0]; const w = t.closest('.table-wrap');"
                "return w ? true : t.getBoundingClientRect().right <= document.documentElement.clientWidth;", table)
            assert inside, f"a table on {path} is wider than the phone and has no scroll wrapper"
        charts = driver.find_elements(By.CSS_SELECTOR, "main svg.chart")
        for chart in charts:
            assert chart.size["width"] <= 375, f"a chart on {path} is wider than the phone"
