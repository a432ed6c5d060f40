"""Finding the WSGI app in APP, `--wsgi`, and the CLI on non-Flask apps."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner
from flaskscope_testing import calls, fixture_path, forget_fixtures, one

import tracer
from flaskscope.cli import cli
from tracer import AppLoadError, Role, record_app
from tracer.frameworks import framework_of
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.loading import load

BOTTLE_AND_MIDDLEWARE = """
    from bottle import Bottle

    bottle_app = Bottle()

    @bottle_app.route("/")
    def home():
        return "home"

    class Middleware:
        def __init__(self, app):
            self.app = app

        def __call__(self, environ, start_response):
            environ["PATH_INFO"] = environ["PATH_INFO"].rstrip("/") or "/"
            return self.app(environ, start_response)

    application = Middleware(bottle_app)
"""

TWO_CALLABLES = """
    def first(environ, start_response):
        start_response("200 OK", [])
        return [b"first"]

    def second(environ, start_response):
        start_response("201 CREATED", [])
        return [b"second"]
"""


@pytest.mark.parametrize(("name", "framework"), [
    ("seed_login", "flask"), ("werkzeug_login", "werkzeug"), ("seed_werkzeug", "werkzeug"),
    ("seed_wsgiref", "wsgi"), ("bottle_login", "bottle"),
])
def test_each_fixture_is_found_and_given_to_its_adapter(name: str, framework: str) -> None:
    if name.startswith("bottle"):
        pytest.importorskip("bottle")
    forget_fixtures()
    try:
        with tracer.record():
            loaded = load(fixture_path(name))
    finally:
        forget_fixtures()
    assert loaded.framework == framework
    assert loaded.name == ("fixtures." + name if framework == "flask" else "app")


def test_several_callables_and_no_name_is_an_error_naming_them(module_file) -> None:
    path = module_file("two_callables", TWO_CALLABLES)
    with pytest.raises(AppLoadError) as caught:
        load(path)
    message = str(caught.value)
    assert "first, second" in message and f"{path}:first" in message
    assert framework_of(load(f"{path}:second").app) == "wsgi"


def test_a_name_that_is_not_there_lists_what_is(module_file) -> None:
    path = module_file("two_callables_b", TWO_CALLABLES)
    with pytest.raises(AppLoadError, match="no attribute 'third'.*first, second"):
        load(f"{path}:third")


def test_wsgi_flag_picks_the_plain_callable_over_the_framework_app(module_file) -> None:
    pytest.importorskip("bottle")
    path = module_file("bottle_behind_middleware", BOTTLE_AND_MIDDLEWARE)
    by_framework = record_app(path, [RequestSpec("GET", "/")], wsgi=False).trace
    assert by_framework.meta["framework"] == "bottle"
    assert one(calls(by_framework.requests[0].steps, Role.REQUEST)).name == "Bottle.wsgi"
    sys.modules.pop("bottle_behind_middleware", None)
    plain = record_app(path, [RequestSpec("GET", "/")], wsgi=True).trace
    assert plain.meta["framework"] == "wsgi"
    assert len(plain.requests) == 1
    steps = plain.requests[0].steps
    entry = one(calls(steps, Role.REQUEST))
    assert entry.name == "Middleware.__call__"
    assert one(calls(steps, Role.DISPATCH)).name == "Bottle._handle"  # Bottle inside it
    assert plain.requests[0].status == 200 and plain.requests[0].endpoint == "home"


def _run(*args: str):
    forget_fixtures()
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        forget_fixtures()


def test_cli_traces_a_werkzeug_app() -> None:
    result = _run("trace", "fixtures/werkzeug_login.py", "PUT", "/login", "--no-registration")
    assert result.exit_code == 0, result.output
    assert "405  method_not_allowed" in result.output
    assert "MapAdapter.match [match]" in result.output


def test_cli_lists_bottle_routes_and_takes_wsgi(module_file) -> None:
    pytest.importorskip("bottle")
    result = _run("routes", "fixtures/bottle_login.py")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "/login" in line]
    assert len(rows) == 2 and "GET, (HEAD)" in rows[0] and "POST" in rows[1]
    assert "no_store.<locals>.wrapper" not in result.output  # plugins wrap on first request
    path = module_file("bottle_behind_middleware_cli", BOTTLE_AND_MIDDLEWARE)
    result = _run("trace", path, "GET", "/", "--wsgi", "--no-registration")
    assert result.exit_code == 0, result.output
    assert "Middleware.__call__ [request]" in result.output


def test_cli_names_a_missing_app_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["trace", "fixtures/no_such_app.py", "GET", "/"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "no_such_app" in result.output and "no such module or file" in result.output
