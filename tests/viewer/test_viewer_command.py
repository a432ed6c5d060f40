"""`flaskscope view` and the viewer package's import rule."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT

import flaskscope.view_command
from flaskscope.cli import cli
from tracer import save
from tracer.model import Trace
from viewer.tui.app import ViewerApp
from viewer.tui.widgets.source_view import SourceView


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if `flaskscope view` ran in a terminal (a test's stdin and stdout are not one)."""
    monkeypatch.setattr(flaskscope.view_command, "has_terminal", lambda: True)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch, terminal: None) -> list[ViewerApp]:
    """Apps `flaskscope view` would have run (the terminal is not taken over)."""
    apps: list[ViewerApp] = []
    monkeypatch.setattr(ViewerApp, "run", lambda self, *a, **k: apps.append(self))
    monkeypatch.chdir(REPO_ROOT)
    return apps


def invoke(*args: str):
    return CliRunner().invoke(cli, ["view", *args], catch_exceptions=False)


def test_view_records_the_app_then_opens_the_viewer(opened: list[ViewerApp]) -> None:
    result = invoke("fixtures/seed_views.py", "GET", "/index")
    assert result.exit_code == 0, result.output
    (app,) = opened
    (request,) = app.trace.requests
    assert (request.method, request.path, request.status) == ("GET", "/index", 200)
    assert app.freeze_gc  # the viewer owns this process
    assert app.state.phase_index == 1


def test_view_opens_a_trace_file(opened: list[ViewerApp], tmp_path, views_trace: Trace) -> None:
    path = save(views_trace, tmp_path / "views.json.gz")
    assert invoke(str(path)).exit_code == 0
    (app,) = opened
    assert [r.method for r in app.trace.requests] == ["GET", "HEAD", "POST", "OPTIONS"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"{not json", "not valid JSON"),
     (b'{"format": "other"}', "not a flaskscope trace")],
)
def test_a_trace_file_that_cannot_be_opened_is_one_line_and_exit_2(
    opened: list[ViewerApp], tmp_path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_bytes(content)
    result = invoke(str(path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("flaskscope: error:")
    assert message in result.output and "Traceback" not in result.output
    assert opened == []


def test_a_file_found_damaged_while_viewing_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path, views_trace: Trace, terminal: None
) -> None:
    def run(self, *args, **kwargs) -> None:
        self.fail("bad step 7 in request 2: detail must be an object")

    monkeypatch.setattr(ViewerApp, "run", run)
    result = invoke(str(save(views_trace, tmp_path / "t.json")))
    assert result.exit_code == 2
    assert result.output == ("flaskscope: error: bad step 7 in request 2: detail must be an "
                             "object\n")
    assert gc.isenabled(), "the command turns the collector back on, whatever happened"


def _damage_last_chunk(path) -> None:
    lines = path.read_text("utf-8").split("\n")
    chunk = json.loads(lines[-2])
    chunk["extra"][1] = {"d": "not an object"}
    lines[-2] = json.dumps(chunk)
    path.write_text("\n".join(lines), "utf-8")


async def _settle(app: ViewerApp) -> None:
    """Until the app has ended or its background decoding is done."""
    for _ in range(200):
        await asyncio.sleep(0.01)
        if app.return_code is not None or all(w.is_finished for w in app.workers):
            return


async def test_the_viewer_decodes_the_rest_in_the_background_and_stops_at_damage(
    tmp_path, views_trace: Trace
) -> None:
    from tracer import load

    path = save(views_trace, tmp_path / "t.json")
    trace = load(path, lazy=True)
    app = ViewerApp(trace)
    async with app.run_test(size=(120, 40)):
        await _settle(app)
    assert app.error is None and not app.return_code
    assert all(chunk is not None for request in trace.requests
               for chunk in request.steps._extras.chunks), "everything decoded after start-up"

    _damage_last_chunk(path)
    app = ViewerApp(load(path, lazy=True))
    async with app.run_test(size=(120, 40)):
        await _settle(app)
    assert app.return_code == 2
    assert app.error is not None and "bad step 1 in request 3" in app.error


async def test_damage_met_while_stepping_ends_the_viewer_with_exit_2(
    tmp_path, views_trace: Trace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer import load

    path = save(views_trace, tmp_path / "t.json")
    _damage_last_chunk(path)
    monkeypatch.setattr(ViewerApp, "_preload", lambda self: None)  # only the reader reads
    app = ViewerApp(load(path, lazy=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.return_code is None
        app.call_later(app.open_phase, 4)  # the damaged request, as a click opens it
        for _ in range(200):
            await asyncio.sleep(0.01)
            if app.return_code is not None:
                break
    assert app.return_code == 2 and "bad step 1 in request 3" in app.error


def _flaskscope() -> list[str]:
    script = REPO_ROOT / ".venv" / "bin" / "flaskscope"
    return [str(script)] if script.exists() else [sys.executable, "-m", "flaskscope.cli"]


def test_without_a_terminal_view_prints_the_step_tree_and_ends() -> None:
    done = subprocess.run(
        [*_flaskscope(), "view", "fixtures/seed_views.py", "HEAD", "/index"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1 and "the viewer needs a terminal" in done.stderr
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == "registration of fixtures/seed_views.py"
    assert any(line.startswith("request 0: HEAD /index  → 200") for line in lines)
    for expected in ("auth.<locals>.inner [layer]", "[handler_lookup]",
                     "IndexView.get [handler]"):
        assert expected in done.stdout


def test_without_a_terminal_a_trace_file_prints_what_trace_printed(tmp_path) -> None:
    saved = tmp_path / "t.json.gz"
    traced = subprocess.run(
        [*_flaskscope(), "trace", "fixtures/seed_views.py", "GET", "/index", "-o", str(saved)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )
    assert traced.returncode == 0, traced.stderr
    viewed = subprocess.run([*_flaskscope(), "view", str(saved)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert viewed.returncode == 0, viewed.stderr
    assert viewed.stdout == traced.stdout.split("trace written to")[0]


def test_without_a_terminal_a_bad_source_is_still_one_line_and_exit_2(tmp_path) -> None:
    result = invoke(str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "does not exist" in result.stderr


def test_an_app_without_a_request_is_refused(opened: list[ViewerApp]) -> None:
    result = invoke("fixtures/seed_views.py")
    assert result.exit_code == 2 and "give the request too" in result.output


async def test_a_loaded_trace_file_shows_its_embedded_source(tmp_path, views_trace) -> None:
    from tracer import load

    trace = load(save(views_trace, tmp_path / "t.json"))
    app = ViewerApp(trace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        source = app.query_one(SourceView)
        assert source.file is not None
        assert "def wsgi_app" in source.file.line(source.location.line).plain


def test_tracer_never_imports_textual() -> None:
    code = ("import sys, flaskscope.cli; "
            "print('textual' in sys.modules, 'viewer.tui.app' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, check=True).stdout.split()
    assert out == ["False", "False"]


async def test_the_collector_resumes_once_the_trace_is_decoded(tmp_path, views_trace) -> None:
    from tracer import load

    thresholds = gc.get_threshold()
    app = ViewerApp(load(save(views_trace, tmp_path / "t.json"), lazy=True), freeze_gc=True)
    try:
        assert not gc.isenabled(), "off while the first screen is built"
        async with app.run_test(size=(120, 40)):
            await _settle(app)
            for _ in range(100):  # the worker hands back to the app's thread
                if gc.isenabled():
                    break
                await asyncio.sleep(0.01)
            assert gc.isenabled() and gc.get_freeze_count() > 0
            assert gc.get_threshold()[2] == 100
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()
