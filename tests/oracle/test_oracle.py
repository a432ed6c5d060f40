"""The oracle itself: it agrees with a faithful recording, and it catches every kind of lie.

Each doctored request below changes one recorded fact of a real recording (of
fixtures/real_app.py) and must give exactly the disagreement that fact's check makes.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import sys
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import flask
import flask.signals
import pytest
from flaskscope_testing import APP_CLASS, REPO_ROOT, forget_fixtures
from werkzeug.local import LocalProxy

import tracer
from oracle import Observation, Observer, check_requests
from oracle.check import expected_outcome
from oracle.observe import PLUMBING, Match
from tracer.api import default_scope
from tracer.model import Request, Step, Trace

FIXTURES = REPO_ROOT / "fixtures"
ASKED = ("GET /shop/products/7", "GET /stacked", "GET /dashboard", "GET /boom", "GET /nowhere",
         "GET /crash", "GET /items/42", "GET /docs", "POST /login", "HEAD /login", "GET /async")


@cache
def recorded(mode: str) -> tuple[Trace, tuple[Observation, ...]]:
    """fixtures/real_app.py recorded in `mode` with the oracle watching."""
    forget_fixtures()
    scope = default_scope([str(FIXTURES)]) if mode == "lines" else None
    try:
        with Observer([str(FIXTURES)]) as observer:
            with tracer.record(lines=mode == "lines", redact=False, scope=scope) as recorder:
                app = importlib.import_module("fixtures.real_app").app
                client = app.test_client()
                for ask in ASKED:
                    method, path = ask.split(" ", 1)
                    client.open(path, method=method).close()
                trace = recorder.trace()
    finally:
        forget_fixtures()
    return trace, tuple(observer.take())


def pair(ask: str, mode: str = "hooks") -> tuple[Request, Observation]:
    trace, observations = recorded(mode)
    index = ASKED.index(ask)
    request = sorted(trace.requests, key=lambda r: r.id)[index]
    assert f"{request.method} {request.path}" == ask
    return request, observations[index]


def kinds(request: Request, observation: Observation) -> list[str]:
    return [d.kind for d in check_requests([request], [observation]).disagreements]


def call(request: Request, name: str) -> Step:
    return next(s for s in request.steps if s.kind == "call" and s.name == name)


def without(request: Request, step: Step) -> Request:
    """The request without `step` and everything under it."""
    gone = {step.id}
    for other in request.steps:
        if other.parent in gone:
            gone.add(other.id)
    return dataclasses.replace(request, steps=tuple(s for s in request.steps
                                                     if s.id not in gone))


def replaced(request: Request, step: Step, **changes: Any) -> Request:
    return dataclasses.replace(request, steps=tuple(
        dataclasses.replace(s, **changes) if s.id == step.id else s for s in request.steps))


# -- a faithful recording -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hooks", "lines"])
def test_a_faithful_recording_agrees(mode: str) -> None:
    trace, observations = recorded(mode)
    report = check_requests(trace.requests, observations)
    assert [str(d) for d in report.disagreements] == []
    assert report.requests == len(ASKED)
    assert report.facts > 25 * len(ASKED)


def test_the_async_view_is_followed_into_its_event_loop_thread() -> None:
    """asgiref runs the coroutine on a thread of its own: the oracle sees it there, under the
    call that waited for it, and requires its call step (but not one per resumption)."""
    request, observation = pair("GET /async")
    names = [s.name for s in request.steps if s.kind == "call"]
    assert "async_view" in names
    report = check_requests([request], [observation])
    assert report.disagreements == []
    assert "call" in kinds(without(request, call(request, "async_view")), observation)


# -- lies about the request -----------------------------------------------------------------


@pytest.mark.parametrize(("ask", "changes", "kind"), [
    ("GET /dashboard", {"redirect_to": None}, "redirect_to"),
    ("GET /stacked", {"redirect_to": "/elsewhere"}, "redirect_to"),
    ("GET /items/42", {"endpoint": "items"}, "endpoint"),
    ("GET /items/42", {"rule": "/items/<item_id>"}, "rule"),
    ("GET /items/42", {"view_args": {"item_id": "'42'"}}, "view_args"),
    ("GET /items/42", {"view_args": {}}, "view_args"),
    ("GET /nowhere", {"endpoint": "nowhere"}, "endpoint"),
    ("POST /login", {"allowed_methods": ("GET", "POST")}, "allowed_methods"),
    ("GET /stacked", {"allowed_methods": ("GET",)}, "allowed_methods"),
    ("GET /boom", {"outcome": "error_status"}, "outcome"),
    ("GET /docs", {"outcome": "ok"}, "outcome"),
    ("GET /crash", {"error": None}, "error"),
    ("GET /stacked", {"error": "ValueError('made up')"}, "error"),
])
def test_a_false_request_fact_is_a_disagreement(ask: str, changes: dict, kind: str) -> None:
    request, observation = pair(ask)
    assert kinds(request, observation) == []
    assert kinds(dataclasses.replace(request, **changes), observation) == [kind]


def test_a_false_status_disagrees_with_the_server_and_with_flask() -> None:
    request, observation = pair("GET /stacked")
    assert kinds(dataclasses.replace(request, status=201), observation) == ["status", "status"]


@pytest.mark.parametrize("changes", [{"method": "POST"}, {"path": "/stacked/"}])
def test_a_request_recorded_as_another_is_unpaired(changes: dict) -> None:
    request, observation = pair("GET /stacked")
    assert kinds(dataclasses.replace(request, **changes), observation) == ["request", "request"]


def test_the_outcome_classes() -> None:
    expected = {ask: expected_outcome(pair(ask)[1]) for ask in ASKED}
    assert expected == {
        "GET /shop/products/7": "ok", "GET /stacked": "ok", "GET /dashboard": "redirect",
        "GET /boom": "error", "GET /nowhere": "not_found", "GET /crash": "error",
        "GET /items/42": "ok", "GET /docs": "redirect", "POST /login": "method_not_allowed",
        "HEAD /login": "ok", "GET /async": "ok",
    }


@pytest.mark.parametrize(("seen", "outcome"), [
    ({"status": 200}, "ok"),
    ({"status": 302, "location": "/x"}, "redirect"),
    ({"status": 304}, "ok"),
    ({"status": 404, "match": Match("not_found")}, "not_found"),
    ({"status": 200, "match": Match("not_found")}, "not_found"),
    ({"status": 405, "match": Match("method_not_allowed", allowed=("GET",))},
     "method_not_allowed"),
    ({"status": 308, "match": Match("redirect", new_url="http://localhost/a/")}, "redirect"),
    ({"match": Match("redirect", new_url="/a/"), "propagated": "FormDataRoutingRedirect"},
     "error"),
    ({"status": 403, "handled": [("Forbidden", True)]}, "http_error"),
    ({"status": 401, "signalled": [("Unauthorized", True)]}, "http_error"),
    ({"status": 401}, "error_status"),
    ({"status": 400, "handled": [("ValueError", False)]}, "error"),
    ({"status": 500, "signalled": [("ZeroDivisionError", False)]}, "error"),
    ({"status": 200, "match": Match("not_found"), "matched": False}, "ok"),
])
def test_the_outcome_rule(seen: dict, outcome: str) -> None:
    observation = Observation("GET", "/", **{"match": Match("matched"), "matched": True, **seen})
    assert expected_outcome(observation) == outcome


def test_flask_never_matching_is_told_apart(tmp_app: Path) -> None:
    """A session interface that fails before matching: Werkzeug would match, Flask never
    asked, so the request has no endpoint."""
    _write(tmp_app / "oracle_app.py", """
        from flask import Flask
        from flask.sessions import SecureCookieSessionInterface

        class Failing(SecureCookieSessionInterface):
            def open_session(self, app, request):
                raise LookupError("no session store")

        app = Flask(__name__)
        app.session_interface = Failing()
        app.add_url_rule("/", "home", lambda: "home")
    """)
    app = importlib.import_module("oracle_app").app
    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        assert app.test_client().get("/").status_code == 500
    observation = observer.take()[0]
    assert observation.match == Match("matched", rule="/", endpoint="home")
    assert not observation.matched and observation.handled == [("LookupError", False)]
    claimed = Request(id=0, method="GET", path="/", status=500, endpoint="home", rule="/",
                      view_args={}, outcome="error", steps=(), error="LookupError()")
    assert "endpoint" in kinds(claimed, observation)
    assert "endpoint" not in kinds(dataclasses.replace(claimed, endpoint=None, rule=None),
                                   observation)
    assert expected_outcome(observation) == "error"


@pytest.mark.parametrize("mode", ["hooks", "lines"])
def test_an_async_view_class_that_awaits_is_one_call_where_the_loop_ran_it(
        tmp_app: Path, mode: str) -> None:
    """asgiref runs the coroutine on a thread of its own while `AsyncToSync.__call__` waits.
    The recorder tells the coroutine as one step (across its `await`) inside the call that
    waited, its first entry only for code out of scope; the oracle agrees, and still
    catches the step under the wrong parent."""
    _write(tmp_app / "oracle_app.py", """
        import asyncio
        from flask import Flask, request
        from flask.views import View

        class Slow(View):
            methods = ["GET"]

            async def dispatch_request(self):
                await asyncio.sleep(0)
                return request.method

        app = Flask(__name__)
        app.add_url_rule("/slow", view_func=Slow.as_view("slow"))
    """)
    scope = default_scope([str(tmp_app)]) if mode == "lines" else None
    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        with tracer.record(lines=mode == "lines", scope=scope) as recorder:
            app = importlib.import_module("oracle_app").app
            assert app.test_client().get("/slow").get_data() == b"GET"
            [request] = recorder.trace().requests
    [observation] = observer.take()
    assert [str(d) for d in check_requests([request], [observation]).disagreements] == []
    [dispatch] = [s for s in request.steps if s.kind == "call"
                  and s.name == "Slow.dispatch_request"]
    names = [s.name for s in request.steps if s.kind == "call"]
    assert names.count("sleep") <= 1  # asyncio's, out of scope: not once per resumption
    match = call(request, "RequestContext.match_request")  # ran before it, not around it
    assert "call" in kinds(replaced(request, dispatch, parent=match.id), observation)


def test_a_thread_the_request_starts_hangs_under_the_call_that_started_it(
        tmp_app: Path) -> None:
    """Where a thread's calls hang is decided at `Thread.start`, not when the thread first
    runs: by then the request's thread may have gone on to another call (asgiref's `submit`,
    then `run_until_future`). Here a trace function of the new thread holds its first call
    until the request's thread waits in another function (before the oracle sees that call
    on 3.11, after it on 3.12+, where the order is certain anyway)."""
    _write(tmp_app / "oracle_app.py", """
        import sys
        import threading
        from flask import Flask

        waiting = threading.Event()

        def hold_first_call(frame, event, arg):
            waiting.wait(5)
            sys.settrace(None)

        def work():
            return "done"

        def wait_for(thread):
            waiting.set()
            thread.join()

        app = Flask(__name__)

        @app.route("/")
        def start_and_wait():
            thread = threading.Thread(target=work)
            threading.settrace(hold_first_call)
            try:
                thread.start()
            finally:
                threading.settrace(None)
            wait_for(thread)
            return "ok"
    """)
    app = importlib.import_module("oracle_app").app
    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        assert app.test_client().get("/").get_data() == b"ok"
    [observation] = observer.take()
    [work] = _calls(observation.root)["work"]
    caller = work.parent
    while caller is not None and caller.area == PLUMBING:  # Thread.run, Thread._bootstrap
        caller = caller.parent
    assert caller is not None and caller.name == "start_and_wait"


def test_the_request_is_what_flask_received_after_middleware(tmp_app: Path) -> None:
    _write(tmp_app / "oracle_app.py", """
        from flask import Flask

        app = Flask(__name__)
        app.add_url_rule("/", "home", lambda: "home")
        inner = app.wsgi_app

        def prefixed(environ, start_response):
            environ["SCRIPT_NAME"] = "/bar"
            return inner(environ, start_response)

        app.wsgi_app = prefixed
    """)
    app = importlib.import_module("oracle_app").app
    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        assert app.test_client().get("/").status_code == 200
    observation = observer.take()[0]
    assert (observation.method, observation.path) == ("GET", "/bar/")
    assert observation.match is not None and observation.match.endpoint == "home"


# -- lies about the calls -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hooks", "lines"])
@pytest.mark.parametrize("name", ["mark_request_started", "record_teardown",
                                  "add_processed_header", "handle_value_error"])
def test_a_call_flask_made_without_a_step_is_a_disagreement(name: str, mode: str) -> None:
    request, observation = pair("GET /boom", mode)
    report = check_requests([without(request, call(request, name))], [observation])
    messages = [d.message for d in report.disagreements]
    assert len(messages) == 1 and messages[0].startswith(name) and "no call step" in messages[0]


def test_a_call_under_the_wrong_parent_is_a_disagreement() -> None:
    request, observation = pair("GET /stacked")
    moved = replaced(request, call(request, "record_teardown"),
                     parent=call(request, "Flask.full_dispatch_request").id)
    messages = [d.message for d in check_requests([moved], [observation]).disagreements]
    assert any("recorded record_teardown" in m and "no such call ran there" in m
               for m in messages)
    assert any(m.startswith("record_teardown") and "recorded only under "
               "Flask.full_dispatch_request" in m for m in messages)


def test_a_call_that_never_ran_is_a_disagreement() -> None:
    request, observation = pair("GET /stacked")
    handler = call(pair("GET /nowhere")[0], "handle_not_found")
    dispatch = call(request, "Flask.dispatch_request")
    invented = dataclasses.replace(handler, id=len(request.steps), parent=dispatch.id)
    doctored = dataclasses.replace(request, steps=(*request.steps, invented))
    messages = [d.message for d in check_requests([doctored], [observation]).disagreements]
    assert messages == [f"recorded handle_not_found (real_app.py:{handler.line}, step "
                        f"{invented.id}) under Flask.dispatch_request, but no such call ran "
                        "there"]


def test_calls_in_the_wrong_order_are_a_disagreement() -> None:
    request, observation = pair("GET /stacked")
    steps = list(request.steps)
    before = call(request, "Flask.preprocess_request")
    dispatch = call(request, "Flask.dispatch_request")
    first = [s for s in steps if _under(request, s, before)]
    second = [s for s in steps if _under(request, s, dispatch)]
    start, middle = steps.index(first[0]), steps.index(second[0])
    swapped = steps[:start] + second + steps[start + len(first):middle] + first + \
        steps[middle + len(second):]
    assert sorted(s.id for s in swapped) == sorted(s.id for s in steps)
    doctored = dataclasses.replace(request, steps=tuple(swapped))
    assert "call" in kinds(doctored, observation)


def _under(request: Request, step: Step, top: Step) -> bool:
    by_id = {s.id: s for s in request.steps}
    while step is not None:
        if step.id == top.id:
            return True
        step = by_id.get(step.parent) if step.parent is not None else None
    return False


# -- lies in facts and notes ----------------------------------------------------------------


def test_entered_and_not_entered_are_held_to_what_ran() -> None:
    request, observation = pair("GET /dashboard")
    dispatch = call(request, "Flask.dispatch_request")
    assert dispatch.facts["entered"] == ["login_required.<locals>.guarded"]
    assert dispatch.facts["not_entered"] == ["dashboard"]
    swapped = replaced(request, dispatch, facts={
        **dispatch.facts, "entered": ["dashboard"],
        "not_entered": ["login_required.<locals>.guarded"]})
    assert sorted(kinds(swapped, observation)) == ["entered", "not_entered"]


def test_an_error_handler_that_never_ran_is_a_disagreement() -> None:
    request, observation = pair("GET /boom")
    note = next(s for s in request.steps if s.kind == "note" and s.role == "error_handler")
    assert note.facts["handler"] == "handle_value_error"
    doctored = replaced(request, note, facts={**note.facts, "handler": "handle_not_found"})
    assert kinds(doctored, observation) == ["error_handler"]


def test_requests_missing_from_either_side_are_disagreements() -> None:
    trace, observations = recorded("hooks")
    requests = sorted(trace.requests, key=lambda r: r.id)
    report = check_requests(requests[1:], observations)
    assert [(d.kind, d.request, d.message) for d in report.disagreements] == [
        ("request", "GET /shop/products/7", "served by a Flask app, but not recorded")]
    report = check_requests(requests, observations[:-1])
    assert [(d.kind, d.message) for d in report.disagreements] == [
        ("request", "recorded, but no Flask app served it")]


@pytest.mark.parametrize("at_once", [True, False], ids=["at once", "one after another"])
def test_requests_of_one_url_at_once_are_paired_as_they_agree(at_once: bool) -> None:
    """Two requests for one URL at once end in an order each side sees for itself (the
    oracle when the app returns, the recorder when it files the request; under load a
    thread switch between the two swaps them): they are paired as they agree. Requests one
    after another are still paired in order, so a recording that swapped them disagrees.
    (Two real requests, given one path on both sides.)"""
    (first, seen_first), (second, seen_second) = pair("GET /dashboard"), pair("GET /stacked")
    first = dataclasses.replace(first, id=0, path="/same", start_ns=1_000, duration_ns=5_000)
    second = dataclasses.replace(second, id=1, path="/same",
                                 start_ns=3_000 if at_once else 7_000,
                                 duration_ns=1_000)
    seen = [dataclasses.replace(observation, path="/same")
            for observation in (seen_first, seen_second)]
    assert check_requests([first, second], seen).disagreements == []
    swapped = check_requests([first, second], seen[::-1])
    assert (swapped.disagreements == []) == at_once
    assert swapped.requests == 2


# -- what the oracle requires ---------------------------------------------------------------


@pytest.fixture
def tmp_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory on sys.path for an app module and a stand-in recorder package."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n in ("oracle_app", "standin")
                 or n.startswith("standin.")]:
        del sys.modules[name]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def _calls(call_tree: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    stack = list(call_tree.children)
    while stack:
        node = stack.pop()
        found.setdefault(node.name, []).append(node)
        stack.extend(node.children)
    return found


def test_the_recorders_own_calls_are_not_the_apps(tmp_app: Path) -> None:
    """A recorder frame hands on the call of the function it holds; anything else it calls
    (a repr of the app's object) is its bookkeeping, left out with all it calls."""
    _write(tmp_app / "standin" / "__init__.py", """
        def passthrough(original, shown):
            def wrapper(*args, **kwargs):
                repr(shown)
                return original(*args, **kwargs)
            return wrapper
    """)
    _write(tmp_app / "oracle_app.py", """
        from flask import Flask
        from standin import passthrough

        class Shown:
            def __repr__(self):
                return described()

        def described():
            return "shown"

        def view():
            return "ok"

        app = Flask(__name__)
        app.add_url_rule("/v", "v", passthrough(view, Shown()))
    """)
    app = importlib.import_module("oracle_app").app
    with Observer([str(tmp_app / "oracle_app.py")],
                  recorder_dir=str(tmp_app / "standin")) as observer:
        assert app.test_client().get("/v").status_code == 200
    calls = _calls(observer.take()[0].root)
    assert "Shown.__repr__" not in calls and "described" not in calls
    assert [(c.required, c.caller) for c in calls["view"]] == [(True, "Flask.dispatch_request")]


def test_callbacks_flask_makes_are_required_helpers_the_app_calls_are_not(
        tmp_app: Path) -> None:
    _write(tmp_app / "oracle_app.py", """
        from flask import Flask, url_for
        from werkzeug.local import LocalProxy

        app = Flask(__name__)

        @app.url_value_preprocessor
        def pull(endpoint, values):
            values.pop("lang", None)

        @app.url_defaults
        def push(endpoint, values):
            values.setdefault("lang", "en")

        def load():
            return "loaded"

        current = LocalProxy(load)

        def helper():
            return str(current)

        @app.route("/<lang>/page")
        def page():
            return helper() + url_for("page")
    """)
    app = importlib.import_module("oracle_app").app
    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        assert app.test_client().get("/fr/page").get_data() == b"loaded/en/page"
    calls = _calls(observer.take()[0].root)
    required = {name: [(c.required, c.caller) for c in nodes] for name, nodes in calls.items()
                if name in ("pull", "push", "page", "helper", "load", "url_for")}
    assert required == {
        "pull": [(True, "Flask.preprocess_request")],
        "page": [(True, "Flask.dispatch_request")],
        "push": [(True, f"{APP_CLASS}.inject_url_defaults")],
        "url_for": [(True, "page")],
        "helper": [(False, "page")],
        "load": [(False, LocalProxy(lambda: None)._get_current_object.__qualname__)],
    }  # a function made per proxy in Werkzeug 2.2+, a method before


def test_a_profile_function_already_set_leaves_the_oracle_blind(tmp_app: Path) -> None:
    _write(tmp_app / "oracle_app.py", """
        from flask import Flask
        app = Flask(__name__)
        app.add_url_rule("/", "home", lambda: "home")
    """)
    app = importlib.import_module("oracle_app").app

    def other_profiler(frame: Any, event: str, arg: Any) -> None:
        return None

    with Observer([str(tmp_app / "oracle_app.py")]) as observer:
        sys.setprofile(other_profiler)
        try:
            app.test_client().get("/")
        finally:
            sys.setprofile(None)
    observation = observer.take()[0]
    assert observation.blind is not None and "another profile function" in observation.blind
    assert observation.root.children == [] and observation.status == 200


def test_starting_and_stopping_leave_flask_as_it_was() -> None:
    original = flask.Flask.__dict__["__call__"]
    receivers = {name: dict(getattr(flask.signals, name).receivers)
                 for name in ("request_started", "request_finished", "got_request_exception")}
    callbacks = list(gc.callbacks)
    with Observer([str(FIXTURES)]):
        assert flask.Flask.__dict__["__call__"] is not original
    assert flask.Flask.__dict__["__call__"] is original
    assert gc.callbacks == callbacks
    assert {name: dict(getattr(flask.signals, name).receivers) for name in receivers} == receivers


def test_an_app_root_above_flask_is_refused() -> None:
    with pytest.raises(ValueError, match="name the app's own files"):
        Observer([str(Path(flask.__file__).parents[1])])


def test_the_closing_summary() -> None:
    trace, observations = recorded("hooks")
    report = check_requests(trace.requests, observations)
    assert report.summary(apps=1) == (
        f"oracle: 1 apps, {len(ASKED)} requests checked, {report.facts} facts checked, "
        "0 disagreements")
