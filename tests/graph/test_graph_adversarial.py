"""Hostile names and values (fixtures/adversarial_labels.py) survive every graph kind.

The DOT must parse, no label may hold an escape Graphviz would interpret, and the text read
back must be the text the app has: the rule, the endpoint, the renamed layer's qualified
name, the returned value, the docstring.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from flaskscope_testing import fixture_path
from graph_dot import needs_dot, parse, svg_texts

from viewer.graph import build
from viewer.graph.labels import clip


@pytest.fixture(scope="module")
def names():
    """The fixture's constants, read from its source without registering it anywhere."""
    spec = importlib.util.spec_from_file_location("_adversarial_names",
                                                  fixture_path("adversarial_labels"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_routes_graph_shows_every_hostile_name(adversarial, names) -> None:
    parsed = parse(build(adversarial, "routes", request_id=0).source)
    rule = parsed.node(names.RULE)
    assert parsed.node_label(rule) == names.RULE
    assert "matched" in parsed.classes(rule)
    endpoint = [n for n in parsed.nodes if parsed.node_label(n) == names.ENDPOINT]
    assert len(endpoint) == 1 and (rule, endpoint[0]) in parsed.edge_pairs()
    chain = [n for n in parsed.nodes if "chain" in parsed.classes(n)
             and parsed.node_label(n).startswith(names.ODD_QUALNAME)]
    assert [parsed.node_label(n) for n in chain] == [
        names.ODD_QUALNAME + "  (no functools.wraps)\nhostile_view",
        names.ODD_QUALNAME + "  (class decorator, no functools.wraps)\n"
        "View.as_view.<locals>.view\nclass 类视图\nMethodView.dispatch_request\n类视图.get",
    ]
    request = parsed.node("GET " + names.RULE)
    assert parsed.edge(request, rule)["label"] == "GET"
    handler = [n for n in parsed.nodes if "handler" in parsed.classes(n)][0]
    assert parsed.node_label(handler).split("\n")[0] == "hostile_view"
    assert parsed.node_label(handler).endswith("→ " + clip(repr(names.HOSTILE), 48))
    assert names.ENDPOINT in parsed.label


def test_the_decorators_graph_shows_names_and_docstrings(adversarial, names) -> None:
    parsed = parse(build(adversarial, "decorators", request_id=0).source)
    layer = [n for n in parsed.nodes if parsed.node_label(n).startswith(names.ODD_QUALNAME)]
    assert len(layer) == 1
    wrapper_line = names.odd_layer(len).__code__.co_firstlineno
    assert parsed.node_label(layer[0]) == (
        f"{names.ODD_QUALNAME}\nfixtures/adversarial_labels.py:{wrapper_line}\nno functools.wraps")
    assert "entered" in parsed.classes(layer[0])
    endpoint = parsed.clusters[parsed.clusters_of(layer[0])[-1]]
    assert endpoint["label"] == f"endpoint {names.ENDPOINT}\n{names.RULE}"
    view = parsed.node("hostile_view")
    source = Path(fixture_path("adversarial_labels")).read_text(encoding="utf-8")
    docstring = next(line.strip() for line in source.splitlines() if "Docstring with" in line)
    assert docstring in parsed.nodes[view]["tooltip"].split("\n")[2]


def test_the_class_view_with_a_chinese_name(adversarial) -> None:
    parsed = parse(build(adversarial, "decorators", request_id=2).source)
    cls = parsed.node("class 类视图")
    assert "entered" in parsed.classes(cls)
    labels = [parsed.clusters[c]["label"] for c in parsed.clusters_of(parsed.node("类视图.get"))]
    assert labels[-1] == 'endpoint 类"视图\\\n/类/视图'
    assert labels[-2].endswith("(view class decorators)")


def test_the_call_graph_shows_the_renamed_layer_and_the_value(adversarial, names) -> None:
    parsed = parse(build(adversarial, "calls", request_id=0).source)
    layer = [n for n in parsed.nodes if parsed.node_label(n).startswith(names.ODD_QUALNAME)]
    assert len(layer) == 1 and "path" in parsed.classes(layer[0])
    view = parsed.node("hostile_view")
    assert parsed.node_label(view).endswith("→ " + clip(repr(names.HOSTILE), 48))
    assert "GET " + names.RULE in parsed.label


def test_405_redirect_and_404_resolve_hostile_paths(adversarial, names) -> None:
    refused = parse(build(adversarial, "routes", request_id=1).source)
    assert "not-allowed" in refused.classes(refused.node(names.RULE))
    moved = parse(build(adversarial, "routes", request_id=3).source)
    target = moved.node("http://localhost/dir%22q/")
    assert moved.edge(target, moved.node('/dir"q/'))["label"] == "then matches"
    lost = parse(build(adversarial, "routes", request_id=4).source)
    assert "no-match" in lost.classes(lost.node("GET /nothing|here"))


def test_a_blueprint_rule_with_quotes_and_braces(adversarial) -> None:
    parsed = parse(build(adversarial, "routes", request_id=5).source)
    rule = parsed.node('/bp\\"{x}/<path:rest>')
    assert "matched" in parsed.classes(rule)
    assert [parsed.clusters[c]["label"] for c in parsed.clusters_of(rule)] == \
        ["blueprint odd_bp"]
    request = parsed.node('GET /bp\\"{x}/a"b\\c')
    rest = adversarial.request(5).view_args["rest"]
    assert f"rest = {rest}" in parsed.node_label(request).split("\n")


@needs_dot
@pytest.mark.parametrize(("kind", "request_id"), [("routes", 0), ("decorators", 0),
                                                  ("calls", 0), ("routes", 5)])
def test_dot_renders_the_hostile_text_as_given(adversarial, names, kind, request_id) -> None:
    source = build(adversarial, kind, request_id=request_id).source
    drawn = svg_texts(source)
    wanted = names.ODD_QUALNAME.split("\n")
    if kind == "routes":  # the chain node adds its notes to the layer's last line
        wanted[-1] += "  (no functools.wraps)"
    if kind == "routes" and request_id == 0:
        wanted += [names.RULE] + names.ENDPOINT.split("\n")
    if kind == "routes" and request_id == 5:
        wanted += ['/bp\\"{x}/<path:rest>', "odd_bp.quote\"d|{x}"]
    if kind == "decorators":
        wanted += ["endpoint " + names.ENDPOINT.split("\n")[0], names.RULE]
    for text in wanted:
        assert text.strip() in {line.strip() for line in drawn}, (text, drawn)
