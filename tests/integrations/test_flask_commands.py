"""`flask trace`, `flask view` and `flask explain` through the `flask.commands` entry point."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import FlaskGroup
from flask.cli import cli as flask_cli
from flaskscope_testing import REPO_ROOT, forget_fixtures, warnings_told

import tracer
from flaskscope.cli import cli as flaskscope_cli

FLASK = str(Path(sys.executable).with_name("flask"))

#: Flask 2.0 finds plugin commands only through setuptools' pkg_resources, which Python
#: 3.12+ environments lack (scripts/flask_versions.txt installs it beside Flask 2.0).
pytestmark = pytest.mark.skipif(
    "pkg_resources" in inspect.getsource(FlaskGroup._load_plugin_commands)
    and importlib.util.find_spec("pkg_resources") is None,
    reason="this Flask finds `flask trace` only through pkg_resources: "
           "pip install 'setuptools<81'")

FACTORY = '''
from flask import Blueprint, Flask

shop = Blueprint("shop", __name__)


@shop.get("/items")
def items():
    return "items"


def create_app():
    app = Flask(__name__)
    app.register_blueprint(shop, url_prefix="/shop")
    return app
'''


@pytest.fixture
def in_repo(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)


#: Whether `flask --app` exists (Flask 2.2+); before, the app is named by FLASK_APP only.
APP_OPTION = any("--app" in getattr(param, "opts", ()) for param in flask_cli.params)


def _app_given(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """`--app X ...` as the installed Flask takes it: the option, or FLASK_APP before 2.2."""
    if args[:1] == ["--app"] and not APP_OPTION:
        return args[2:], {"FLASK_APP": args[1]}
    return args, {}


def flask(*args: str, group: FlaskGroup = flask_cli):
    words, env = _app_given(list(args))
    return CliRunner().invoke(group, words, env=env)


def run_flask(*args: str, warnings: list[str]) -> subprocess.CompletedProcess[str]:
    """The installed `flask` command in a real process, from the repository, ignoring the
    `warnings` this run was told to ignore (setuptools warns when Flask 2.0 imports
    pkg_resources)."""
    words, env = _app_given(list(args))
    if warnings:
        env["PYTHONWARNINGS"] = ",".join(warnings)
    return subprocess.run([FLASK, *words], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


def registered(trace: tracer.Trace) -> set[str]:
    return {s.facts.get("endpoint") for s in trace.registration.steps if s.role == "add_url_rule"}


def test_flask_trace_records_the_app_flask_found(in_repo, tmp_path) -> None:
    out = tmp_path / "t.json"
    result = flask("--app", "fixtures/seed_views.py", "trace", "GET", "/index", "-o", str(out))
    assert result.exit_code == 0, result.output
    for expected in ("request 0: GET /index", "auth.<locals>.inner [layer]",
                     "IndexView.get [handler]", "registration of fixtures/seed_views.py"):
        assert expected in result.output
    trace = tracer.load(out)
    assert trace.meta["app"] == "fixtures/seed_views.py"
    assert trace.requests[0].endpoint == "index" and trace.requests[0].status == 200
    assert registered(trace) >= {"index"}
    assert tracer.installed() is None


def test_an_app_imported_before_the_hooks_is_imported_again(in_repo, tmp_path,
                                                           fresh_import) -> None:
    before = fresh_import("fixtures.seed_views")  # registered with no hooks installed
    out = tmp_path / "t.json"
    result = flask("--app", "fixtures.seed_views", "trace", "POST", "/index", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "registered before recording started" not in result.output
    trace = tracer.load(out)
    assert registered(trace) >= {"index"}
    assert trace.requests[0].status == 405
    assert sys.modules["fixtures.seed_views"] is not before


def test_a_create_app_callback_is_found_again_in_its_reimported_module(tmp_path,
                                                                       monkeypatch) -> None:
    (tmp_path / "factory_for_flask_cli.py").write_text(textwrap.dedent(FACTORY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import factory_for_flask_cli as module  # its blueprint route registered unrecorded

    try:
        group = FlaskGroup(create_app=module.create_app)
        out = tmp_path / "t.json"
        result = flask("trace", "GET", "/shop/items", "-o", str(out), group=group)
        assert result.exit_code == 0, result.output
        trace = tracer.load(out)
        assert trace.requests[0].endpoint == "shop.items"
        assert "shop.items" in registered(trace)
        assert any(s.role == "route_decorator" for s in trace.registration.steps)

        group = FlaskGroup(create_app=lambda: module.create_app())
        result = flask("trace", "GET", "/shop/items", group=group)
        assert result.exit_code == 0, result.output
        assert "cannot be imported again" in result.output
        assert "their registration steps are missing: shop.items" in result.output
    finally:
        sys.modules.pop("factory_for_flask_cli", None)


def test_flask_trace_as_a_subprocess(pytestconfig) -> None:
    told = warnings_told(pytestconfig)
    result = run_flask("--app", "fixtures/seed_views.py", "trace", "GET", "/index",
                       "--no-registration", warnings=told)
    assert result.returncode == 0, result.stderr
    assert "IndexView.get [handler]" in result.stdout
    assert "registration of" not in result.stdout
    result = run_flask("--app", "fixtures/nothere.py", "trace", "GET", "/", warnings=told)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "flaskscope: error: Could not import 'fixtures.nothere'."]


def test_flask_explain_has_the_options_and_the_words_of_flaskscope_explain(in_repo) -> None:
    ours = flask("--app", "fixtures/seed_views.py", "explain", "GET", "/index", "--lang", "zh")
    forget_fixtures()  # flaskscope explain imports the app afresh only when it is not loaded
    theirs = CliRunner().invoke(flaskscope_cli, ["explain", "fixtures/seed_views.py", "GET",
                                                 "/index", "--lang", "zh"])
    assert ours.exit_code == theirs.exit_code == 0, ours.output
    # The request is told the same way; the registration differs by what `flask` itself
    # does when it loads an app: it sets the debug flag from --debug / FLASK_DEBUG.
    request_part = "请求 0：GET /index"
    assert ours.output[ours.output.index(request_part):] == \
        theirs.output[theirs.output.index(request_part):]
    assert "`app.config['DEBUG'] = False`" in ours.output
    assert "`app.config['DEBUG'] = False`" not in theirs.output
    from flaskscope.explain_command import explain

    flask_explain = flask_cli.get_command(None, "explain").real()  # type: ignore[arg-type]
    assert {p.name for p in flask_explain.params} == {p.name for p in explain.params}


def test_flask_view_opens_the_viewer_on_the_recorded_request(in_repo, monkeypatch,
                                                            tmp_path) -> None:
    from viewer.tui.app import ViewerApp

    shown: list[tracer.Trace] = []
    monkeypatch.setattr("flaskscope.view_command.has_terminal", lambda: True)
    monkeypatch.setattr(ViewerApp, "run", lambda self, **options: shown.append(self.trace))
    result = flask("--app", "fixtures/real_app.py", "view", "GET", "/boom")
    assert result.exit_code == 0, result.output
    (trace,) = shown
    assert [(r.path, r.status, r.endpoint) for r in trace.requests] == [("/boom", 400, "boom")]
    saved = tmp_path / "saved.json"
    tracer.save(trace, saved)
    result = flask("--app", "fixtures/real_app.py", "view", str(saved))
    assert result.exit_code == 0, result.output
    assert shown[1].requests[0].path == "/boom"
    result = flask("--app", "fixtures/real_app.py", "view", "--lines", "GET", "/boom")
    assert result.exit_code == 0, result.output
    assert any(s.kind == "line" for s in shown[2].requests[0].steps)  # the viewer's option


def test_bad_requests_are_one_line_errors(in_repo) -> None:
    result = flask("--app", "fixtures/seed_views.py", "trace", "FETCH", "/index")
    assert result.exit_code == 2
    assert result.output.strip() == ("flaskscope: error: unknown HTTP method 'FETCH'; use one "
                                     "of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE")
