"""Screenshots of the main pages in light and dark, at desktop and phone width, saved for people
to look at (TRAINYARD_SCREENSHOTS, by default screenshots-tmp/, which git ignores). A curated set
lives in screenshots/ and the README."""

import base64
import os
import re
import time

import support

from support import SCREENSHOTS, Client, create_job, make_driver, set_color_scheme, set_viewport

MAX_HEIGHT = 1800
BASE = os.environ.get("TRAINYARD_SCREENSHOT_URL", "") or support.BASE


def save(driver, name, width):
    height = min(MAX_HEIGHT, driver.execute_script("return document.documentElement.scrollHeight"))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path = os.path.join(SCREENSHOTS, name + ".png")
    with open(path, "wb") as out:
        out.write(base64.b64decode(shot["data"]))
    return path


def test_screenshots_light_and_dark():
    os.makedirs(SCREENSHOTS, exist_ok=True)
    client = Client(BASE)
    monitor = create_job(client, "screenshot-run", epochs=40, start=True)
    deployment = re.search(r'href="(/deployments/\d+)"',
                           client.get("/deployments?status=active&sort=rps&dir=desc").text).group(1)
    time.sleep(6)  # let the chart gather a few hundred steps
    pages = [("dashboard", "/"), ("jobs", "/training/jobs"), ("monitor", monitor),
             ("configure", "/training/configure"), ("deployments", "/deployments"),
             ("deployment", deployment)]
    driver = make_driver(width=1280, height=900)
    saved = []
    try:
        for scheme in ("light", "dark"):
            set_color_scheme(driver, scheme)
            for name, path in pages:
                driver.get(BASE + path)
                saved.append(save(driver, f"{name}-{scheme}", 1280))
        set_viewport(driver, 375, 800, mobile=True)
        for scheme in ("light", "dark"):
            set_color_scheme(driver, scheme)
            for name, path in (("dashboard", "/"), ("deployments", "/deployments"), ("monitor", monitor)):
                driver.get(BASE + path)
                saved.append(save(driver, f"{name}-phone-{scheme}", 375))
    finally:
        driver.quit()
        client.submit(monitor + "/stop", {"return_to": monitor}, token_from=monitor)
    for path in saved:
        with open(path, "rb") as shot:
            assert shot.read(8) == b"\x89PNG\r\n\x1a\n", path
    assert len(saved) == 18
