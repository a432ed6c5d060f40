"""Line mode: executed lines with the locals they changed, scoped and restorable."""

from __future__ import annotations

import gc
import sys

import flask
import pytest
from flaskscope_testing import (
    APP_CLASS,
    ancestors,
    calls,
    one,
    record_fixture,
)

import tracer
from tracer import recorder
from tracer.frameworks.flask.loading import RequestSpec
from tracer.watch import HAS_MONITORING


@pytest.fixture(scope="module")
def views():
    return record_fixture("seed_views", "GET /index", "HEAD /index", lines=True).trace


def _lines(steps, call):
    return [s for s in steps if s.parent == call.id and s.kind == "line"]


def _source(trace, step):
    return trace.sources[step.file].lines[step.line]


def _changes(trace, steps, call, name):
    return [(s.detail[name], _source(trace, s).strip()) for s in _lines(steps, call)
            if name in s.detail]


def test_endpoint_local_goes_from_none_to_the_inferred_name(views) -> None:
    steps = views.registration.steps
    add = one([s for s in calls(steps, name=f"{APP_CLASS}.add_url_rule")
               if s.facts.get("endpoint") == "index"])
    assert add.detail["endpoint"] == "None"
    changes = _changes(views, steps, add, "endpoint")
    assert changes[0] == (
        "'index'", "endpoint = _endpoint_from_view_func(view_func)  # type: ignore")


def test_in_place_changes_are_seen(views) -> None:
    steps = views.registration.steps
    add = one([s for s in calls(steps, name=f"{APP_CLASS}.add_url_rule")
               if s.facts.get("endpoint") == "index"])
    methods = _changes(views, steps, add, "methods")
    assert ("{'GET'}", "methods = {item.upper() for item in methods}") in methods
    merged = [value for value, text in methods if text == "methods |= required_methods"]
    assert merged and set(eval(merged[0])) == {"GET", "OPTIONS"}  # noqa: S307 - a set repr
    options = _changes(views, steps, add, "options")
    assert any(text == 'options["endpoint"] = endpoint' and "'endpoint': 'index'" in value
               for value, text in options)


def test_head_lookup_shows_meth_none_then_get(views) -> None:
    request = [r for r in views.requests if r.method == "HEAD"][0]
    dispatch = one(calls(request.steps, name="MethodView.dispatch_request"))
    meth = _changes(views, request.steps, dispatch, "meth")
    assert meth[0] == ("None", "meth = getattr(self, request.method.lower(), None)")
    assert meth[1][0].startswith("<bound method IndexView.get of")
    assert meth[1][1] == 'meth = getattr(self, "get", None)'
    get_request = [r for r in views.requests if r.method == "GET"][0]
    dispatch = one(calls(get_request.steps, name="MethodView.dispatch_request"))
    assert _changes(views, get_request.steps, dispatch, "meth")[0][0].startswith("<bound method")


def test_the_handler_lookup_is_noted_once_when_its_getattr_line_has_run(views) -> None:
    """In time order: after the first `getattr` line of the dispatch (and what it called),
    before the dispatch's next line; not again at the handler's start."""
    for request in views.requests:
        dispatch = one(calls(request.steps, name="MethodView.dispatch_request"))
        (note,) = [s for s in request.steps if s.role == "handler_lookup"]
        assert note.parent == dispatch.id
        own = [s for s in request.steps if s.parent == dispatch.id]
        before = [s for s in own if s.id < note.id and s.kind == "line"]
        after = [s for s in own if s.id > note.id and s.kind == "line"]
        assert before[-1].line == note.line
        assert _source(views, before[-1]).strip().startswith("meth = getattr(self, request")
        assert after and after[0].line > note.line
        assert note.facts["handler"] == "IndexView.get"
        head = request.method == "HEAD"
        assert (note.facts["tried"], note.facts["found"], note.facts["fallback"]) == (
            ("head", False, "get") if head else ("get", True, None))


def test_hooked_functions_are_not_recorded_twice(views) -> None:
    """Hooks, the watcher and line tracing each see these calls; each is one step (on
    3.12+ line tracing's callbacks run before the watcher's)."""
    for request in views.requests:
        for name in ("Flask.dispatch_request", "auth.<locals>.inner",
                     "View.as_view.<locals>.view", "MethodView.dispatch_request",
                     "IndexView.get"):
            assert len(calls(request.steps, name=name)) == 1, (request.method, name)
    handler = one(calls(views.requests[0].steps, name="IndexView.get"))
    assert handler.role == "handler" and _lines(views.requests[0].steps, handler)


def test_only_the_server_side_is_traced(views) -> None:
    for request in views.requests:
        assert request.steps[0].name == "Flask.wsgi_app"
        assert all(s.parent is not None for s in request.steps[1:])
        names = {s.name for s in request.steps}
        assert not any(n.startswith(("EnvironBuilder", "Client.", "FlaskClient")) for n in names)


def test_out_of_scope_calls_are_one_step() -> None:
    trace = record_fixture("seed_login", "GET /login", lines=True).trace
    steps = trace.requests[0].steps
    jinja_steps = [s for s in steps if s.file and "/jinja2/" in s.file]
    assert jinja_steps, "rendering calls into Jinja2"
    assert all(s.kind in ("call", "return", "exception") for s in jinja_steps)
    for step in (s for s in jinja_steps if s.kind == "call"):
        parent = steps[step.parent]
        assert parent.file and "/jinja2/" not in parent.file, "nested Jinja2 calls are folded"
    assert any(s.kind == "line" and s.file.endswith("seed_login.py") for s in steps)


def test_recorder_bookkeeping_is_never_traced(views) -> None:
    names = {s.name for r in views.requests for s in r.steps}
    assert not any(name.startswith(("Repr.", "_GeneratorContextManager")) for name in names)


def test_scope_globs_adjust_what_is_traced() -> None:
    trace = record_fixture("seed_views", "GET /index", lines=True,
                           exclude=("*/werkzeug/*",)).trace
    line_files = {s.file for s in trace.requests[0].steps if s.kind == "line"}
    assert not any("/werkzeug/" in f for f in line_files)
    assert any("/flask/" in f for f in line_files)


def test_pre_existing_trace_and_profile_functions_are_kept() -> None:
    def tracer_function(frame, event, arg):
        return None

    def profiler(frame, event, arg):
        return None

    sys.settrace(tracer_function)
    sys.setprofile(profiler)
    try:
        recording = tracer.record_app(
            "fixtures/seed_views.py", [RequestSpec("GET", "/index")], lines=True)
        assert sys.gettrace() is tracer_function
        assert sys.getprofile() is profiler
    finally:
        sys.settrace(None)
        sys.setprofile(None)
    request = recording.trace.requests[0]
    assert request.status == 200
    assert any(s.role == "handler" for s in request.steps), "hook steps are still recorded"
    has_lines = any(s.kind == "line" for s in request.steps)
    if HAS_MONITORING:
        assert has_lines, "sys.monitoring works beside a settrace function"
    else:
        assert not has_lines
        assert "another trace function" in recording.trace.meta["lines_unavailable"]


def test_line_steps_nest_under_their_call(views) -> None:
    request = views.requests[0]
    for step in request.steps:
        if step.kind == "line":
            owner = request.steps[step.parent]
            assert owner.kind == "call" and owner.name == step.name
            assert step.line in views.sources[step.file].lines
    handler = one(calls(request.steps, name="IndexView.get"))
    assert [a.name for a in ancestors(request.steps, handler)][-1] == "Flask.wsgi_app"


VALUES_APP = '''
from flask import Flask

app = Flask(__name__)


def collect(items, password):
    items.append("b")
    scratch = "gone"
    del scratch
    result = list(items)
    items.append("c")
    return result


@app.route("/values")
def values():
    items = ["a"]
    got = collect(items, "hunter2")
    got.append("after")
    return ",".join(got)
'''


def test_values_are_shown_as_they_were_at_each_step(tmp_path) -> None:
    """Arguments as they were on entry, results as they were on return, in-place changes
    on the line that made them, deleted locals, secrets hidden: all rendered only when the
    trace is built, from copies taken at the time."""
    app_file = tmp_path / "values_app.py"
    app_file.write_text(VALUES_APP)
    recording = tracer.record_app(str(app_file), [RequestSpec("GET", "/values")], lines=True)
    request = recording.trace.requests[0]
    assert request.status == 200
    collect = one(calls(request.steps, name="collect"))
    assert collect.detail == {"items": "['a']", "password": "***"}
    lines = _lines(request.steps, collect)
    source = [_source(recording.trace, s).strip() for s in lines]
    detail = {text: s.detail for text, s in zip(source, lines, strict=True)}
    assert detail['items.append("b")'] == {"items": "['a', 'b']"}
    assert detail['scratch = "gone"'] == {"scratch": "'gone'"}
    assert detail["del scratch"] == {"scratch": "<deleted>"}
    assert detail['items.append("c")'] == {"items": "['a', 'b', 'c']"}
    returned = one([s for s in request.steps if s.parent == collect.id and s.kind == "return"])
    assert returned.detail == {"result": "['a', 'b']"}


CLOSURE_APP = '''
from flask import Flask

app = Flask(__name__)


@app.route("/count")
def count():
    total = 0

    def bump():
        nonlocal total
        total += 1

    bump()
    shown = str(total)
    return shown
'''


def test_a_local_rebound_by_an_inner_function_is_seen_where_it_is_read(tmp_path) -> None:
    """Lines that only read a plain local skip reading the frame; a cell variable may have
    been rebound by another frame, so reading one still looks."""
    app_file = tmp_path / "closure_app.py"
    app_file.write_text(CLOSURE_APP)
    recording = tracer.record_app(str(app_file), [RequestSpec("GET", "/count")], lines=True)
    request = recording.trace.requests[0]
    view = one(calls(request.steps, name="count"))
    changes = _changes(recording.trace, request.steps, view, "total")
    assert changes[0] == ("0", "total = 0")
    assert ("1", "shown = str(total)") in changes


GENERATOR_APP = '''
from flask import Flask

app = Flask(__name__)


def batches():
    batch = ["a"]
    yield len(batch)
    batch.append("b")
    yield len(batch)


@app.route("/batches")
def view():
    return str(list(batches()))
'''


def test_a_container_changed_in_place_after_a_generator_resumes_is_seen(tmp_path) -> None:
    """A line that only reads locals is settled once its frame may hold a container; in a
    resumed generator the locals made before the yield are not seen yet, so it may."""
    app_file = tmp_path / "generator_app.py"
    app_file.write_text(GENERATOR_APP)
    recording = tracer.record_app(str(app_file), [RequestSpec("GET", "/batches")], lines=True)
    request = recording.trace.requests[0]
    assert request.status == 200
    changes = [change for call in calls(request.steps, name="batches")
               for change in _changes(recording.trace, request.steps, call, "batch")]
    assert changes[0] == ("['a']", 'batch = ["a"]')
    assert ("['a', 'b']", 'batch.append("b")') in changes


FINALIZER_APP = '''
import gc

from flask import Flask

app = Flask(__name__)


def finalized():
    note = "collected"
    return note


class Cycle:
    def __init__(self):
        self.me = self

    def __del__(self):
        finalized()


@app.route("/collect")
def collect():
    Cycle()
    gc.collect()
    return "ok"
'''


def test_code_the_garbage_collector_runs_is_not_recorded(tmp_path) -> None:
    """Finalizers and gc callbacks run at whatever allocation set off a collection, maybe
    inside the app's own ContextVar.set: they are never recorded, and the collector's
    callbacks are back as they were afterwards."""
    app_file = tmp_path / "finalizer_app.py"
    app_file.write_text(FINALIZER_APP)
    callbacks = list(gc.callbacks)
    recording = tracer.record_app(str(app_file), [RequestSpec("GET", "/collect")], lines=True)
    assert gc.callbacks == callbacks
    request = recording.trace.requests[0]
    assert request.status == 200
    assert any(s.kind == "line" and s.name == "collect" for s in request.steps)
    assert not any(s.name in ("finalized", "Cycle.__del__") for s in request.steps)



def test_the_collection_bracket_stays_around_callbacks_added_while_recording() -> None:
    def added_later(phase, info):
        return None

    app = flask.Flask(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    with tracer.record():
        gc.callbacks.append(added_later)
        try:
            assert app.test_client().get("/").status_code == 200
            first, *_, last = gc.callbacks
            assert added_later in gc.callbacks
            assert first is recorder._collection_started
            assert last is recorder._collection_stopped
        finally:
            gc.callbacks.remove(added_later)
    assert recorder._collection_started not in gc.callbacks
    assert recorder._collection_stopped not in gc.callbacks


RESTORING_APP = '''
import sys

from flask import Flask

app = Flask(__name__)


def quietly(work):
    saved = sys.gettrace()
    sys.settrace(None)
    try:
        return work()
    finally:
        sys.settrace(saved)


def after_restore():
    word = "after"
    return word


@app.route("/restore")
def view():
    quietly(lambda: "untraced")
    return after_restore()
'''


def test_an_app_that_saves_and_restores_the_trace_function_goes_on_being_traced(
        tmp_path, monkeypatch) -> None:
    """`sys.settrace(sys.gettrace())`, as debuggers and test tools do around their own work:
    what flaskscope set works as a trace function again (on 3.11 the compiled core's
    C-level tracer is then called as a Python one), with either engine."""
    app_file = tmp_path / "restoring_app.py"
    app_file.write_text(RESTORING_APP)
    for engine in ("compiled", "python"):
        monkeypatch.setenv("FLASKSCOPE_ENGINE", engine)
        recording = tracer.record_app(str(app_file), [RequestSpec("GET", "/restore")],
                                      lines=True)
        request = recording.trace.requests[0]
        assert request.status == 200, engine
        assert recording.trace.meta.get("recorder_errors") == 0
        after = one(calls(request.steps, name="after_restore"))
        assert _changes(recording.trace, request.steps, after, "word") == [
            ("'after'", 'word = "after"')], engine


OUT_OF_SCOPE_HELPER = '''
import sys


def numbers(count):
    for number in range(count):
        yield number


def total(count):
    return sum(numbers(count)), (lines_delivered(), lines_delivered())


def lines_delivered():
    return sys._getframe().f_trace_lines
'''

IN_SCOPE_MODULE = '''
import helper_out_of_scope

TOTAL, LINES_DELIVERED = helper_out_of_scope.total(500)
'''


@pytest.mark.skipif(HAS_MONITORING, reason="3.11: a C-level trace function sees every frame")
def test_on_3_11_frames_never_traced_cost_the_compiled_core_no_line_events(
        tmp_path, monkeypatch) -> None:
    """Out of scope, a generator's resumptions are let go in C (Python saw each one), and a
    frame that can never be a step has its line events switched off at its call."""
    from tracer.api import default_scope, registering
    from tracer.engine import compiled_core
    from tracer.lines import LineEngine

    if compiled_core() is None:
        pytest.skip("the compiled core is not built")
    in_scope, out_of_scope = tmp_path / "app", tmp_path / "lib"
    in_scope.mkdir()
    out_of_scope.mkdir()
    (in_scope / "module_in_scope.py").write_text(IN_SCOPE_MODULE)
    (out_of_scope / "helper_out_of_scope.py").write_text(OUT_OF_SCOPE_HELPER)
    monkeypatch.syspath_prepend(str(out_of_scope))
    monkeypatch.syspath_prepend(str(in_scope))
    handed_to_python = []
    python_trace = LineEngine._global_trace

    def counting(self, frame, event, arg):
        handed_to_python.append(frame.f_code.co_name)
        return python_trace(self, frame, event, arg)

    monkeypatch.setattr(LineEngine, "_global_trace", counting)
    with tracer.record(lines=True, scope=default_scope([str(in_scope)])) as recorder:
        with registering():
            module = __import__("module_in_scope")
    sys.modules.pop("module_in_scope", None)
    sys.modules.pop("helper_out_of_scope", None)
    assert module.TOTAL == sum(range(500))
    assert handed_to_python.count("numbers") <= 1, "only its first call (a new code object)"
    # its first call is handed to Python (a code object not seen yet), the second is not
    assert module.LINES_DELIVERED == (True, False)
    steps = recorder.trace().registration.steps
    assert [step.name for step in steps if step.kind == "call" and "total" in step.name] == [
        "total"], "the call made from scope is one collapsed step"


KEPT_APP = '''
from flask import Flask

app = Flask(__name__)


class Holder:
    """An app value that leads back to the app, as a view instance or a request does."""

    def __init__(self):
        self.app = app


@app.get("/kept")
def kept():
    items = ["a", Holder()]
    numbers = [1, 2]
    return str(len(items) + len(numbers))
'''


def test_kept_values_are_out_of_the_collectors_sight_only_while_recorded(tmp_path,
                                                                         monkeypatch) -> None:
    """The compiled line core keeps a request's raw values and copies from the collector
    while the request is in the recorder (every full collection walked them all); letting it
    go, or ending the recording, gives back those that hold a tracked object, so a cycle
    through them (an app value leading back to the app and the recorder) is collected."""
    import weakref

    from tracer.api import default_scope
    from tracer.engine import compiled_core

    if compiled_core() is None:
        pytest.skip("the compiled core is not built")
    (tmp_path / "kept_app.py").write_text(KEPT_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    with tracer.record(lines=True, scope=default_scope([str(tmp_path)])) as recording:
        app = __import__("kept_app").app
        assert app.test_client().get("/kept").get_data(as_text=True) == "4"
        record = recording.requests[0]
        view = one([row[0] for row in record.rows() if row[2] == "call" and row[3] == "kept"])
        details = [record.raw[row[0]] for row in record.rows()
                   if row[1] == view and row[2] == "line" and row[0] in record.raw]
        copies = [value for detail in details for value in detail.values()
                  if type(value) is list]
        assert len(copies) == 2
        assert not any(gc.is_tracked(each) for each in [*details, *copies])
        recording.let_go()
        assert recording.requests == []
        holding = [copy for copy in copies if "a" in copy]
        plain = [copy for copy in copies if copy == [1, 2]]
        assert holding and plain
        assert all(gc.is_tracked(copy) for copy in holding), "it holds a Holder"
        assert not any(gc.is_tracked(copy) for copy in plain), "numbers only: left unseen"
        assert any(gc.is_tracked(detail) for detail in details)
        # kept until the recording ends
        assert app.test_client().get("/kept").get_data(as_text=True) == "4"
    del record, details, copies, holding, plain
    assert all(gc.is_tracked(detail) for detail in recording.requests[0].raw.values()
               if any(gc.is_tracked(value) for value in detail.values()))
    gone = weakref.ref(app)
    del app, recording
    sys.modules.pop("kept_app", None)
    gc.collect()
    assert gone() is None, "the app is not kept alive by the values its requests kept"
