"""A decorator written above `@app.route` never runs: the request narrative says so.

`flaskscope check` finds such a decorator on the live app; `explain` reads only a trace,
so the trace records it with the endpoint's routes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from explain_helpers import item_with, recorded_source
from jsonschema import Draft202012Validator

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import DecoratorAboveRoute, Trace
from tracer.paths import short_path
from tracer.tracefile import documents, dumps, loads, schema
from viewer.explain.render import plain

APP = """
    import functools

    from flask import Flask, redirect, request

    app = Flask(__name__)


    def login_required(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if "user" not in request.cookies:
                return redirect("/login")
            return view(*args, **kwargs)

        return guarded


    def audit(view):
        @functools.wraps(view)
        def audited(*args, **kwargs):
            return view(*args, **kwargs)

        return audited


    @login_required
    @app.route("/admin")
    def admin():
        return "Admin panel"


    @audit
    @login_required
    @app.get("/stacked")
    def stacked():
        return "Stacked"


    @app.route("/account")
    @login_required
    def account():
        return "Account"
"""
MODULE = "dead_decorator_app"


def _line(source: str, text: str) -> int:
    """The number of the line of the app holding `text`, as written out."""
    import textwrap

    lines = textwrap.dedent(source).splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.strip() == text)


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dead")


@pytest.fixture(scope="module")
def trace(app_dir: Path) -> Trace:
    return recorded_source(app_dir, MODULE, APP, RequestSpec("GET", "/admin"),
                           RequestSpec("GET", "/stacked"), RequestSpec("GET", "/account"))


def _at(app_dir: Path, text: str) -> str:
    """`file:line` of the app's line holding `text`, as the narrative writes it."""
    return f"{short_path(str(app_dir / f'{MODULE}.py'))}:{_line(APP, text)}"


def _told(trace: Trace, path: str, lang: str) -> str:
    request = next(r for r in trace.requests if r.path == path)
    return plain(explain(trace, request_id=request.id), lang)


def test_the_trace_records_the_decorators_above_the_route(trace: Trace, app_dir: Path) -> None:
    file = str(app_dir / f"{MODULE}.py")
    admin = next(r for r in trace.routes if r.endpoint == "admin")
    assert admin.decorators_above_route == (DecoratorAboveRoute(
        decorator="login_required", qualname="login_required.<locals>.guarded",
        file=file, line=_line(APP, "@login_required")),)
    stacked = next(r for r in trace.routes if r.endpoint == "stacked")
    assert [(d.decorator, d.line) for d in stacked.decorators_above_route] == [
        ("audit", _line(APP, "@audit")), ("login_required", _line(APP, "@audit") + 1)]
    account = next(r for r in trace.routes if r.endpoint == "account")
    assert account.decorators_above_route == ()


def test_the_trace_file_keeps_them_and_old_files_load(trace: Trace) -> None:
    validator = Draft202012Validator(schema())
    for document in documents(trace):
        validator.validate(document)
    assert loads(dumps(trace)).routes == trace.routes
    old = dataclasses.replace(trace, routes=tuple(
        dataclasses.replace(route, decorators_above_route=()) for route in trace.routes))
    data = dumps(old)
    assert b"decorators_above_route" not in data
    assert all(not r.decorators_above_route for r in loads(data).routes)


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "`@login_required` ({at}) is written above the route decorator, so it did "
           "not run for this request: decorators apply from the bottom up, and `route` had "
           "already registered the function beneath it."),
    ("zh", "`@login_required`（{at}）写在路由装饰器的上方，所以这个请求没有运行它：装饰器"
           "自下而上应用，`route` 早已注册了它下面的函数。"),
])
def test_the_request_narrative_says_the_decorator_did_not_run(trace: Trace, app_dir: Path,
                                                              lang: str, told: str) -> None:
    text = _told(trace, "/admin", lang)
    sentence = told.format(at=_at(app_dir, "@login_required"))
    line = item_with(text, sentence)
    assert "dispatch_request" in line  # told where the view was called


@pytest.mark.parametrize(("lang", "told"), [("en", "`@{name}` ({at}) is written above"),
                                             ("zh", "`@{name}`（{at}）写在路由装饰器的上方")])
def test_each_decorator_above_the_route_is_told(trace: Trace, app_dir: Path, lang: str,
                                                told: str) -> None:
    text = _told(trace, "/stacked", lang)
    audit = _at(app_dir, "@audit")
    login = f"{audit.rpartition(':')[0]}:{_line(APP, '@audit') + 1}"
    assert told.format(name="audit", at=audit) in text
    assert told.format(name="login_required", at=login) in text


def test_a_decorator_below_the_route_is_not_told_as_dead(trace: Trace) -> None:
    text = _told(trace, "/account", "en")
    assert "is written above the route decorator" not in text
    assert "login_required.<locals>.guarded" in text  # its layer ran, and is told


def test_the_decorator_line_is_quoted_with_source(trace: Trace, app_dir: Path) -> None:
    request = next(r for r in trace.requests if r.path == "/admin")
    text = plain(explain(trace, request_id=request.id), "en", sources=trace.sources)
    assert f"| {_at(app_dir, '@login_required')}  @login_required" in text
