"""`flaskscope trace` and `flaskscope routes` through click, and one real subprocess."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT, fixture_path
from rich.console import Console

import tracer
from flaskscope.cli import cli


def test_trace_prints_the_step_tree_and_writes_the_file(run, tmp_path) -> None:
    out = tmp_path / "t.json"
    result = run("trace", "fixtures/seed_views.py", "GET", "/index", "-o", str(out))
    assert result.exit_code == 0, result.output
    for expected in ("Flask.wsgi_app", "auth.<locals>.inner", "MethodView.dispatch_request",
                     "IndexView.get", "'Index.GET'", "registration of fixtures/seed_views.py",
                     "View.as_view", "request 0: GET /index"):
        assert expected in result.output
    trace = tracer.load(out)
    assert trace.requests[0].status == 200
    assert trace.meta["app"] == "fixtures/seed_views.py"


def test_the_tree_of_a_hook_mode_trace_has_no_bare_line_numbers() -> None:
    """Hook mode records the lines explain may quote (inside requests on 3.12+, in
    registration everywhere): the printed tree leaves them out; `--lines` shows its own."""
    from viewer.render import step_tree

    trace = tracer.load(REPO_ROOT / "tests/tracer/data/trace-v4.json")
    call = trace.requests[0].steps[0]
    line = dataclasses.replace(call, id=len(trace.requests[0].steps), parent=call.id,
                               kind="line", line=1510, detail={})
    steps = (*trace.requests[0].steps, line)
    console = Console(width=200, record=True)
    console.print(step_tree(steps, "hooks", lines=False))
    assert "1510" not in console.export_text()
    console.print(step_tree(steps, "lines"))
    assert "1510" in console.export_text()


@pytest.mark.parametrize("app_ref", ["fixtures.seed_views", "fixtures.seed_views:app",
                                     "fixtures/seed_views.py"])
def test_every_flask_app_form(run, app_ref) -> None:
    result = run("trace", app_ref, "/index", "--no-registration")
    assert result.exit_code == 0, result.output
    assert "IndexView.get" in result.output and "registration" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (("trace", "fixtures/seed_views.py", "FETCH", "/index"), "unknown HTTP method 'FETCH'"),
    (("trace", "fixtures/seed_views.py", "GET", "index"), "must start with '/'"),
    (("trace", "fixtures/seed_views.py"), "expected APP [METHOD] PATH"),
    (("trace", "fixtures/no_such_app.py", "/"), "could not import"),
    (("trace", "fixtures/seed_views.py", "/x", "-d", "novalue"), "KEY=VALUE"),
    (("trace", "fixtures/seed_views.py", "/x", "-H", "NoColon"), "'Name: value'"),
    (("trace", "fixtures/seed_views.py", "/x", "--json", "{bad"), "--json is not valid JSON"),
    (("routes", "fixtures.seed_views:nothing"), "nothing"),
])
def test_bad_input_is_one_line_and_exit_2(run, args, message) -> None:
    result = run(*args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert message.lower() in lines[0].lower()


def test_http_errors_are_outcomes_not_tool_errors(run) -> None:
    for method, path, expected in (("POST", "/index", "405"), ("GET", "/missing", "404")):
        result = run("trace", "fixtures/seed_views.py", method, path, "--no-registration")
        assert result.exit_code == 0
        assert f"→ {expected}" in result.output


def test_collision_still_writes_the_registration_trace(run, tmp_path) -> None:
    out = tmp_path / "c.json"
    result = run("trace", "fixtures/seed_collision.py", "/index", "-o", str(out))
    assert result.exit_code == 2
    assert "overwriting an existing endpoint function: index" in result.output.splitlines()[-1]
    assert "view_collision" in result.output
    trace = tracer.load(out)
    assert any(s.role == "view_collision" for s in trace.registration.steps)


def test_routes_lists_chain_outer_to_inner(run) -> None:
    result = CliRunner().invoke(cli, ["routes", "fixtures/real_app.py"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "/stacked" in line)
    assert line.index("log_calls.<locals>.logged") < line.index(
        "add_header_no_wraps.<locals>.wrapper") < line.index("stacked_view")
    assert "(HEAD)" in line and "(OPTIONS)" in line
    assert "shop.product_list" in result.output


def test_form_data_and_headers_reach_the_app(run, tmp_path) -> None:
    out = tmp_path / "login.json"
    result = run("trace", "fixtures/seed_login.py", "POST", "/login", "-d", "user=admin",
                 "-d", "pwd=password", "-o", str(out), "--no-registration")
    assert result.exit_code == 0
    request = tracer.load(out).requests[0]
    assert (request.status, request.outcome, request.redirect_to) == (
        302, "redirect", "http://www.xx.com")
    dashboard = run("trace", "fixtures/real_app.py", "/dashboard", "-H", "Cookie: user=alice",
                    "--no-registration")
    assert "→ 200" in dashboard.output


def test_console_script_runs_in_a_fresh_process(tmp_path) -> None:
    out = tmp_path / "sub.json"
    script = REPO_ROOT / ".venv" / "bin" / "flaskscope"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flaskscope.cli"]
    done = subprocess.run(
        [*command, "trace", fixture_path("seed_views"), "HEAD", "/index", "-o", str(out)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert tracer.load(out).requests[0].method == "HEAD"
    bad = subprocess.run([*command, "trace", str(tmp_path / "x.py"), "/"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
