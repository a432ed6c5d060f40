"""`serve` and the pytest plugin write stores, and both write one store at once.

The server listens on 127.0.0.1, port 0, gets a bounded number of requests with a
timeout each, and is stopped by the test that started it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from tracer.store import StoreReader

TIMEOUT = 15.0
FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))

APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/work/<int:n>")
def work(n):
    return str(n * 2)
'''

TESTS = '''
from app_under_test import app


def test_one():
    assert app.test_client().get("/work/1").status_code == 200


def test_two():
    client = app.test_client()
    assert client.get("/work/2").status_code == 200
    assert client.get("/nowhere").status_code == 404


def test_three_fails():
    assert app.test_client().get("/work/3").status_code == 404
'''


def _serve(folder: Path, *options: str) -> tuple[subprocess.Popen, int, list[str]]:
    process = subprocess.Popen(
        [FLASKSCOPE, "serve", "app_under_test.py", "--port", "0", "--no-viewer", *options],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + TIMEOUT
    while not any(line.startswith(" * ready") for line in lines):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError(f"the server never got ready: {lines} "
                                 f"{process.communicate()}")
        lines.append(process.stdout.readline())
    port = int(lines[0].split("http://127.0.0.1:")[1].split()[0])
    return process, port, lines


def _get(port: int, count: int) -> int:
    def one(n: int) -> bool:
        url = f"http://127.0.0.1:{port}/work/{n}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return answer.status == 200 and answer.read() == str(n * 2).encode()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return sum(pool.map(one, range(count)))


def _project(folder: Path) -> None:
    (folder / "app_under_test.py").write_text(textwrap.dedent(APP))
    (folder / "test_app.py").write_text(textwrap.dedent(TESTS))


def test_serve_stores_beside_the_app_by_default_and_says_where(tmp_path) -> None:
    _project(tmp_path)
    process, port, said = _serve(tmp_path)
    store = tmp_path / ".flaskscope" / "traces.db"
    assert f" * requests are stored in {store}" in "".join(said)
    assert _get(port, 40) == 40
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert " * 40 traces written" in out + err
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert sorted(row.path for row in rows) == sorted(f"/work/{n}" for n in range(40))
        for row in rows[::9]:
            (request,) = reader.request_trace(row.id).requests
            assert (request.id, request.path, request.status) == (row.id, row.path, 200)


def test_serve_and_pytest_write_one_store_at_once(tmp_path) -> None:
    _project(tmp_path)
    store = tmp_path / "shared.db"
    process, port, _ = _serve(tmp_path, "--store", str(store))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    tests = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py",
         "--flaskscope-store", str(store)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = _get(port, 60)
    tests_out, tests_err = tests.communicate(timeout=120)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert tests.returncode == 1, tests_out + tests_err  # test_three_fails, as written
    assert "1 failed, 2 passed" in tests_out
    assert f"4 requests stored in {store.name}" in tests_out
    assert (f"this test's requests are stored in {store.name}: flaskscope requests "
            f"{store.name} --test test_app.py::test_three_fails") in tests_out
    assert served == 60
    with StoreReader(store) as reader:
        rows = reader.rows()
        from_tests = sorted((row.test_id or "", row.path) for row in rows if row.test_id)
        assert from_tests == [("test_app.py::test_one", "/work/1"),
                              ("test_app.py::test_three_fails", "/work/3"),
                              ("test_app.py::test_two", "/nowhere"),
                              ("test_app.py::test_two", "/work/2")]
        assert len([row for row in rows if row.test_id is None]) == 60
        for row in rows[::7]:
            assert reader.request_trace(row.id).requests[0].path == row.path
    with closing(sqlite3.connect(store)) as connection, connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_store_of_a_newer_version_stops_serve_in_one_line(tmp_path) -> None:
    _project(tmp_path)
    store = tmp_path / "new.db"
    from tracer.store import StoreWriter

    StoreWriter(store).close()
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("PRAGMA user_version = 5")
    result = subprocess.run(
        [FLASKSCOPE, "serve", "app_under_test.py", "--port", "0", "--no-viewer",
         "--store", str(store)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"flaskscope: error: trace store {str(store)!r} was written by a newer flaskscope "
        "(store version 5; this one reads up to 1): upgrade flaskscope to read it"]


def test_serve_keeps_the_newest_requests_and_says_what_it_dropped(tmp_path) -> None:
    _project(tmp_path)
    store = tmp_path / "kept.db"
    process, port, _ = _serve(tmp_path, "--store", str(store), "--keep", "10")
    assert _get(port, 32) == 32
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    dropped = [line for line in (out + err).splitlines() if "dropped from the store" in line]
    assert dropped and all("keep the newest 10 requests" in line for line in dropped)
    assert sum(int(line.split()[1]) for line in dropped) == 22
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert len(rows) == 10 and reader.count("pruned") == 22
        assert [row.id for row in rows] == list(range(32, 22, -1))


def test_kill_9_of_serve_under_load_leaves_a_store_that_opens(tmp_path) -> None:
    _project(tmp_path)
    store = tmp_path / "killed.db"
    process, port, said = _serve(tmp_path, "--store", str(store))
    server_pid = int(said[-1].split("server pid ")[1].split(")")[0])
    loading = ThreadPoolExecutor(max_workers=1)
    sent = loading.submit(_get_ignoring_errors, port, 400)
    deadline = time.monotonic() + TIMEOUT
    while _stored(store) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server_pid, signal.SIGKILL)
    process.kill()
    process.communicate(timeout=30)
    sent.result(timeout=120)
    loading.shutdown()
    with closing(sqlite3.connect(store)) as connection, connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert len(rows) >= 50
        for row in rows:
            (request,) = reader.request_trace(row.id).requests
            assert (request.id, request.path) == (row.id, row.path)


def _stored(store: Path) -> int:
    try:
        with closing(sqlite3.connect(store)) as connection, connection:
            return connection.execute("SELECT count(*) FROM requests").fetchone()[0]
    except sqlite3.Error:
        return 0


def _get_ignoring_errors(port: int, count: int) -> int:
    answered = 0
    for n in range(count):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/work/{n}", timeout=2) as r:
                answered += r.status == 200
        except OSError:
            return answered  # the server is gone
    return answered
