"""`flaskscope serve`: a real server on a free loopback port, real HTTP requests.

Every server here listens on 127.0.0.1, port 0 (a free one), is sent a bounded number of
requests with a timeout each, and is stopped by the test that started it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tracer
from tracer.errors import ServeError
from tracer.frameworks.werkzeug.serving import listen
from tracer.live.config import ServeConfig
from tracer.live.server import Server
from tracer.live.spool import next_free_id, trace_file_name
from viewer.export import curl_commands
from viewer.live import LiveFeed, StopReport, banner, request_line

TIMEOUT = 15.0
FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))

APP = '''
import time

from flask import Flask

app = Flask(__name__)


@app.get("/slow/<int:n>")
def slow(n):
    time.sleep(0.3)
    return f"slow {n}"


@app.get("/hello")
def hello():
    return "hello VERSION"
'''


class EventLog:
    """The server's events, with a way to wait for the ones a test expects."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self.forward: Callable[[dict[str, Any]], None] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        if self.forward is not None:
            self.forward(event)

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e["event"] == kind]

    def wait(self, kind: str, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + TIMEOUT
        with self._changed:
            while len([e for e in self.events if e["event"] == kind]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"waited for {count} {kind!r} events: {self.events}"
                self._changed.wait(left)
        return self.of(kind)


def write_app(path: Path, version: str) -> None:
    path.write_text(textwrap.dedent(APP).replace("VERSION", version))


def get(port: int, path: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT) as answer:
        return answer.status, answer.read().decode()


@pytest.fixture
def serving(tmp_path, monkeypatch) -> Iterator[Callable[..., tuple[Server, EventLog, int]]]:
    """Start a recording server on 127.0.0.1 and a free port; stopped at teardown."""
    monkeypatch.chdir(tmp_path)  # what the reloader scans
    started: list[tuple[Server, Any]] = []

    def start(app: Path, *, reload: bool = False) -> tuple[Server, EventLog, int]:
        sock = listen("127.0.0.1", 0)
        port = sock.getsockname()[1]
        spool = tmp_path / "traces"
        spool.mkdir(exist_ok=True)
        events = EventLog()
        config = ServeConfig(app=str(app), host="127.0.0.1", port=port, spool=str(spool),
                             events_fd=-1, reload=reload)
        server = Server(config, sock, events)
        started.append((server, sock))
        server.start()
        events.wait("ready")
        return server, events, port

    yield start
    for server, sock in started:
        server.stop()
        sock.close()


def test_each_request_is_saved_and_concurrent_requests_are_kept_apart(serving,
                                                                      tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    server, events, port = serving(app)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda n: get(port, f"/slow/{n}"), range(6)))
    assert answers == [(200, f"slow {n}") for n in range(6)]
    reported = events.wait("request", 6)
    assert sorted(e["id"] for e in reported) == list(range(6))

    requests = []
    for event in reported:
        trace = tracer.load(event["file"])
        assert Path(event["file"]).name == trace_file_name(event["id"], "GET", event["path"])
        (request,) = trace.requests
        assert request.id == event["id"] and request.status == 200
        n = request.path.rsplit("/", 1)[1]
        assert request.view_args == {"n": n}
        # Only this request's own steps: one view call, with its own argument.
        views = [s for s in request.steps if s.kind == "call" and s.role == "view"]
        assert [(v.name, v.detail.get("n")) for v in views] == [("slow", n)]
        assert {s.thread for s in request.steps} == {request.thread}
        top = request.steps[0]
        assert top.role == "request" and top.facts["path"] == request.path
        assert top.detail["header User-Agent"].startswith("'Python-urllib/")
        assert {r.endpoint for r in trace.routes} >= {"slow", "hello"}
        requests.append(request)
    # They really ran at the same time, on different threads.
    starts = [r.steps[0].time_ns for r in requests]
    ends = [r.steps[-1].time_ns for r in requests]
    assert max(starts) < min(ends)
    assert len({r.thread for r in requests}) == 6
    registration = tracer.load(tmp_path / "traces" / "registration.json")
    assert registration.requests == () and any(
        s.role == "add_url_rule" and s.facts.get("endpoint") == "slow"
        for s in registration.registration.steps)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_saved_trace_replays_with_curl_against_the_server(serving, tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    server, events, port = serving(app)
    assert get(port, "/hello") == (200, "hello v1")
    (event,) = events.wait("request")
    command = curl_commands(tracer.load(event["file"])).text  # the Host names the port
    assert f"http://127.0.0.1:{port}/hello" in command
    result = subprocess.run(["sh", "-c", command.replace("curl ", "curl -s ", 1)],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.stdout == "hello v1"
    assert len(events.wait("request", 2)) == 2


async def test_the_viewer_requests_pane_fills_as_requests_arrive(serving, tmp_path) -> None:
    from viewer.tui.app import ViewerApp
    from viewer.tui.widgets.request_list import RequestList

    app_file = tmp_path / "live_app.py"
    write_app(app_file, "v1")
    server, events, port = serving(app_file)
    viewer = ViewerApp(tracer.load(events.of("ready")[0]["registration"]))
    async with viewer.run_test(size=(140, 40)) as pilot:
        feed = LiveFeed(viewer, ["live"])
        events.forward = feed.handle
        feed.start()
        pane = viewer.screen.query_one(RequestList)
        assert pane.row_count() == 1  # the registration only

        async def arrived(count: int) -> None:
            deadline = time.monotonic() + TIMEOUT
            while len(viewer.state.phases) < count + 1:
                assert time.monotonic() < deadline, "the requests never reached the viewer"
                await pilot.pause(0.05)

        assert await asyncio.to_thread(get, port, "/hello") == (200, "hello v1")
        await arrived(1)
        pane.focus()
        await pilot.pause()
        await pilot.press("down")  # open the first request, as a reader would
        await pilot.pause()
        assert viewer.state.phase.request.path == "/hello"
        position = viewer.position
        await asyncio.gather(*(asyncio.to_thread(get, port, f"/slow/{n}") for n in range(3)))
        await arrived(4)
        await pilot.pause()
        assert viewer.position == position  # new rows never move the reader
        rows = [pane.render_row(row, 120).plain for row in range(pane.row_count())]
        assert rows[0].startswith("registration")
        assert "GET /hello → 200 ok  hello" in rows[1]
        assert sorted(row.split(" ", 1)[1].split("  ")[0] for row in rows[2:]) == [
            "GET /slow/0 → 200 ok", "GET /slow/1 → 200 ok", "GET /slow/2 → 200 ok"]
        await pilot.press("down")
        await pilot.pause()
        assert viewer.state.phase.request.path.startswith("/slow/")
        assert viewer.state.navigator.current is not None
        feed.close()


def test_the_reloader_restarts_the_server_which_still_records(serving, tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    server, events, port = serving(app, reload=True)
    first_pid = events.of("ready")[0]["pid"]
    assert get(port, "/hello") == (200, "hello v1")
    events.wait("request")
    time.sleep(1.1)  # the stat reloader compares modification times once a second
    write_app(app, "v2")
    future = time.time() + 2
    os.utime(app, (future, future))
    events.wait("reloading")
    (_, second) = events.wait("ready", 2)
    assert second["pid"] != first_pid
    assert get(port, "/hello") == (200, "hello v2")
    (_, event) = events.wait("request", 2)
    trace = tracer.load(event["file"])
    assert event["id"] == 1  # numbering goes on after the restart
    assert trace.requests[0].status == 200
    hello = next(s for s in trace.requests[0].steps if s.role == "view")
    assert trace.sources[hello.file].lines[hello.line + 2].strip() == 'return "hello v2"'
    assert any(s.role == "add_url_rule" for s in trace.registration.steps)


def _ctrl_c_stops() -> None:
    """Ctrl+C's default in the child even when the suite itself runs in the background,
    where the shell has the inherited SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_command_says_where_it_listens_and_prints_each_request(tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    record = tmp_path / "recorded"
    with subprocess.Popen(
        [FLASKSCOPE, "serve", str(app), "--port", "0", "--no-viewer", "--record-dir",
         str(record)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=_ctrl_c_stops) as process:
        try:
            lines: list[str] = []
            deadline = time.monotonic() + TIMEOUT
            assert process.stdout is not None and process.stderr is not None
            while not any(line.startswith(" * ready") for line in lines):
                assert time.monotonic() < deadline and process.poll() is None, lines
                lines.append(process.stdout.readline())
            port = int(lines[0].split("http://127.0.0.1:")[1].split()[0])
            assert "listening on 127.0.0.1 only (loopback)" in lines[1]
            assert f"saved in {record}" in lines[2]
            assert get(port, "/hello") == (200, "hello v1")
            assert get(port, "/slow/4") == (200, "slow 4")
            printed = [process.stdout.readline().strip() for _ in range(2)]
            assert printed[0].startswith("#0 GET /hello → 200 ok  hello  ")
            assert printed[1].startswith("#1 GET /slow/4 → 200 ok  slow  ")
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()  # never leave the suite waiting on it
                raise
        assert process.returncode == 0, process.stderr.read()
    assert sorted(p.name for p in record.iterdir()) == [
        "0000-GET-hello.json", "0001-GET-slow-4.json", "registration.json"]


def test_a_taken_port_and_an_open_host_are_said_plainly() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}: .*--port 0"):
            listen("127.0.0.1", port)
    finally:
        sock.close()
    said = banner("app.py", "0.0.0.0", 5000, None, False)
    assert said[1].startswith(" * WARNING: listening on 0.0.0.0: anyone who can reach")
    assert "loopback" in banner("app.py", "::1", 5000, None, False)[1]


def send_raw(port: int, request_line: bytes) -> bytes:
    """Send one request as raw bytes (a client need not be polite); the status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as connection:
        connection.sendall(request_line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        return connection.recv(64).split(b"\r\n", 1)[0]


def test_hostile_methods_and_paths_are_recorded_under_safe_names(serving, tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    server, events, port = serving(app)
    assert send_raw(port, b"GET/x /p HTTP/1.1").endswith(b"404 NOT FOUND")
    assert send_raw(port, b"GET /..%2f..%2fescape%1b[2J/.. HTTP/1.1").endswith(b"NOT FOUND")
    assert get(port, "/hello") == (200, "hello v1")  # and recording goes on
    reported = events.wait("request", 3)
    spool = tmp_path / "traces"
    assert [Path(e["file"]).name for e in reported] == [
        "0000-OTHER-p.json", "0001-GET-escape-2J.json", "0002-GET-hello.json"]
    assert sorted(p.name for p in spool.iterdir()) == [
        "0000-OTHER-p.json", "0001-GET-escape-2J.json", "0002-GET-hello.json",
        "registration.json"]
    (first,) = tracer.load(reported[0]["file"]).requests
    assert (first.method, first.path) == ("GET/x", "/p")  # the trace keeps what was sent
    assert tracer.load(reported[1]["file"]).requests[0].path == "/../../escape\x1b[2J/.."
    assert events.of("problem") == []
    # Exports can aim at the server itself, whatever Host header a client sent.
    assert tracer.load(reported[2]["file"]).meta["server"] == f"http://127.0.0.1:{port}"


def test_a_trace_that_cannot_be_written_is_reported_and_recording_goes_on(serving,
                                                                         tmp_path) -> None:
    app = tmp_path / "live_app.py"
    write_app(app, "v1")
    server, events, port = serving(app)
    (tmp_path / "traces" / ".0000-GET-hello.json.tmp").mkdir()  # where #0 is first written
    assert get(port, "/hello") == (200, "hello v1")
    (problem,) = events.wait("problem")
    assert problem["message"].startswith(
        "the trace of request #0 (GET /hello) was not written: TraceFileError: cannot write")
    assert "\n" not in problem["message"]
    assert get(port, "/hello") == (200, "hello v1")
    (event,) = events.wait("request")
    assert Path(event["file"]).name == "0001-GET-hello.json"
    assert tracer.load(event["file"]).requests[0].status == 200
    server.stop()
    (stopped,) = events.of("stopped")
    assert (stopped["written"], stopped["failed"], stopped["dropped"]) == (1, 1, 0)


def test_numbering_continues_after_files_already_there(tmp_path) -> None:
    assert next_free_id(tmp_path) == 0
    (tmp_path / "0007-GET-x.json").write_text("{}")
    (tmp_path / "registration.json").write_text("{}")
    assert next_free_id(tmp_path) == 8
    assert trace_file_name(3, "POST", "/shop/items/7") == "0003-POST-shop-items-7.json"
    assert trace_file_name(0, "GET", "/") == "0000-GET-root.json"
    assert trace_file_name(4, "GET", "/static/site.min.css") == "0004-GET-static-site.min.css.json"


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET/x", "/p", "0001-OTHER-p.json"),
    ("GET", "/../../etc/passwd", "0001-GET-etc-passwd.json"),
    ("PUT", "/..\\..\\x", "0001-PUT-x.json"),
    ("G\x1bT", "/a\x00b\nc", "0001-OTHER-a-b-c.json"),
    ("DELETE", "/.../..../", "0001-DELETE-root.json"),
    ("GET", "/" + "a" * 59 + ".b", "0001-GET-" + "a" * 59 + ".json"),
    ("ÉTÉ", "/été", "0001-OTHER-t.json"),
])
def test_file_names_from_hostile_requests(method, path, name) -> None:
    assert trace_file_name(1, method, path) == name


@given(st.text(max_size=30), st.text(max_size=300))
def test_a_file_name_never_leaves_the_record_directory(method, path) -> None:
    name = trace_file_name(12, method, path)
    assert re.fullmatch(r"0012-[A-Za-z]{1,16}-[A-Za-z0-9_.-]{1,60}\.json", name), name
    assert ".." not in name and not name.startswith(".")


def test_the_request_line_escapes_what_the_client_sent() -> None:
    event = {"id": 3, "method": "G\x1bT", "path": "/a\x1b[2J\u202eb/é\x7f", "status": 404,
             "outcome": "not_found", "endpoint": None, "duration_ms": 1.25, "steps": 9}
    line = request_line(event)
    assert line == "#3 G\\x1bT /a\\x1b[2J\\u202eb/é\\x7f → 404 not_found  1.2 ms  9 steps"
    assert line.isprintable()


def test_the_request_line_shows_the_query_as_requests_lists_it() -> None:
    event = {"id": 9, "method": "GET", "path": "/cookies/set", "query": "flavour=\x1boat",
             "status": 302, "outcome": "redirect", "endpoint": "set_cookies",
             "duration_ms": 0.749, "steps": 34}
    assert request_line(event) == ("#9 GET /cookies/set?flavour=\\x1boat → 302 redirect  "
                                   "set_cookies  0.7 ms  34 steps")


def test_the_last_word_accounts_for_every_trace() -> None:
    report = StopReport()
    assert report.line() == " * 0 traces written"
    report.add({"event": "stopped", "written": 1, "failed": 0, "dropped": 0, "timeout": 10})
    assert (report.line(), report.lost) == (" * 1 trace written", False)
    report.add({"event": "stopped", "written": 4, "failed": 2, "dropped": 3, "timeout": 0.5})
    assert report.lost
    assert report.line() == (" * 5 traces written; 2 could not be written (see the messages "
                             "above); 3 dropped: still pending 0.5 s after the stop "
                             "(--stop-timeout waits longer)")
    assert report.line(killed=True).endswith("; the server did not stop in time and was "
                                             "killed: traces it still held were lost")
