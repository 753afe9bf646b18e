"""The Airflow UI in a real browser: log in, see every ingest DAG with its docs, trigger `ingest_enterprises`
with the period Param through the trigger form, and see the run succeed. Screenshots go to artifacts/.

Airflow runs as in production (api-server, scheduler, dag-processor on PostgreSQL metadata, FAB login) but
with the LocalExecutor: the Celery path is proven by test_celery_topology.py, and here a worker would only
cost memory and start-up time on a 2-core CI machine. The browser is Debian's Chromium driven by Selenium
through Debian's chromedriver (`make test` installs both when run as root); Selenium never downloads one.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.specs import available_datasets, get_spec
from tests.airflow_procs import ADMIN_USER, REPO, airflow_stack, postgres_available
from tests.conftest import service_missing
from tests.fixtures.enterprise_files import march_rows, write_xlsx

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(420)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO / "artifacts" / "airflow-ui"
WAIT = 30  # seconds for a page element to appear
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        message = f"{CHROMIUM} and {CHROMEDRIVER} are needed (`make test` installs Debian chromium and chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="kds-chromium-") as profile:
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def _shot(driver: Any, name: str, shots: list[Path]) -> None:
    if not shots:  # the first of this run: no screenshot of an earlier run may be mistaken for this one's
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
    print(f"{time.strftime('%H:%M:%S')} screenshot {name}")
    path = ARTIFACTS / f"{len(shots) + 1:02d}-{name}.png"
    driver.save_screenshot(str(path))
    shots.append(path)


def _wait(driver: Any, condition: Any, what: str, timeout: float = WAIT) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except TimeoutException:
        raise AssertionError(f"UI: {what} not seen within {timeout:.0f}s at {driver.current_url}") from None


def _click(driver: Any, locator: tuple[str, str], what: str, timeout: float = WAIT) -> None:
    """Click when clickable; the single-page UI re-renders as data arrives, so retry a stale element."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
    from selenium.webdriver.support import expected_conditions as ec

    deadline = time.monotonic() + timeout
    while True:
        element = _wait(driver, ec.element_to_be_clickable(locator), what, max(1.0, deadline - time.monotonic()))
        try:
            element.click()
            return
        except (StaleElementReferenceException, ElementClickInterceptedException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_operator_logs_in_reads_the_docs_and_triggers_a_run(tmp_path: Path, browser: Any) -> None:
    if not postgres_available():
        service_missing("PostgreSQL")  # Airflow 3 refuses SQLite metadata with the LocalExecutor
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    started = time.monotonic()
    kds_home = tmp_path / "kds"
    landing = kds_home / "landing" / "enterprises"
    landing.mkdir(parents=True)
    rows = march_rows()
    write_xlsx(landing / "doanh_nghiep_20250331.xlsx", rows)
    shots: list[Path] = []
    datasets = available_datasets()
    assert "enterprises" in datasets

    with airflow_stack(tmp_path, executor="LocalExecutor", kds_env={"KDS_HOME": str(kds_home)}) as stack:
        print(f"\nAirflow up in {time.monotonic() - started:.0f}s at {stack.base_url} (logs: {stack.logs})")
        run_id = ""
        try:
            stack.wait_for_dag("ingest_enterprises")
            d = browser
            # Log in through the FAB form (an unauthenticated visit is redirected to it).
            d.get(f"{stack.base_url}/")
            _wait(d, ec.visibility_of_element_located((By.ID, "username")), "the login form").send_keys(ADMIN_USER)
            d.find_element(By.ID, "password").send_keys(stack.admin_password)
            _shot(d, "login", shots)
            d.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
            _wait(d, lambda d: "/auth/login" not in d.current_url, "the redirect after login")

            # The DAG list shows every ingest DAG.
            d.get(f"{stack.base_url}/dags")
            for name in datasets:
                _wait(d, ec.presence_of_element_located((By.LINK_TEXT, f"ingest_{name}")), f"ingest_{name} in the list")
            _shot(d, "dag-list", shots)

            # Each ingest DAG's docs (doc_md from its spec), opened from its page as an operator would (the
            # list, the DAG, the docs button, back: in-app navigation, no page reloads).
            for name in datasets:
                link = (By.LINK_TEXT, f"ingest_{name}")
                _click(d, link, f"ingest_{name} in the list")
                docs_button = (By.CSS_SELECTOR, "[data-testid=markdown-button]")
                _click(d, docs_button, f"the docs button of ingest_{name}")
                heading = _wait(
                    d,
                    ec.visibility_of_element_located(
                        (By.XPATH, "//*[@role='dialog']//h2[contains(., 'When it fails')]")
                    ),
                    f"the docs of ingest_{name}",
                )
                docs = d.find_element(By.XPATH, "//*[@role='dialog'][.//h2[contains(., 'When it fails')]]")
                text = docs.get_attribute("textContent")
                assert get_spec(name).title.vi in text, f"ingest_{name} docs lack the spec's title"
                assert "Manual run" in text and "rejected" in text
                print(f"{time.strftime('%H:%M:%S')} docs of ingest_{name}")
                if name == "enterprises":
                    d.execute_script("arguments[0].scrollIntoView({block: 'start'})", heading)
                    _shot(d, "dag-docs", shots)
                d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
                _wait(d, ec.invisibility_of_element(docs), f"the docs of ingest_{name} to close")
                d.back()

            # Trigger ingest_enterprises through the form, with the period Param.
            _click(d, (By.LINK_TEXT, "ingest_enterprises"), "ingest_enterprises in the list")
            trigger = (By.CSS_SELECTOR, "[data-testid=trigger-dag-button]")
            _click(d, trigger, "the Trigger button")
            period = _wait(d, ec.element_to_be_clickable((By.ID, "element_period")), "the period Param field")
            period.send_keys("2025-03-31")
            _shot(d, "trigger-form", shots)
            _click(d, (By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]"), "the form's Trigger button")
            _wait(d, lambda d: "/runs/" in d.current_url, "the run page after triggering")
            run_id = d.current_url.rsplit("/runs/", 1)[1]
            print(f"{time.strftime('%H:%M:%S')} triggered {run_id}")

            # The run page shows the run succeed (it refreshes itself; reload in case it stopped polling).
            def ended(d: Any) -> str | bool:
                badges = d.find_elements(By.CSS_SELECTOR, "[data-testid=header-card] [data-testid=state-badge]")
                text = badges[0].text.strip() if badges else ""
                return text if text in ("Success", "Failed") else False

            deadline = time.monotonic() + 180
            state = ""
            while not state and time.monotonic() < deadline:
                try:
                    state = WebDriverWait(
                        d, 20, poll_frequency=1, ignored_exceptions=(StaleElementReferenceException,)
                    ).until(ended)
                except TimeoutException:
                    d.refresh()
            if state == "Success":  # the page as a fresh visitor sees it: the run and its task both succeeded
                d.refresh()
                _wait(
                    d,
                    lambda d: (
                        [b.text.strip() for b in d.find_elements(By.CSS_SELECTOR, "[data-testid=state-badge]")]
                        == ["Success", "Success"]
                    ),
                    "the run and its task shown as Success",
                )
            _shot(d, "run-success" if state == "Success" else "run-ended", shots)
            run = stack.http("GET", f"/api/v2/dags/ingest_enterprises/dagRuns/{run_id}")
            if state != "Success":
                pytest.fail(
                    f"run {run_id}: UI shows {state or 'no end state'}\n{stack.task_logs('ingest_enterprises', run_id)}"
                )
        except BaseException:
            with_shot = [str(p) for p in shots]
            print(f"screenshots so far: {with_shot}\n{stack.diagnostics()}")
            if run_id:
                print(stack.task_logs("ingest_enterprises", run_id))
            raise

    print("screenshots:\n" + "\n".join(f"  {p}" for p in shots))
    print(f"{time.monotonic() - started:.0f}s in all")
    assert run["state"] == "success" and run["conf"] == {"period": "2025-03-31", "force": False}
    assert run["triggered_by"] == "ui" and run["triggering_user_name"] == ADMIN_USER

    from pipelines.warehouse import connect

    with connect(f"duckdb:///{kds_home / 'warehouse.duckdb'}", read_only=True) as wh:
        assert wh.count("core.enterprise", "is_current") == sum(r.fate == "loaded" for r in rows)
