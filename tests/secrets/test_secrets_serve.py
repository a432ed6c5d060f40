"""`flaskscope serve` shows no secret: neither its request log nor the trace files it
writes (their names included), in hook and line mode. Loopback only, a bounded number of
requests."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from test_secrets_everywhere import SECRETS, _markers, _without_app_source

import tracer

FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))
APP = str(Path(__file__).parents[2] / "fixtures" / "secrets_app.py")
TIMEOUT = 30


def _send(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    basic = base64.b64encode(f"alice:{SECRETS['basic']}".encode()).decode()
    requests = [
        urllib.request.Request(f"{base}/echo", headers={
            "Authorization": f"Bearer {SECRETS['bearer']}", "X-Api-Key": SECRETS["api_header"],
            "Cookie": f"tracking={SECRETS['cookie']}"}),
        urllib.request.Request(f"{base}/echo", headers={"Authorization": f"Basic {basic}"}),
        urllib.request.Request(f"{base}/login", data=urllib.parse.urlencode(
            {"user": "alice", "pwd": SECRETS["form"]}).encode()),
        urllib.request.Request(f"{base}/api", data=f'{{"token": "{SECRETS["json"]}"}}'.encode(),
                               headers={"Content-Type": "application/json"}, method="POST"),
        urllib.request.Request(f"{base}/search?q=x&api_key={SECRETS['query']}"),
        urllib.request.Request(f"{base}/reset/{SECRETS['path']}"),
    ]
    for request in requests:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            assert answer.status == 200


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_the_log_and_the_record_files_hold_no_secret(tmp_path: Path, lines: bool) -> None:
    record = tmp_path / "recorded"
    command = [FLASKSCOPE, "serve", APP, "--port", "0", "--no-viewer", "--record-dir",
               str(record), *(["--lines"] if lines else [])]
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
                          ) as process:
        try:
            assert process.stdout is not None
            said: list[str] = []
            deadline = time.monotonic() + TIMEOUT
            while not any(line.startswith(" * ready") for line in said):
                assert time.monotonic() < deadline and process.poll() is None, said
                said.append(process.stdout.readline())
            port = int(said[0].split("http://127.0.0.1:")[1].split()[0])
            _send(port)
            while len([p for p in record.glob("0*.json")]) < 6:
                assert time.monotonic() < deadline, list(record.iterdir())
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=TIMEOUT)
    log = "".join(said) + out + err
    assert "GET /reset/*** → 200" in log
    assert _markers(log) == []
    names = sorted(p.name for p in record.iterdir())
    assert _markers(" ".join(names)) == [] and "0005-GET-reset.json" in names
    for path in record.iterdir():
        text = path.read_text()
        assert _markers(_without_app_source(text, tracer.load(path))) == [], path.name
    assert os.path.exists(record / "registration.json")
