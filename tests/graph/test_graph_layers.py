"""The decorators graph tells apart decorator layers made by one factory.

`fixtures/factory_layers.py`: `tag("first")` and `tag("second")` make layers with the same
code and the same name. Each node and cluster says which expression made its layer, and
the request overlay marks as entered only the layers that ran.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from flaskscope_testing import record_fixture
from graph_dot import parse

from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Trace
from tracer.session import record_app
from viewer.graph import decorators_graph

LAYER = "tag.<locals>.deco.<locals>.tagged"


@pytest.fixture(scope="module")
def layers_trace() -> Trace:
    recording = record_fixture("factory_layers", "GET /hello?stop=1", "GET /stacked?stop=1",
                               "GET /twice")
    assert recording.app_error is None
    return recording.trace


def _drawn(trace: Trace, endpoint: str, request: int | None = None):  # type: ignore[no-untyped-def]
    routes = [r for r in trace.routes if r.endpoint == endpoint]
    chosen = trace.request(request) if request is not None else None
    return parse(decorators_graph(trace, routes, chosen).source)


def _layers(parsed) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(what made it, entered or not) of each layer node, outermost first."""
    nodes = sorted(parsed.nodes_where(LAYER), key=lambda n: len(parsed.clusters_of(n)))
    return [(parsed.node_label(n).split("\n")[2],
             "entered" if "entered" in parsed.classes(n) else "not entered") for n in nodes]


def test_class_layers_are_labelled_by_their_expressions(layers_trace: Trace) -> None:
    parsed = _drawn(layers_trace, "hello", 0)
    assert _layers(parsed) == [('made by @tag("second")', "entered"),
                               ('made by @tag("first")', "entered")]
    inner = max(parsed.nodes_where(LAYER), key=lambda n: len(parsed.clusters_of(n)))
    assert [parsed.clusters[c]["label"] for c in parsed.clusters_of(inner)][:2] == [
        '@tag("first") (view class decorators)', '@tag("second") (view class decorators)']
    assert "not-entered" in parsed.classes(parsed.node("View.as_view.<locals>.view"))
    assert 'made by @tag(\\"first\\")' in decorators_graph(layers_trace).source


def test_stacked_layers_are_labelled_and_entered_by_identity(layers_trace: Trace) -> None:
    parsed = _drawn(layers_trace, "stacked", 1)
    assert _layers(parsed) == [('made by @tag("first")', "entered"),
                               ('made by @tag("second")', "not entered")]
    view = parsed.node("stacked")
    assert [parsed.clusters[c]["label"] for c in parsed.clusters_of(view)][:2] == [
        '@tag("second")', '@tag("first")']


def test_one_text_twice_is_labelled_by_its_place_in_the_source(layers_trace: Trace) -> None:
    assert _layers(_drawn(layers_trace, "twice", 2)) == [
        ('made by the 2nd @tag("x")', "entered"), ('made by the 1st @tag("x")', "entered")]


HOSTILE = '''
    import functools
    from flask import Flask

    def tag(label):
        def deco(f):
            @functools.wraps(f)
            def tagged(*args, **kwargs):
                return f(*args, **kwargs)
            return tagged
        return deco

    app = Flask(__name__)

    @app.route("/loud")
    @tag("\x1b[2J\u202e\\\\N<b>LONG")
    @tag("b")
    def loud():
        return "loud"
'''.replace("LONG", "long" * 60)


def test_an_expression_from_the_source_is_escaped_and_clipped(tmp_path: Path) -> None:
    path = tmp_path / "hostile_graph.py"
    path.write_text(textwrap.dedent(HOSTILE), "utf-8")
    try:
        trace = record_app(str(path), [RequestSpec("GET", "/loud")]).trace
    finally:
        sys.modules.pop("hostile_graph", None)
    parsed = parse(decorators_graph(trace).source)
    outer = min(parsed.nodes_where(LAYER), key=lambda n: len(parsed.clusters_of(n)))
    labels = [parsed.node_label(outer), parsed.clusters[parsed.clusters_of(outer)[0]]["label"]]
    assert not any(char in label for label in labels for char in "\x1b\u202e")
    made = parsed.node_label(outer).split("\n")[2]
    assert made.startswith('made by @tag("\\x1b[2J\\u202e\\\\N<b>long')
    assert made.endswith("…") and "long" * 20 not in made
    assert labels[1] == made.removeprefix("made by ")
