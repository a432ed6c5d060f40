"""The route map: rules, endpoints, chains, blueprint clusters and a request's resolution."""

from __future__ import annotations

import dataclasses

import pytest
from graph_dot import parse

from tracer.model import ChainLink, Route
from viewer.graph import build, routes_graph


def _endpoint_of(parsed, rule_node: str) -> str:
    heads = [h for t, h, a in parsed.edges if t == rule_node and "methods" in a.get("class", "")]
    assert len(heads) == 1
    return heads[0]


def test_rules_lead_to_endpoints_and_chains(seed_routes) -> None:
    parsed = parse(routes_graph(seed_routes).source)
    expected = {"/": ("n1", "index"), "/login": ("n2", "login"), "/about": ("about", "about")}
    for rule, (endpoint, view) in expected.items():
        rule_node = parsed.node(rule)
        endpoint_node = _endpoint_of(parsed, rule_node)
        assert parsed.node_label(endpoint_node) == endpoint
        chain = [h for t, h, _ in parsed.edges if t == endpoint_node]
        assert [parsed.node_label(c) for c in chain] == [view]


def test_methods_label_the_edges_with_automatic_ones_apart(seed_routes) -> None:
    parsed = parse(routes_graph(seed_routes).source)
    index = parsed.node("/")
    index_edge = parsed.edge(index, _endpoint_of(parsed, index))
    assert index_edge["label"] == "GET, POST, (HEAD), (OPTIONS)"
    assert set(index_edge["class"].split()) == {"methods", "automatic"}
    about = parsed.node("/about")
    assert parsed.edge(about, _endpoint_of(parsed, about))["label"] == \
        "GET, (HEAD), (OPTIONS)"
    assert "(METHOD) = added by Flask" in parsed.label


def test_blueprints_are_clusters(real_app) -> None:
    parsed = parse(routes_graph(real_app).source)
    for rule in ("/shop/products", "/shop/products/<int:product_id>"):
        node = parsed.node(rule)
        assert [parsed.clusters[c]["label"] for c in parsed.clusters_of(node)] == \
            ["blueprint shop"]
        assert parsed.clusters_of(_endpoint_of(parsed, node)) == parsed.clusters_of(node)
    assert parsed.clusters_of(parsed.node("/stacked")) == []
    chain = parsed.node("log_calls.<locals>.logged")
    assert parsed.node_label(chain) == ("log_calls.<locals>.logged\n"
                                        "add_header_no_wraps.<locals>.wrapper  "
                                        "(no functools.wraps)\nstacked_view")


def test_nested_blueprints_and_several_apps_nest_their_clusters() -> None:
    link = ChainLink(kind="view", name="v", qualname="v", file=None, line=None)
    routes = tuple(
        Route(rule=rule, endpoint=endpoint, methods=("GET",), blueprint=blueprint,
              chain=(link,), app=app)
        for rule, endpoint, blueprint, app in [
            ("/a", "a.x", "a", "one"),
            ("/a/b", "a.b.y", "a.b", "one"),
            ("/z", "z", None, "two"),
        ]
    )
    from tracer.model import Registration, Trace

    trace = Trace(meta={}, routes=routes, registration=Registration(), requests=(),
                  sources={})
    parsed = parse(routes_graph(trace).source)

    def labels(rule: str) -> list[str]:
        return [parsed.clusters[c]["label"] for c in parsed.clusters_of(parsed.node(rule))]

    assert labels("/a/b") == ["blueprint a.b", "blueprint a", "app one"]
    assert labels("/a") == ["blueprint a", "app one"]
    assert labels("/z") == ["app two"]


def test_a_matched_request_highlights_rule_endpoint_chain_and_handler(seed_views) -> None:
    parsed = parse(routes_graph(seed_views, request=seed_views.request(0)).source)
    rule = parsed.node("/index")
    endpoint = _endpoint_of(parsed, rule)
    chain = parsed.node("auth.<locals>.inner  (class decorator)")
    for node in (rule, endpoint, chain):
        assert "matched" in parsed.classes(node)
    static = parsed.node("/static/<path:filename>")
    assert "matched" not in parsed.classes(static)
    request = parsed.node("GET /index")
    assert parsed.edge(request, rule)["label"] == "GET"
    assert "matched" in parsed.edge(request, rule)["class"]
    assert "matched" in parsed.edge(rule, endpoint)["class"]
    handler = parsed.node("IndexView.get")
    assert "handler" in parsed.classes(handler)
    assert parsed.node_label(handler) == \
        "IndexView.get\nfixtures/seed_views.py:48\n→ 'Index.GET'"
    assert parsed.edge(chain, handler)["label"] == "ran"


def test_an_early_answer_names_the_layer_that_gave_it(seed_views) -> None:
    parsed = parse(routes_graph(seed_views, request=seed_views.request(1)).source)
    handler = [n for n in parsed.nodes if "handler" in parsed.classes(n)]
    assert len(handler) == 1
    assert parsed.node_label(handler[0]).split("\n") == [
        "auth.<locals>.inner", "fixtures/seed_views.py:33",
        "answered without calling the view", "→ ('Forbidden', 403)"]


def test_a_404_is_a_node_for_the_path_that_matched_nothing(real_app) -> None:
    parsed = parse(routes_graph(real_app, request=real_app.request(3)).source)
    lost = parsed.node("GET /nowhere")
    assert "no-match" in parsed.classes(lost)
    assert parsed.node_label(lost).split("\n")[1:] == [
        "→ 404 not_found", "matched no rule", "handled by handle_not_found"]
    assert not [e for e in parsed.edges if lost in e[:2]]
    assert not any("matched" in parsed.classes(n) for n in parsed.nodes)


def test_a_404_points_at_the_near_misses_the_adapter_found(real_app) -> None:
    request = real_app.request(6)  # GET /items/abc: the int converter refuses "abc"
    parsed = parse(routes_graph(real_app, request=request).source)
    lost = parsed.node("GET /items/abc")
    rule = parsed.node("/items/<int:item_id>")
    edge = parsed.edge(lost, rule)
    assert edge["class"] == "near-miss" and edge["style"] == "dotted"
    assert edge["label"] == ("near miss: converter rejected\n"
                             "argument: item_id, converter: int, segment: abc\n"
                             "refused by pattern \\d+")
    assert [h for t, h, _ in parsed.edges if t == lost] == [rule]


def _without_match_fact(request, fact: str):
    steps = tuple(
        dataclasses.replace(s, facts={k: v for k, v in s.facts.items() if k != fact})
        if s.role == "match" else s
        for s in request.steps
    )
    return dataclasses.replace(request, steps=steps)


@pytest.mark.parametrize("recorded_rules", [True, False])
def test_a_405_points_at_the_rule_and_its_allowed_methods(seed_views, recorded_rules) -> None:
    request = seed_views.request(2)
    match = next(s for s in request.steps if s.role == "match" and s.kind == "call")
    assert match.facts["matched_rules"] == ["/index"]
    if not recorded_rules:  # an older trace: the graph asks Werkzeug which rules matched
        request = _without_match_fact(request, "matched_rules")
    parsed = parse(routes_graph(seed_views, request=request).source)
    rule = parsed.node("/index")
    request = parsed.node("POST /index")
    assert "not-allowed" in parsed.classes(rule)
    assert "not-allowed" in parsed.classes(request)
    assert parsed.edge(request, rule)["label"] == \
        "POST not allowed\nallowed: GET, HEAD, OPTIONS"
    assert "not-allowed" not in parsed.classes(parsed.node("/static/<path:filename>"))


def test_a_redirect_shows_its_target_and_the_rule_it_reaches(real_app) -> None:
    parsed = parse(routes_graph(real_app, request=real_app.request(2)).source)
    request = parsed.node("GET /docs")
    target = parsed.node("http://localhost/docs/")
    assert "redirect" in parsed.classes(target)
    assert parsed.edge(request, target)["label"] == "308 redirect"
    assert parsed.edge(target, parsed.node("/docs/"))["label"] == "then matches"


def test_narrowed_maps_keep_only_what_was_asked(real_app) -> None:
    shop = parse(build(real_app, "routes", blueprint="shop", use_request=False).source)
    rules = {parsed_label.split("\n")[0] for parsed_label in
             (shop.node_label(n) for n in shop.nodes if "rule" in shop.classes(n))}
    assert rules == {"/shop/products", "/shop/products/<int:product_id>"}
    items = parse(build(real_app, "routes", endpoint="item*", use_request=False).source)
    assert {items.node_label(n) for n in items.nodes if "rule" in items.classes(n)} == \
        {"/items/<int:item_id>"}


def test_a_matched_rule_filtered_out_draws_the_request_alone(real_app) -> None:
    parsed = parse(build(real_app, "routes", request_id=0, blueprint="shop").source)
    request = parsed.node("GET /stacked")
    assert not [e for e in parsed.edges if request in e[:2]]


@pytest.mark.parametrize("kind", ["routes", "decorators"])
def test_a_trace_without_routes_says_so(seed_views, kind: str) -> None:
    from viewer.graph import GraphError

    with pytest.raises(GraphError, match="holds no routes"):
        build(dataclasses.replace(seed_views, routes=()), kind)
