"""The call graph of one request: nodes, package clusters, counted edges, the bold path."""

from __future__ import annotations

import dataclasses
import sys
import textwrap

import pytest
from graph_dot import parse

from tracer import record_app
from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Step
from viewer.graph import GraphError, build, calls_graph

#: The way a GET /index goes from the WSGI call to the MethodView handler (seed_views).
INDEX_PATH = [
    "Flask.wsgi_app",
    "Flask.full_dispatch_request",
    "Flask.dispatch_request",
    "auth.<locals>.inner",
    "View.as_view.<locals>.view",
    "MethodView.dispatch_request",
    "IndexView.get",
]


def _package(parsed, node: str) -> str:
    clusters = parsed.clusters_of(node)
    assert len(clusters) == 1, clusters
    return parsed.clusters[clusters[0]]["class"].removeprefix("package-")


def test_one_node_per_function_and_no_notes(seed_views) -> None:
    request = seed_views.request(0)
    parsed = parse(calls_graph(seed_views, request).source)
    names = {parsed.node_label(n).split("\n")[0] for n in parsed.nodes}
    called = {s.name for s in request.steps if s.kind == "call"}
    assert names == called
    assert len(parsed.nodes) == len({(s.name, s.file, s.line) for s in request.steps
                                     if s.kind == "call"})
    noted = {s.name for s in request.steps if s.kind == "note"}
    assert noted and not noted & names  # "getattr", "IndexView": notes, not functions
    get = parsed.node("IndexView.get")
    assert parsed.node_label(get).split("\n")[1] == "fixtures/seed_views.py:48"
    assert "[handler]" in parsed.node_label(get)
    assert "→ 'Index.GET'" in parsed.node_label(get)


def test_functions_are_clustered_by_package(seed_views) -> None:
    parsed = parse(calls_graph(seed_views, seed_views.request(0)).source)
    assert _package(parsed, parsed.node("IndexView.get")) == "app"
    assert _package(parsed, parsed.node("auth.<locals>.inner")) == "app"
    assert _package(parsed, parsed.node("Flask.dispatch_request")) == "flask"
    assert _package(parsed, parsed.node("View.as_view.<locals>.view")) == "flask"
    assert _package(parsed, parsed.node("MapAdapter.match")) == "werkzeug"
    labels = {c["class"]: c["label"] for c in parsed.clusters.values()}
    assert labels["package-app"] == "app (fixtures/seed_views.py)"
    assert labels["package-flask"] == f"flask {seed_views.meta['flask']}"
    assert "package-other" not in labels


def test_other_packages_get_their_own_cluster() -> None:
    from flaskscope_testing import record_fixture

    trace = record_fixture("seed_login", "GET /login", lines=True).trace
    parsed = parse(calls_graph(trace, trace.request(0)).source)
    labels = {c["class"]: c["label"] for c in parsed.clusters.values()}
    assert "jinja2" in labels["package-other"]
    assert _package(parsed, parsed.node("Environment.get_or_select_template")) == "other"


def test_edges_follow_calls_and_the_path_to_the_handler_is_bold(seed_views) -> None:
    parsed = parse(calls_graph(seed_views, seed_views.request(0)).source)
    ids = [parsed.node(name) for name in INDEX_PATH]
    path_edges = set(zip(ids, ids[1:], strict=False))
    assert path_edges <= parsed.edge_pairs()
    for tail, head, attrs in parsed.edges:
        on_path = (tail, head) in path_edges
        assert ("bold" in attrs.get("style", "")) == on_path, (tail, head)
        assert ("path" in attrs.get("class", "")) == on_path
        assert attrs["label"] == "1"
    bold_nodes = {n for n in parsed.nodes if "path" in parsed.classes(n)}
    assert bold_nodes == set(ids)
    match = parsed.node("RequestContext.match_request")
    assert (parsed.node("Flask.wsgi_app"), match) in parsed.edge_pairs()
    assert (match, parsed.node("MapAdapter.match")) in parsed.edge_pairs()
    assert "bold: the way from Flask.wsgi_app to IndexView.get" in parsed.label


def test_an_early_return_ends_the_bold_path_at_the_decorator(seed_views) -> None:
    request = seed_views.request(1)  # X-Deny: 1, auth answers 403
    assert request.status == 403
    parsed = parse(calls_graph(seed_views, request).source)
    names = {parsed.node_label(n).split("\n")[0] for n in parsed.nodes}
    assert "View.as_view.<locals>.view" not in names
    assert "IndexView.get" not in names
    bold = {parsed.node_label(n).split("\n")[0] for n in parsed.nodes
            if "path" in parsed.classes(n)}
    assert bold == set(INDEX_PATH[:4])


def test_a_function_that_raised_is_marked(real_app) -> None:
    request = real_app.request(4)  # GET /boom: ValueError, handled into a 400
    parsed = parse(calls_graph(real_app, request).source)
    boom = parsed.node("boom")
    assert "raised" in parsed.classes(boom)
    assert "raised ValueError" in parsed.node_label(boom)
    handler = parsed.node("handle_value_error")
    assert _package(parsed, handler) == "app"
    assert "raised" not in parsed.classes(handler)


def test_a_404_draws_no_path(real_app) -> None:
    parsed = parse(calls_graph(real_app, real_app.request(3)).source)
    assert not any("path" in parsed.classes(n) for n in parsed.nodes)
    assert "handle_not_found" in {parsed.node_label(n).split("\n")[0] for n in parsed.nodes}
    assert "GET /nowhere" in parsed.label and "not_found" in parsed.label


def test_line_steps_are_not_nodes(seed_views) -> None:
    request = seed_views.request(0)
    handler = next(s for s in request.steps if s.name == "IndexView.get" and s.kind == "call")
    lines = tuple(
        Step(id=len(request.steps) + i, parent=handler.id, kind="line", name="IndexView.get",
             file=handler.file, line=49, time_ns=0, thread=handler.thread)
        for i in range(3)
    )
    with_lines = dataclasses.replace(request, steps=request.steps + lines)
    plain = parse(calls_graph(seed_views, request).source)
    parsed = parse(calls_graph(seed_views, with_lines).source)
    assert parsed.nodes.keys() == plain.nodes.keys()
    assert parsed.edge_pairs() == plain.edge_pairs()


@pytest.fixture
def twice_app(tmp_path, monkeypatch):
    """An app whose before_request function is registered twice, so it runs twice."""
    source = tmp_path / "graph_twice_app.py"
    source.write_text(textwrap.dedent('''
        from flask import Flask

        app = Flask(__name__)


        def count_me():
            return None


        app.before_request(count_me)
        app.before_request(count_me)


        @app.route("/")
        def index():
            return "ok"
    '''))
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield str(source)
    sys.modules.pop("graph_twice_app", None)


def test_edges_count_the_calls(twice_app) -> None:
    recording = record_app(twice_app, [RequestSpec(method="GET", path="/")])
    assert recording.app_error is None
    trace = recording.trace
    parsed = parse(calls_graph(trace, trace.request(0)).source)
    preprocess = parsed.node("Flask.preprocess_request")
    count_me = parsed.node("count_me")
    assert parsed.edge(preprocess, count_me)["label"] == "2"
    assert parsed.edge(preprocess, count_me)["tooltip"] == (
        "Flask.preprocess_request → count_me: 2 calls"
    )
    assert _package(parsed, count_me) == "app"


def test_the_calls_kind_needs_a_request(seed_views) -> None:
    empty = dataclasses.replace(seed_views, requests=())
    with pytest.raises(GraphError, match="holds no request"):
        build(empty, "calls")
    with pytest.raises(GraphError, match=r"no request 9 in this trace; the requests there are: "
                                         r"0, 1, 2, 3"):
        build(seed_views, "calls", request_id=9)
    with pytest.raises(GraphError, match="--endpoint and --blueprint"):
        build(seed_views, "calls", endpoint="index")


def test_build_picks_the_request_by_id(seed_views) -> None:
    first = parse(build(seed_views, "calls").source)
    denied = parse(build(seed_views, "calls", request_id=1).source)
    assert first.label.startswith("request 0: GET /index")
    assert denied.label.startswith("request 1: GET /index  → 403")
