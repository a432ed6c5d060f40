"""`flaskscope serve APP --web`: the report page served live on a loopback port of its own,
a request sent to the app appearing there within a second."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flaskscope_testing import REPO_ROOT, fixture_path

_URL = re.compile(r"http://127\.0\.0\.1:\d+/?")


@pytest.fixture
def served() -> Iterator[tuple[str, str]]:
    """(the app's URL, the live page's URL) of a `serve --web` run on seed_views."""
    command = [str(Path(sys.executable).with_name("flaskscope")), "serve",
               fixture_path("seed_views"), "--port", "0", "--web"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")),
                     daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while not any("press CTRL+C" in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        app = _URL.search(next(line for line in lines if "with recording on" in line))[0]
        page = _URL.search(next(line for line in lines if "live report page" in line))[0]
        yield app.rstrip("/"), page
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _rows(browser: Any) -> int:
    return browser.execute_script("return document.querySelectorAll('#request-list button')"
                                  ".length")


def test_a_request_appears_within_a_second(browser: Any, served: tuple[str, str]) -> None:
    app, page = served
    browser.get_log("performance")
    browser.get(page)
    deadline = time.monotonic() + 10
    while _rows(browser) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert _rows(browser) == 1  # the registration
    time.sleep(0.3)  # the event stream is open
    for number in (1, 2):
        sent = time.monotonic()
        with urllib.request.urlopen(f"{app}/index", timeout=10) as response:
            assert response.status == 200
        while _rows(browser) < 1 + number:
            elapsed = time.monotonic() - sent
            assert elapsed < 1.0, f"request {number} not shown after {elapsed:.2f} s"
            time.sleep(0.01)
    browser.find_elements("css selector", "#request-list button")[-1].click()
    assert browser.execute_script("return document.body.dataset.step") == "0"
    assert "IndexView" in browser.find_element("id", "tree").text
    origin = page.rstrip("/")
    urls = [json.loads(e["message"])["message"]["params"]["request"]["url"]
            for e in browser.get_log("performance")
            if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"]
    assert urls and all(url.startswith(origin + "/") for url in urls), urls


def test_the_page_answers_only_its_own_host(served: tuple[str, str]) -> None:
    _, page = served
    request = urllib.request.Request(page, headers={"Host": "evil.example:80"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    refused.value.close()
    with urllib.request.urlopen(page, timeout=10) as response:
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
