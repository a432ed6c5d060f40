"""Request steps: matching, every decorator layer, method dispatch, errors, hooks."""

from __future__ import annotations

import gc

import pytest
from flaskscope_testing import ancestors, calls, end_of, location_sent, notes, one, record_fixture

import tracer
from tracer import Role
from tracer.frameworks.flask.loading import RequestSpec


@pytest.fixture(scope="module")
def views_trace():
    recording = record_fixture(
        "seed_views",
        "GET /index",
        "HEAD /index",
        "POST /index",
        "OPTIONS /index",
        RequestSpec("GET", "/index", headers=(("X-Deny", "1"),)),
    )
    return recording.trace


@pytest.fixture(scope="module")
def real_trace():
    paths = ["/dashboard", "/docs", "/boom", "/nowhere", "/crash", "/items/42", "/items/abc",
             "/async", "/stacked", "/hooks", "/shop/products"]
    return record_fixture("real_app", *(f"GET {p}" for p in paths)).trace


def _request(trace, method, path, index=0):
    return [r for r in trace.requests if r.method == method and r.path == path][index]


def _entered(request) -> list[tuple[str, str]]:
    dispatch_roles = (Role.LAYER, Role.VIEW, Role.CLASS_DISPATCH, Role.HANDLER)
    return [(s.role, s.name) for s in calls(request.steps) if s.role in dispatch_roles]


def test_get_enters_every_layer_down_to_the_handler(views_trace) -> None:
    request = _request(views_trace, "GET", "/index")
    assert (request.status, request.outcome, request.endpoint, request.rule) == (
        200, "ok", "index", "/index")
    assert _entered(request) == [
        ("layer", "auth.<locals>.inner"),
        ("view", "View.as_view.<locals>.view"),
        ("class_dispatch", "MethodView.dispatch_request"),
        ("handler", "IndexView.get"),
    ]
    steps = request.steps
    handler = one(calls(steps, Role.HANDLER))
    assert [s.name for s in ancestors(steps, handler)][:5] == [
        "MethodView.dispatch_request", "View.as_view.<locals>.view", "auth.<locals>.inner",
        "Flask.dispatch_request", "Flask.full_dispatch_request",
    ]
    assert end_of(steps, handler).detail["result"] == "'Index.GET'"
    lookup = one(notes(steps, Role.HANDLER_LOOKUP))
    assert lookup.facts == {"method": "GET", "tried": "get", "found": True, "fallback": None,
                            "handler": "IndexView.get"}
    instance = one(notes(steps, Role.VIEW_INSTANCE))
    assert instance.facts["view_class"] == "IndexView"
    match = one(calls(steps, Role.MATCH))
    assert match.facts["matched"] is True and match.facts["rule"] == "/index"
    assert match.name == "RequestContext.match_request"
    assert one(calls(steps, Role.REQUEST)).name == "Flask.wsgi_app"


def test_head_falls_back_to_get(views_trace) -> None:
    request = _request(views_trace, "HEAD", "/index")
    assert request.status == 200
    lookup = one(notes(request.steps, Role.HANDLER_LOOKUP))
    assert lookup.facts["tried"] == "head"
    assert lookup.facts["found"] is False
    assert lookup.facts["fallback"] == "get"
    assert one(calls(request.steps, Role.HANDLER)).name == "IndexView.get"


def test_post_is_405_with_allowed_methods(views_trace) -> None:
    request = _request(views_trace, "POST", "/index")
    assert request.status == 405
    assert request.outcome == "method_not_allowed"
    assert request.allowed_methods == ("GET", "HEAD", "OPTIONS")
    match = one(calls(request.steps, Role.MATCH))
    assert match.facts["allowed_methods"] == ["GET", "HEAD", "OPTIONS"]
    assert _entered(request) == []


def test_options_answered_by_flask(views_trace) -> None:
    request = _request(views_trace, "OPTIONS", "/index")
    assert request.status == 200
    assert one(calls(request.steps, Role.AUTOMATIC_OPTIONS)).name == (
        "Flask.make_default_options_response")
    assert _entered(request) == []


def test_layer_returning_early_never_enters_the_view(views_trace) -> None:
    request = _request(views_trace, "GET", "/index", index=1)
    assert request.status == 403
    assert _entered(request) == [("layer", "auth.<locals>.inner")]
    layer = one(calls(request.steps, Role.LAYER))
    assert end_of(request.steps, layer).detail["result"] == "('Forbidden', 403)"
    dispatch = one(calls(request.steps, Role.DISPATCH))
    assert dispatch.facts["entered"] == ["auth.<locals>.inner"]
    assert dispatch.facts["not_entered"] == [
        "View.as_view.<locals>.view", "MethodView.dispatch_request", "IndexView.get"]


def test_login_required_redirect_returns_early(real_trace) -> None:
    request = _request(real_trace, "GET", "/dashboard")
    assert (request.status, request.outcome) == (302, "redirect")
    # the Location the view set (Werkzeug before 2.3 quotes the slash: `next=%2Fdashboard`)
    assert request.redirect_to.replace("%2F", "/") == location_sent("/login?next=/dashboard")
    assert _entered(request) == [("layer", "login_required.<locals>.guarded")]


def test_strict_slash_redirect(real_trace) -> None:
    request = _request(real_trace, "GET", "/docs")
    assert (request.status, request.outcome) == (308, "redirect")
    assert request.redirect_to == "http://localhost/docs/"
    match = one(calls(request.steps, Role.MATCH))
    assert match.facts["reason"] == "strict_slashes"
    assert match.facts["target_rule"] == "/docs/"


def test_non_ascii_paths_are_recorded_as_text() -> None:
    trace = record_fixture("real_app", "GET /引号").trace
    request = trace.requests[0]
    assert request.path == "/引号" and request.outcome == "not_found"
    assert request.steps[0].detail["path"] == "'/引号'"


def test_error_handler_chosen_for_an_exception(real_trace) -> None:
    request = _request(real_trace, "GET", "/boom")
    assert (request.status, request.outcome) == (400, "error")
    assert "ValueError" in request.error
    view = one(calls(request.steps, Role.VIEW))
    assert end_of(request.steps, view).kind == "exception"
    chosen = one(notes(request.steps, Role.ERROR_HANDLER))
    assert chosen.facts["exception"] == "ValueError"
    assert chosen.facts["handler"] == "handle_value_error"
    handler = one(calls(request.steps, Role.ERROR_HANDLER))
    assert handler.name == "handle_value_error"
    assert steps_named(request, "Flask.handle_user_exception")


def steps_named(request, name):
    return [s for s in request.steps if s.name == name and s.kind == "call"]


def test_404_handler(real_trace) -> None:
    request = _request(real_trace, "GET", "/nowhere")
    assert (request.status, request.outcome) == (404, "not_found")
    chosen = one(notes(request.steps, Role.ERROR_HANDLER))
    assert chosen.facts["code"] == 404 and chosen.facts["handler"] == "handle_not_found"


def test_unhandled_exception_is_500(real_trace) -> None:
    request = _request(real_trace, "GET", "/crash")
    assert (request.status, request.outcome) == (500, "error")
    assert "RuntimeError" in request.error
    assert steps_named(request, "Flask.handle_exception")


def test_converter_view_args_and_rejection(real_trace) -> None:
    ok = _request(real_trace, "GET", "/items/42")
    assert ok.view_args == {"item_id": "42"} and ok.rule == "/items/<int:item_id>"
    view = one(calls(ok.steps, Role.VIEW))
    assert view.detail == {"item_id": "42"}
    rejected = _request(real_trace, "GET", "/items/abc")
    assert (rejected.status, rejected.outcome) == (404, "not_found")
    match = one(calls(rejected.steps, Role.MATCH))
    assert match.facts["near_misses"][0] == {
        "rule": "/items/<int:item_id>", "endpoint": "item", "reason": "converter_rejected",
        "detail": {"argument": "item_id", "converter": "int", "segment": "abc",
                   "pattern": r"\d+", "refused_by": "pattern"}}
    assert not [s for s in rejected.steps if s.name == "Map.add"], "the diagnosis is not traced"


def test_before_after_teardown_functions(real_trace) -> None:
    request = _request(real_trace, "GET", "/hooks")
    steps = request.steps
    before = one(calls(steps, Role.BEFORE_REQUEST_FUNCTION))
    assert steps[before.parent].name == "Flask.preprocess_request"
    after = one(calls(steps, Role.AFTER_REQUEST_FUNCTION))
    assert steps[after.parent].name == "Flask.process_response"
    teardown = one(calls(steps, Role.TEARDOWN_FUNCTION))
    assert steps[teardown.parent].name == "Flask.do_teardown_request"
    order = [s.id for s in (before, one(calls(steps, Role.VIEW)), after, teardown)]
    assert order == sorted(order)


def test_async_view_through_ensure_sync(real_trace) -> None:
    request = _request(real_trace, "GET", "/async")
    assert request.status == 200
    bridge = one(calls(request.steps, Role.ASYNC_BRIDGE))
    assert bridge.name == "Flask.ensure_sync" and bridge.facts["function"] == "async_view"
    view = one(calls(request.steps, Role.VIEW))
    assert view.name == "async_view"
    assert end_of(request.steps, view).detail["result"] == "'Async done'"


def test_stacked_layers_with_and_without_wraps(real_trace) -> None:
    request = _request(real_trace, "GET", "/stacked")
    assert _entered(request) == [
        ("layer", "log_calls.<locals>.logged"),
        ("layer", "add_header_no_wraps.<locals>.wrapper"),
        ("view", "stacked_view"),
    ]


def test_final_status_and_signals_with_receivers(real_trace, fresh_import) -> None:
    request = _request(real_trace, "GET", "/shop/products")
    assert request.endpoint == "shop.product_list" and request.status == 200
    finalize = one(calls(request.steps, Role.FINALIZE))
    assert finalize.facts["status"] == 200
    assert calls(request.steps, Role.SIGNAL) == [], "signals nobody listens to are not steps"
    import flask

    heard: list = []

    def receiver(sender, **extra) -> None:
        heard.append(sender)

    gc.collect()  # receivers of apps earlier tests imported and dropped (weakly connected)
    with tracer.record() as recorder:
        app = fresh_import("fixtures.seed_views").app
        with flask.request_started.connected_to(receiver, app):
            app.test_client().get("/index")
        request = recorder.trace().requests[0]
    # Ours is disconnected (another app's may linger: Python 3.12's `inspect.getattr_static`
    # keeps up to 128 classes it was asked about, an app's converter among them).
    assert all(ref() is not receiver for ref in flask.request_started.receivers.values())
    assert len(heard) == 1
    signal = one(calls(request.steps, Role.SIGNAL))
    assert signal.facts == {"signal": "request_started", "receivers": 1}
    assert request.steps[signal.parent].name == "Flask.full_dispatch_request"


def test_a_signal_counts_only_the_receivers_it_calls_for_its_sender(fresh_import) -> None:
    """A receiver connected for another app is not called, so not counted; when the
    signal calls nobody for this sender it is no step at all."""
    import flask

    heard: list = []

    def for_any(sender, **extra) -> None:
        heard.append("any")

    def for_other(sender, **extra) -> None:
        heard.append("other")

    with tracer.record() as recorder:
        app = fresh_import("fixtures.seed_views").app
        other = flask.Flask("other")
        with flask.request_started.connected_to(for_other, other):
            app.test_client().get("/index")
            with flask.request_started.connected_to(for_any):
                app.test_client().get("/index")
        alone, with_any = recorder.trace().requests
    assert heard == ["any"]
    assert calls(alone.steps, Role.SIGNAL) == []
    signal = one(calls(with_any.steps, Role.SIGNAL))
    assert signal.facts == {"signal": "request_started", "receivers": 1}
    receivers = calls(with_any.steps, Role.SIGNAL_RECEIVER)
    assert [step.name for step in receivers] == [for_any.__qualname__]


def test_unimplemented_method_assertion(tmp_path) -> None:
    app_file = tmp_path / "unimplemented_app.py"
    app_file.write_text(
        "from flask import Flask, views\n"
        "class OnlyGet(views.MethodView):\n"
        "    methods = ['GET', 'POST']\n"
        "    def get(self):\n"
        "        return 'ok'\n"
        "app = Flask(__name__)\n"
        "app.add_url_rule('/only', view_func=OnlyGet.as_view('only'))\n"
    )
    from tracer import record_app

    recording = record_app(str(app_file), [RequestSpec("POST", "/only")])
    request = recording.trace.requests[0]
    assert (request.status, request.outcome) == (500, "error")
    lookup = one(notes(request.steps, Role.HANDLER_LOOKUP))
    assert lookup.facts["found"] is False and lookup.facts["handler"] is None
    assert "Unimplemented method 'POST'" in lookup.facts["error"]
    dispatch = one(calls(request.steps, Role.CLASS_DISPATCH))
    assert end_of(request.steps, dispatch).kind == "exception"
    import sys

    sys.modules.pop("unimplemented_app", None)


def test_request_ids_stay_unique_when_requests_are_let_go(tmp_path, monkeypatch) -> None:
    """A live server and the pytest plugin take written requests off the recorder; the next
    request still gets an id of its own (it used to be numbered by the list's length)."""
    (tmp_path / "ids_app.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\n\n\n"
        "@app.get('/')\ndef index():\n    return 'ok'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with tracer.record() as recording:
        client = __import__("ids_app").app.test_client()
        client.get("/").close()
        client.get("/").close()
        assert [record.info["id"] for record in recording.requests] == [0, 1]
        recording.let_go(1)
        client.get("/").close()
        assert [record.info["id"] for record in recording.requests] == [1, 2]
        assert [request.id for request in recording.trace().requests] == [1, 2]
