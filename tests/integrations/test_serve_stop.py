"""`flaskscope serve` under load, stopped by SIGTERM or Ctrl+C: every trace accounted for.

Each test starts the real command on 127.0.0.1 and a free port, sends a bounded number of
requests (each with a timeout) from a few threads, stops it while traces are still queued,
and checks that what it says it wrote and dropped adds up to the requests it served.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TIMEOUT = 15.0
REQUESTS = 200
THREADS = 8
FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))

APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/work/<int:n>")
def work(n):
    total = 0
    for i in range(200):
        total += i * n
    return str(total)
'''
_SUMMARY = re.compile(r" \* (\d+) traces? written(?:; (\d+) dropped: still pending "
                      r"([\d.]+) s after the stop \(--stop-timeout waits longer\))?")


def _ctrl_c_stops() -> None:
    """Ctrl+C's default in the child even when the suite runs in the background."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, int, Path]:
    """`flaskscope serve` on a free loopback port, ready; its process, port and record dir."""
    app = tmp_path / "load_app.py"
    app.write_text(textwrap.dedent(APP))
    record = tmp_path / "recorded"
    process = subprocess.Popen(
        [FLASKSCOPE, "serve", str(app), "--host", "127.0.0.1", "--port", "0", "--no-viewer",
         "--record-dir", str(record), *options],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ctrl_c_stops)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + TIMEOUT
    while not any(line.startswith(" * ready") for line in lines):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.communicate()
            raise AssertionError(f"the server never got ready: {lines}")
        lines.append(process.stdout.readline())
    port = int(lines[0].split("http://127.0.0.1:")[1].split()[0])
    return process, port, record


def _load(port: int, path: str = "/work/{n}") -> int:
    """`REQUESTS` requests from `THREADS` threads; how many were answered."""
    def get(n: int) -> bool:
        url = f"http://127.0.0.1:{port}{path.format(n=n)}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return answer.status == 200 and bool(answer.read())

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return sum(pool.map(get, range(REQUESTS)))


def _stop(process: subprocess.Popen, number: int) -> tuple[str, str, float]:
    """Send signal `number`; what the command printed, and how long it took to end."""
    started = time.monotonic()
    process.send_signal(number)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()  # never leave the suite waiting on it
        process.communicate()
        raise
    return out, err, time.monotonic() - started


def _summary(text: str) -> tuple[int, int]:
    """Written and dropped, from the command's last word."""
    (match,) = [m for m in map(_SUMMARY.fullmatch, text.splitlines()) if m]
    return int(match[1]), int(match[2] or 0)


def test_sigterm_under_load_writes_or_counts_every_served_request(tmp_path) -> None:
    # Line mode makes each trace slow to write, so they queue behind the requests.
    process, port, record = _start(tmp_path, "--lines", "--stop-timeout", "1")
    try:
        served = _load(port)
    finally:
        out, err, took = _stop(process, signal.SIGTERM)
    assert served == REQUESTS
    assert process.returncode == 0, err
    written, dropped = _summary(out + err)
    printed = [line for line in out.splitlines() if line.startswith("#")]
    # A write the stop cut short may leave its hidden temporary file: never a trace.
    files = list(record.glob("[0-9]*.json"))
    assert written + dropped == served, out[-500:] + err
    assert len(printed) == len(files) == written
    assert "could not be written" not in out + err
    assert took < 1 + 5  # the stop timeout, and well within the grace before a kill
    if dropped:
        assert f" * {written} traces written; {dropped} dropped" in err  # said on stderr


def test_ctrl_c_with_a_write_that_hangs_ends_in_bounded_time_and_counts_the_rest(
        tmp_path) -> None:
    process, port, record = _start(tmp_path, "--stop-timeout", "0.5")
    # Opening a FIFO to write waits for a reader that never comes: trace #5 never finishes,
    # and every later one queues behind it.
    os.mkfifo(record / ".0005-GET-work-1.json.tmp")
    try:
        served = _load(port, "/work/1")
    finally:
        out, err, took = _stop(process, signal.SIGINT)
    assert served == REQUESTS
    assert process.returncode == 0, err
    assert _summary(out + err) == (5, REQUESTS - 5)
    assert (" * 5 traces written; 195 dropped: still pending 0.5 s after the stop "
            "(--stop-timeout waits longer)\n") in err
    assert len([line for line in out.splitlines() if line.startswith("#")]) == 5
    assert sorted(path.name for path in record.iterdir() if path.suffix == ".json") == [
        f"000{n}-GET-work-1.json" for n in range(5)] + ["registration.json"]
    assert took < 0.5 + 4  # not the grace the console gives before killing the server
