"""Recording never changes the app, restores everything, keeps requests apart and hides
secrets."""

from __future__ import annotations

import inspect
import reprlib
import threading
from unittest import mock

import flask
import flask.ctx
import flask.signals
import flask.views
import pytest
import werkzeug.routing
from flaskscope_testing import calls, forget_fixtures, one, record_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

import tracer
from tracer import Role, saferepr
from tracer.frameworks.flask import anatomy
from tracer.frameworks.flask.loading import RequestSpec
from tracer.saferepr import safe_repr


def _attribute_table() -> dict[tuple[int, str], object]:
    """Every attribute flaskscope may patch, as the raw objects stored on their owners."""
    owners = [
        flask.Flask, anatomy.App, anatomy.Scaffold, anatomy.Blueprint,
        anatomy.BlueprintSetupState, flask.views.View, flask.views.MethodView, flask.Config,
        flask.ctx.RequestContext, werkzeug.routing.Map, werkzeug.routing.MapAdapter,
        anatomy.SCAFFOLD_MODULE, anatomy.APP_MODULE, anatomy.BLUEPRINTS_MODULE, flask.helpers,
        flask,
        *(getattr(flask.signals, n) for n in dir(flask.signals)
          if isinstance(getattr(flask.signals, n), type(flask.signals.request_started))),
    ]
    return {(id(owner), name): value for owner in owners for name, value in vars(owner).items()}


def test_uninstall_restores_identical_originals() -> None:
    before = _attribute_table()
    recorder = tracer.install()
    assert tracer.install() is recorder, "install is idempotent"
    during = _attribute_table()
    assert during != before, "installing patches something"
    tracer.uninstall()
    after = _attribute_table()
    assert after.keys() == before.keys()
    changed = [key for key, value in before.items() if after[key] is not value]
    assert changed == []


def _responses(name: str, requests: list[RequestSpec]) -> list[tuple]:
    forget_fixtures()
    try:
        from tracer.frameworks.flask.loading import load_app

        app = load_app(f"fixtures/{name}.py")
        client = app.test_client()
        out = []
        for spec in requests:
            response = client.open(spec.path, method=spec.method, headers=list(spec.headers),
                                   data=dict(spec.data) or None)
            headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
            out.append((response.status_code, response.get_data(), headers))
        return out
    finally:
        forget_fixtures()


REAL_REQUESTS = [RequestSpec("GET", p) for p in (
    "/dashboard", "/docs", "/boom", "/nowhere", "/crash", "/items/42", "/items/abc", "/async",
    "/stacked", "/hooks", "/shop/products", "/shop/products/3", "/login")]


@pytest.mark.parametrize(("name", "requests"), [
    ("real_app", REAL_REQUESTS),
    ("seed_views", [RequestSpec(m, "/index") for m in ("GET", "HEAD", "POST", "OPTIONS")]),
    ("seed_login", [RequestSpec("GET", "/login"),
                    RequestSpec("POST", "/login", data=(("user", "admin"), ("pwd", "password"))),
                    RequestSpec("POST", "/login", data=(("user", "x"), ("pwd", "y")))]),
])
def test_responses_identical_with_and_without_recording(name, requests, caplog) -> None:
    plain = _responses(name, requests)
    with tracer.record():
        traced = _responses(name, requests)
    assert traced == plain


def test_views_keep_names_wrappers_and_signatures(fresh_import) -> None:
    plain = fresh_import("fixtures.real_app").app
    plain_views = {e: (f.__name__, getattr(f, "__wrapped__", None) is not None,
                       str(inspect.signature(f))) for e, f in plain.view_functions.items()}
    with tracer.record():
        traced = fresh_import("fixtures.real_app").app
        traced_views = {e: (f.__name__, getattr(f, "__wrapped__", None) is not None,
                            str(inspect.signature(f))) for e, f in traced.view_functions.items()}
        assert str(inspect.signature(flask.Flask.add_url_rule)) == str(
            inspect.signature(anatomy.App.add_url_rule.__wrapped__))
        decorator = traced.route("/probe")
        assert decorator.__name__ == "decorator"
    assert traced_views == plain_views


class _BrokenCodes(dict):
    """`Recorder._codes` that fails when a step is opened, whichever engine opens it."""

    def __setitem__(self, key, value):
        raise RuntimeError("recorder bug")


def test_recorder_failures_never_reach_the_app(monkeypatch) -> None:
    original_init = tracer.Recorder.__init__

    def broken_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._codes = _BrokenCodes()

    monkeypatch.setattr(tracer.Recorder, "__init__", broken_init)
    recording = record_fixture("seed_views", "GET /index", "HEAD /index")
    assert recording.app_error is None
    assert [r.status for r in recording.trace.requests] == [200, 200]
    assert recording.trace.meta["recorder_errors"] > 0
    assert "recorder bug" in recording.trace.meta["recorder_error_samples"][0]


def test_step_cap_counts_what_it_drops(fresh_import) -> None:
    with tracer.record(max_steps=10) as recorder:
        app = fresh_import("fixtures.seed_views").app
        app.test_client().get("/index")
        trace = recorder.trace()
    request = trace.requests[0]
    assert len(request.steps) == 10
    assert request.dropped_steps > 0
    assert trace.registration.dropped_steps > 0


@pytest.mark.parametrize("cap", [10**6, 5000])
def test_one_request_adding_steps_from_many_threads(cap) -> None:
    """A view may hand work to threads that carry its context: their steps land in the
    same record with unique, dense ids and nothing lost or counted twice."""
    import contextvars

    from tracer.recorder import Recorder, StepRecord, _record

    recorder = Recorder(max_steps=cap)
    record = StepRecord(cap)
    _record.set(record)
    context = contextvars.copy_context()
    together = threading.Barrier(8)  # all alive at once: distinct idents, interleaved adds
    threads = [threading.Thread(target=context.copy().run, args=(_notes, recorder, together))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = record.rows()
    assert [row[0] for row in rows] == list(range(min(cap, 8 * 2000)))
    assert len({row[7] for row in rows}) > 1, "several threads wrote"
    assert sorted(record.steps) == list(range(min(cap, 8 * 2000))), "no id twice, none lost"
    assert record.dropped == max(0, 8 * 2000 - cap)
    _record.set(None)


def _notes(recorder, together) -> None:
    together.wait()
    for _ in range(2000):
        recorder.note(Role.SIGNAL, "work")


def test_concurrent_requests_do_not_cross_talk(fresh_import) -> None:
    with tracer.record() as recorder:
        app = fresh_import("fixtures.real_app").app
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def worker(n: int) -> None:
            try:
                client = app.test_client()
                barrier.wait()
                for round_ in range(5):
                    assert client.get(f"/items/{n * 100 + round_}").status_code == 200
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        trace = recorder.trace()
    assert errors == []
    assert len(trace.requests) == 40
    for request in trace.requests:
        item = request.path.rsplit("/", 1)[1]
        assert request.view_args == {"item_id": item}
        view = one(calls(request.steps, Role.VIEW))
        assert view.detail == {"item_id": item}
        assert {s.thread for s in request.steps} == {request.thread}
        assert request.steps[0].parent is None
        assert all(s.parent is None or s.parent < s.id for s in request.steps)
    assert len({r.id for r in trace.requests}) == 40


SECRET = "s3cr3t-value"


def test_every_listed_secret_form_is_redacted(tmp_path) -> None:
    app_file = tmp_path / "secrets_app.py"
    app_file.write_text(
        "from flask import Flask, request\n"
        "app = Flask(__name__)\n"
        f"app.config['SECRET_KEY'] = '{SECRET}'\n"
        f"app.config['API_KEY'] = '{SECRET}'\n"
        "@app.route('/form', methods=['POST'])\n"
        "def form():\n"
        "    return request.form['user']\n"
        "@app.route('/json', methods=['POST'])\n"
        "def json_body():\n"
        "    return str(sorted(request.get_json()))\n"
        "@app.route('/q')\n"
        "def query():\n"
        "    return 'ok'\n"
        "@app.route('/args/<token>')\n"
        "def args(token):\n"
        "    return 'ok'\n"
    )
    requests = [
        RequestSpec("POST", "/form", data=(("user", "u"), ("password", SECRET),
                                           ("csrf_token", SECRET),
                                           ("passwd", SECRET), ("session_id", SECRET))),
        RequestSpec("POST", "/json", json={"api_key": SECRET, "token": SECRET, "ok": 1},
                    has_json=True),
        RequestSpec("GET", f"/q?password={SECRET}&secret={SECRET}&x=1", headers=(
            ("Authorization", f"Bearer {SECRET}"), ("Cookie", f"session={SECRET}"),
            ("X-Api-Key", SECRET))),
    ]
    import sys

    recording = tracer.record_app(str(app_file), requests)
    sys.modules.pop("secrets_app", None)
    assert [r.status for r in recording.trace.requests] == [200, 200, 200]
    document = tracer.tracefile.dumps(recording.trace).decode()
    assert SECRET not in document
    assert "***" in document
    form_request = recording.trace.requests[0]
    finalize = one(calls(form_request.steps, Role.FINALIZE))
    assert finalize.facts["request_data"]["form"]["user"] == "'u'"
    assert finalize.facts["request_data"]["form"]["password"] == "***"
    query_request = recording.trace.requests[2]
    request_step = query_request.steps[0]
    assert request_step.detail["header Authorization"] == "***"
    assert request_step.detail["header Cookie"] == "***"
    assert "x=1" in query_request.query
    path_argument = tracer.record_app(str(app_file), [RequestSpec("GET", "/args/abc")])
    sys.modules.pop("secrets_app", None)
    assert path_argument.trace.requests[0].view_args == {"token": "***"}

    opened = tracer.record_app(str(app_file), requests, redact=False)
    sys.modules.pop("secrets_app", None)
    assert SECRET in tracer.tracefile.dumps(opened.trace).decode()
    assert opened.trace.meta["redacted"] is False


def test_set_cookie_and_secret_shapes_in_reprs() -> None:
    from werkzeug.datastructures import Headers

    text = safe_repr(Headers([("Set-Cookie", f"session={SECRET}; HttpOnly"), ("X", "y")]))
    assert SECRET not in text and "'y'" in text
    assert SECRET not in safe_repr({"SECRET_KEY": SECRET, "nested": {"password": SECRET}})
    assert SECRET not in safe_repr(f'{{"api_key": "{SECRET}"}}')


def test_code_under_a_secret_looking_name_is_shown() -> None:
    """A function or class shows only its name: hidden, it told the reader less and hid
    nothing (Flask-WTF's context processor returns `{'csrf_token': generate_csrf}`)."""
    import functools

    def generate_csrf() -> str:
        return SECRET

    shown = safe_repr({"csrf_token": generate_csrf, "token_type": dict,
                       "api_key": functools.partial(str, SECRET), "password": SECRET})
    assert "<function test_code_under_a_secret_looking_name_is_shown.<locals>" \
           ".generate_csrf at 0x" in shown and "<class 'dict'>" in shown
    assert SECRET not in shown and shown.count("***") == 2
    assert saferepr.safe_value("csrf_token", generate_csrf).startswith("<function ")
    assert saferepr.safe_value("csrf_token", SECRET) == "***"


def test_safe_repr_survives_hostile_values() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise ValueError("no")

    assert "repr failed: ValueError" in safe_repr(Broken())
    assert len(safe_repr("x" * 100_000)) < 200
    loop: list = []
    loop.append(loop)
    assert safe_repr(loop).startswith("[[")
    assert len(safe_repr(list(range(10_000)))) < 200


_CONTROL_TEXT = st.text(st.characters(max_codepoint=31), min_size=30, max_size=60)
_FLAT_ITEMS = st.lists(
    st.one_of(st.text(max_size=170), _CONTROL_TEXT, st.integers(), st.booleans(), st.none(),
              st.floats(), st.binary(max_size=4)),
    max_size=15,
)


@settings(max_examples=300, deadline=None)
@given(items=_FLAT_ITEMS, as_tuple=st.booleans())
def test_the_plain_repr_shortcut_gives_what_the_bounded_walk_gives(items, as_tuple) -> None:
    value = tuple(items) if as_tuple else items
    shortcut = safe_repr(value)
    with mock.patch.object(saferepr, "_short_and_flat", lambda _: False):
        assert shortcut == safe_repr(value)


class _ByName(saferepr._BoundedRepr):
    """The bounded walk with reprlib's own lookup of a method by type name throughout."""

    def repr1(self, x, level):
        try:
            if self.redact and not isinstance(x, dict) and saferepr._is_plain_mapping(x):
                return self._repr_mapping(x, level, type(x).__name__)
            return reprlib.Repr.repr1(self, x, level)
        except Exception as exc:
            return saferepr._placeholder(x, exc)


_SCALAR = st.one_of(st.text(max_size=200), _CONTROL_TEXT, st.integers(), st.booleans(),
                    st.none(), st.floats(), st.binary(max_size=4),
                    st.sampled_from(["password", "token", "api_key", "x"]))
_NESTED = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=14), st.lists(inner, max_size=14).map(tuple),
                            st.dictionaries(st.one_of(st.text(max_size=12), st.integers(),
                                                      st.sampled_from(["password", "token"])),
                                            inner, max_size=14),
                            st.frozensets(st.integers(), max_size=14)),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(value=_NESTED, redact=st.booleans())
def test_the_walk_finds_builtin_types_as_reprlib_finds_them_by_name(value, redact) -> None:
    """The walk picks the method for str, tuple, list, dict and the scalars by type, which
    is faster than reprlib's lookup by name: the text is the same."""
    by_name = _ByName(redact=redact)
    with mock.patch.object(saferepr, "_REDACTING", _ByName(redact=True)), \
            mock.patch.object(saferepr, "_PLAIN", _ByName(redact=False)):
        expected = safe_repr(value, redact=redact)
    assert safe_repr(value, redact=redact) == expected
    walk = saferepr._REDACTING if redact else saferepr._PLAIN
    assert walk.repr(value) == by_name.repr(value)


def test_a_class_once_shown_is_not_kept_alive() -> None:
    """How a type is shown is remembered weakly: a traced app's classes (and their module,
    and the signal receivers it connected) go when the app goes."""
    import gc
    import weakref

    class Shown:
        def __repr__(self) -> str:
            return "<shown>"

    assert safe_repr(Shown()) == "<shown>"
    gone = weakref.ref(Shown)
    del Shown
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("lines", [False, True])
def test_a_recorded_app_is_not_kept_alive_after_its_requests(lines: bool) -> None:
    """Nothing of a request stays in the thread's context once it is over: in line mode its
    record holds the request's values (the view instance, the app), which would keep a
    reloaded app, its module and its signal receivers alive."""
    import gc
    import importlib
    import sys
    import weakref

    def recorded() -> weakref.ref:
        with tracer.record(lines=lines) as recorder:
            app = importlib.import_module("fixtures.seed_views").app
            app.test_client().get("/index").close()
            recorder.trace()
        return weakref.ref(app)

    gone = recorded()
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]
    gc.collect()
    assert gone() is None


def test_signals_without_blinker_pass_through(monkeypatch) -> None:
    """Flask before 2.3 runs without blinker: its signals are stand-ins whose `send` does
    nothing and that have no receivers. Recording must not break on them."""
    import flask.app

    class StandIn:
        def send(self, *args, **kwargs) -> None:
            return None

    stand_in = StandIn()
    monkeypatch.setattr(flask.signals, "request_started", stand_in)
    monkeypatch.setattr(flask.app, "request_started", stand_in)
    recording = record_fixture("seed_views", "GET /index")
    request = recording.trace.requests[0]
    assert request.status == 200 and request.error is None
    assert recording.trace.meta["recorder_errors"] == 0
