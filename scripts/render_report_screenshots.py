"""Screenshots of the HTML report for the README (docs/img/report-*.png), taken in headless
Chromium: `.venv/bin/python scripts/render_report_screenshots.py` after `make browser-test`
has installed Chromium and selenium."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import Select

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "img"
FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))
#: (picture, report arguments, fragment, language)
SHOTS = [
    ("report-seed_views.png", ["fixtures/seed_views.py", "GET", "/index"], "#r0/s10", "en"),
    ("report-seed_views-zh.png", ["fixtures/seed_views.py", "GET", "/index"], "#r0/s14",
     "zh"),
    ("report-lines.png", ["fixtures/seed_views.py", "GET", "/index", "--lines"], "#r0/s41",
     "en"),
]


def main() -> None:
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--window-size=1400,860", "--hide-scrollbars"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium") or "chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        with tempfile.TemporaryDirectory() as work:
            for name, arguments, fragment, lang in SHOTS:
                page = Path(work, name).with_suffix(".html")
                subprocess.run([FLASKSCOPE, "report", *arguments, "-o", str(page)], cwd=ROOT,
                               check=True, stdout=subprocess.DEVNULL)
                driver.get(page.as_uri() + fragment)
                time.sleep(0.5)
                if lang != "en":
                    Select(driver.find_element("id", "lang")).select_by_value(lang)
                    time.sleep(0.2)
                driver.save_screenshot(str(IMAGES / name))
                print(f"wrote docs/img/{name}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
