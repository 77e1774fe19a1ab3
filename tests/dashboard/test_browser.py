"""End to end in real headless Chromium: `titans dashboard` on a temp store holding the real
export; every page shows its title and a Plotly chart; screenshots go to tests/artifacts/ and
one per page to docs/screenshots/ when UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.dashboard.conftest import IN_CI, SeededStore
from tests.servers import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# url path -> (title shown on the page, screenshot name)
PAGES = {
    "": ("Overview", "overview"),
    "transactions": ("Transaction Analysis", "transactions"),
    "predictions": ("ML Predictions", "predictions"),
    "anomalies": ("Anomaly Detection", "anomalies"),
    "insights": ("Financial Insights", "insights"),
    "imports": ("Import & models", "imports"),
}


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it after 15 s."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def browser_tools() -> None:
    """Chromium and its driver from Debian; CI must have them, locally we skip."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = f"{', '.join(missing)} absent (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def dashboard_url(
    browser_tools: None, seeded_store: SeededStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`titans dashboard` running on a free port against a copy of the seeded store."""
    folder = tmp_path_factory.mktemp("browser-store")
    database = folder / "titans.db"
    shutil.copyfile(seeded_store.database, database)
    models_dir = folder / "models"
    shutil.copytree(seeded_store.models_dir, models_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_")}
    env.update(
        TITANS_DATABASE_URL=f"sqlite:///{database}",
        TITANS_MODELS_DIR=str(models_dir),
        TITANS_MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
        OMP_NUM_THREADS="1",
    )
    port = free_port()
    log = (folder / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "titans_finance", "dashboard", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown stops everything it runs
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"dashboard exited: {(folder / 'streamlit.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("dashboard did not answer /_stcore/health within 60 s")
        yield url
    finally:
        stop_group(process)
        log.close()


@pytest.fixture(scope="module")
def driver(browser_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Chromium with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--window-size=1440,2200",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.mark.parametrize("path", list(PAGES), ids=[name for _, name in PAGES.values()])
def test_page_in_chromium(driver: object, dashboard_url: str, path: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    title, name = PAGES[path]
    browser = driver
    browser.get(f"{dashboard_url}/{path}")  # type: ignore[attr-defined]
    wait = WebDriverWait(browser, 60)
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), title))
    wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".js-plotly-plot, .plot-container"))
    )
    if name == "predictions":  # show a real prediction in the screenshot
        button = next(
            b
            for b in browser.find_elements(By.CSS_SELECTOR, "button")  # type: ignore[attr-defined]
            if b.text.strip() == "Predict"
        )
        button.click()
        wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Predicted category"))
        wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "Expected amount"))
    # let the script run finish (no "running" status widget) so the screenshot is complete
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))
    time.sleep(1.0)
    errors = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')  # type: ignore[attr-defined]
    assert not errors, errors[0].text
    heading = browser.find_element(By.CSS_SELECTOR, "h1").text  # type: ignore[attr-defined]
    assert title in heading
    assert browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")  # type: ignore[attr-defined]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    assert browser.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # refresh the README's pictures on request
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / f"{name}.png")
