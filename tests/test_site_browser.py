"""The static HTML leaderboard in a real headless browser (Debian's chromium + chromedriver, via
Selenium): no console errors, a header click reorders rows, the filter hides rows, images load.

Skipped when chromium/chromedriver are absent, unless REQUIRE_BROWSER=1 (``.ci/run`` installs
them and sets it)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from bench.cli import main
from bench.record.io import write_record
from tests.test_report_stats import classifier, synth_record

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    y = np.random.default_rng(0).integers(0, 3, 60)
    for task in ("t1", "t2"):
        for model, acc, secs in (("alpha", 0.9, 50.0), ("beta", 0.7, 10.0), ("gamma", 0.5, 2.0)):
            for seed in range(2):
                write_record(root / "res", synth_record(task=task, model=model, seed=seed, labels=y, train_seconds=secs,
                                                       proba=classifier(y, acc, seed + len(model) + len(task))))
    write_record(root / "res", synth_record(task="t2", model="delta", status="failed"))
    assert main(["report", "--results", str(root / "res"), "--format", "html", "--out", str(root / "site"),
                 "--resamples", "100"]) == 0
    return root / "site"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but chromium/chromedriver are not installed")
        pytest.skip("chromium and chromedriver not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--allow-file-access-from-files", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def images_ok(driver) -> tuple[int, list[str]]:
    return driver.execute_script(
        "const imgs = Array.from(document.images);"
        "return [imgs.length, imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)];")


def column_values(driver, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
        f".map(r => r.cells[{index}].dataset.v !== undefined ? r.cells[{index}].dataset.v : r.cells[{index}].textContent);")


def test_leaderboard_in_headless_chromium(site, browser):
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    assert browser.title.startswith("DomainBench report")
    assert errors(browser) == []
    n, broken = images_ok(browser)
    assert n >= 6 and broken == []  # roc, pareto, f1 per task

    heads = browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")
    mean_col = next(i for i, h in enumerate(heads) if h.text.startswith("macro_f1 mean"))
    before = column_values(browser, mean_col)
    heads[mean_col].click()
    asc = column_values(browser, mean_col)
    nums = [float(v) for v in asc if v != ""]
    assert nums == sorted(nums) and asc != before and asc[-1] == ""  # non-numbers (failed, missing) last
    heads[mean_col].click()
    desc = [float(v) for v in column_values(browser, mean_col) if v != ""]
    assert desc == sorted(desc, reverse=True)
    assert heads[mean_col].get_attribute("aria-sort") == "descending"

    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    total = len(rows)
    browser.find_element(By.ID, "filter").send_keys("beta")
    visible = [r for r in rows if r.is_displayed()]
    assert 0 < len(visible) < total and all("beta" in r.text for r in visible)
    assert browser.find_element(By.ID, "shown").text == f"{len(visible)} of {total} rows shown"
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys(" ")  # an 'input' event with an empty query
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "column-filter")).select_by_value("t1")
    visible = [r for r in rows if r.is_displayed()]
    assert 0 < len(visible) < total and all(r.get_attribute("data-col") == "t1" for r in visible)
    assert errors(browser) == []

    # a page per configuration: per-seed metrics, per-class table, manifest, images
    browser.find_element(By.CSS_SELECTOR, "#leaderboard tbody tr:not([hidden]) a").click()
    assert "Metrics per seed" in browser.page_source and "Per class" in browser.page_source
    assert "Manifest" in browser.page_source
    n, broken = images_ok(browser)
    assert n == 2 and broken == []  # ROC + confusion matrix
    assert errors(browser) == []
    # the console check itself works: an error on the page is seen
    browser.execute_script("console.error('deliberate')")
    assert any("deliberate" in e for e in errors(browser))
