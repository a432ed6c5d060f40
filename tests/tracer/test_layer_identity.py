"""Decorator layers made by one factory are recorded by identity, never by name.

`fixtures/factory_layers.py`: `tag("first")` and `tag("second")` make layers with the same
code and the same name. Each chain link keeps the expression that made it (read from the
source), and each layer call names the link it ran (told by its closure).
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from flaskscope_testing import calls, notes, one, record_fixture

from tracer import Role
from tracer.frameworks.flask.decorator_expressions import (
    MAX_EXPRESSION,
    class_decorators,
    function_decorators,
)
from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Trace
from tracer.session import record_app
from tracer.tracefile import dumps, loads
from tracer.unwrap import layers

LAYER = "tag.<locals>.deco.<locals>.tagged"
REQUESTS = ("GET /hello", "GET /hello?stop=1", "GET /stacked", "GET /stacked?stop=1",
            "GET /twice", "GET /looped")


@pytest.fixture(scope="module")
def trace() -> Trace:
    recording = record_fixture("factory_layers", *REQUESTS)
    assert recording.app_error is None
    return recording.trace


@pytest.fixture(scope="module")
def line_trace() -> Trace:
    recording = record_fixture("factory_layers", *REQUESTS, lines=True)
    assert recording.app_error is None
    return recording.trace


def _made(trace: Trace, endpoint: str) -> list[tuple[str, str | None, int | None]]:
    route = one([r for r in trace.routes if r.endpoint == endpoint])
    return [(link.qualname, link.expression, link.occurrence) for link in route.chain
            if link.kind in ("decorator", "view")]


def _layer_calls(trace: Trace, request: int) -> list[tuple[str, object]]:
    return [(s.name, s.facts.get("layer"))
            for s in calls(trace.requests[request].steps, Role.LAYER)]


def test_class_decorator_layers_keep_their_expressions(trace: Trace) -> None:
    assert _made(trace, "hello") == [
        (LAYER, 'tag("second")', None),  # applied last: the outermost
        (LAYER, 'tag("first")', None),
        ("View.as_view.<locals>.view", None, None),
    ]
    applied = [(n.facts["position"], n.facts["expression"])
               for n in notes(trace.registration.steps, Role.CLASS_DECORATOR)
               if n.parent == one([s for s in calls(trace.registration.steps, Role.CLASS_VIEW)
                                   if s.facts["name"] == "hello"]).id]
    assert applied == [(0, 'tag("first")'), (1, 'tag("second")')]


def test_stacked_decorator_layers_keep_their_expressions(trace: Trace) -> None:
    assert _made(trace, "stacked") == [
        (LAYER, 'tag("first")', None),  # written first: the outermost
        (LAYER, 'tag("second")', None),
        ("stacked", None, None),
    ]


def test_one_text_twice_is_numbered_in_source_order(trace: Trace) -> None:
    assert _made(trace, "twice") == [
        (LAYER, 'tag("x")', 2),  # the second in `[tag("x"), tag("x")]` wraps the first
        (LAYER, 'tag("x")', 1),
        ("View.as_view.<locals>.view", None, None),
    ]


def test_a_list_built_in_a_loop_gives_no_expression(trace: Trace) -> None:
    assert _made(trace, "looped") == [(LAYER, None, None), (LAYER, None, None),
                                      ("View.as_view.<locals>.view", None, None)]


@pytest.mark.parametrize("which", ["trace", "line_trace"])
def test_each_layer_call_names_the_link_it_ran(which: str, request: pytest.FixtureRequest
                                                ) -> None:
    recorded: Trace = request.getfixturevalue(which)
    assert _layer_calls(recorded, 0) == [(LAYER, 0), (LAYER, 1)]
    assert _layer_calls(recorded, 1) == [(LAYER, 0), (LAYER, 1)]  # "first", inside, answered
    assert _layer_calls(recorded, 2) == [(LAYER, 0), (LAYER, 1)]
    assert _layer_calls(recorded, 3) == [(LAYER, 0)]  # "first", outside, answered
    assert _layer_calls(recorded, 4) == [(LAYER, 0), (LAYER, 1)]
    layers = calls(recorded.requests[1].steps, Role.LAYER)
    assert layers[1].parent == layers[0].id, "the inner layer's call is inside the outer's"


def test_expressions_survive_the_trace_file(trace: Trace) -> None:
    assert loads(dumps(trace)).routes == trace.routes


def test_a_trace_file_without_expressions_still_loads(trace: Trace) -> None:
    lines = [json.loads(line) for line in dumps(trace).decode().splitlines()]
    for route in lines[0]["routes"]:
        for link in route["chain"]:
            del link["expression"], link["occurrence"]
    older = loads("".join(json.dumps(line) + "\n" for line in lines).encode())
    assert {link.expression for route in older.routes for link in route.chain} == {None}
    assert [r.endpoint for r in older.routes] == [r.endpoint for r in trace.routes]


# -- reading expressions from the source ----------------------------------------------------

FACTORY = """
    def tag(label):
        def deco(f):
            def tagged(*args, **kwargs):
                return f(*args, **kwargs)
            return tagged
        return deco
"""


def _imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str
              ) -> ModuleType:
    """`source` imported as module `name` from a file (forgotten after the test)."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(FACTORY) + textwrap.dedent(source),
                                         "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def test_code_run_from_a_string_has_no_expression() -> None:
    namespace: dict = {}
    exec(compile(textwrap.dedent(FACTORY) + textwrap.dedent("""
        @tag("a")
        def view():
            return "x"
    """), "<string>", "exec"), namespace)
    assert function_decorators(namespace["view"], [LAYER]) is None


def test_decorator_lines_must_match_the_layers_one_for_one(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    module = _imported(tmp_path, monkeypatch, "stacked_lines", """
        def plain():
            return "x"

        @tag("a")
        @tag(
            "b",
        )
        def stacked():
            return "x"
    """)
    *_, stacked = layers(module.stacked)  # the function the `def` made
    made = function_decorators(stacked, [LAYER, LAYER])
    assert made is not None and [m.expression for m in made] == ['tag("a")', "tag('b')"]
    # One layer under a line that registers nothing: which line made it is not known.
    assert function_decorators(stacked, [LAYER]) is None
    assert function_decorators(stacked, [LAYER, "other.<locals>.wrapper"]) is None
    assert function_decorators(module.plain, [LAYER]) is None


def test_a_class_list_must_match_the_decorators_it_holds(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    module = _imported(tmp_path, monkeypatch, "listed_classes", f"""
        class Listed:
            decorators = [tag("a"), tag("{'y' * (MAX_EXPRESSION + 50)}")]

        class Changed:
            decorators = [tag("a")]

        Changed.decorators = [tag("a"), tag("b")]
    """)
    made = class_decorators(module.Listed, module.Listed.decorators)
    assert made is not None and made[0].expression == 'tag("a")'
    assert len(made[1].expression) == MAX_EXPRESSION and made[1].expression.endswith("…")
    assert class_decorators(module.Changed, module.Changed.decorators) is None


def test_a_secret_in_an_expression_is_redacted(tmp_path: Path) -> None:
    path = tmp_path / "secret_layers.py"
    path.write_text(textwrap.dedent(FACTORY) + textwrap.dedent("""
        from flask import Flask
        from flask.views import View

        app = Flask(__name__)
        app.config["SECRET_KEY"] = "sup3r-s3cret-value"

        class Guarded(View):
            decorators = [tag("sup3r-s3cret-value"), tag("b")]
            def dispatch_request(self):
                return "ok"

        app.add_url_rule("/guarded", view_func=Guarded.as_view("guarded"))
    """), "utf-8")
    try:
        recorded = record_app(str(path), [RequestSpec("GET", "/guarded")]).trace
    finally:
        sys.modules.pop("secret_layers", None)
    assert [e for _, e, _ in _made(recorded, "guarded")] == ['tag("b")', 'tag("***")', None]
    written = [n.facts["expression"] for n in notes(recorded.registration.steps,
                                                     Role.CLASS_DECORATOR)]
    assert written == ['tag("***")', 'tag("b")']
    assert b"sup3r-s3cret-value" not in dumps(recorded).split(b'"sources"')[0]
