"""A headless Chromium for the browser tests (Debian's `chromium` and `chromium-driver`,
driven by selenium), one per module, its network and console logs kept.

Run with `make browser-test`; `make test` leaves this directory out. Without Chromium or
selenium the tests are skipped, unless FLASKSCOPE_BROWSER=required (as the make target
sets it), when their absence fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[browser]')"
    if CHROMIUM is None or DRIVER is None:
        return "Chromium and its driver are not installed (apt-get install chromium " \
               "chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("FLASKSCOPE_BROWSER") == "required":
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,900",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page_file(tmp_path: Path):
    """Write a page's HTML to a file and give its file:// URL."""

    def write(html: str, name: str = "report.html") -> str:
        path = tmp_path / name
        path.write_text(html, "utf-8")
        return path.as_uri()

    return write
