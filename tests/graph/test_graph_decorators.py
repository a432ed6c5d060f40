"""The decorator onion: nesting from Route.chain, markers, and layers entered by a request."""

from __future__ import annotations

import pytest
from graph_dot import parse

from viewer.graph import GraphError, build, decorators_graph, entered_links

INDEX_NESTING = [
    "dispatch_request (MethodView)",
    "class IndexView",
    "view 'index' made by as_view",
    "@auth (view class decorators)",
    "endpoint index\n/index",
]


def _first_lines(parsed, nodes) -> set[str]:
    return {parsed.node_label(n).split("\n")[0] for n in nodes}


def _cluster_labels(parsed, node: str) -> list[str]:
    return [parsed.clusters[c]["label"] for c in parsed.clusters_of(node)]


def test_the_class_view_nests_like_an_onion(seed_views) -> None:
    parsed = parse(decorators_graph(seed_views).source)
    get, post = parsed.node("IndexView.get"), parsed.node("IndexView.post")
    assert _cluster_labels(parsed, get) == INDEX_NESTING
    assert _cluster_labels(parsed, post) == INDEX_NESTING
    dispatch = parsed.node("MethodView.dispatch_request")
    assert _cluster_labels(parsed, dispatch) == INDEX_NESTING
    assert _cluster_labels(parsed, parsed.node("class IndexView")) == INDEX_NESTING[1:]
    assert _cluster_labels(parsed, parsed.node("View.as_view.<locals>.view")) == \
        INDEX_NESTING[2:]
    auth = parsed.node("auth.<locals>.inner")
    assert _cluster_labels(parsed, auth) == INDEX_NESTING[3:]
    assert parsed.node_label(auth) == (
        "auth.<locals>.inner\nfixtures/seed_views.py:33\nmade by @auth\n"
        "from the view class's decorators"
    )
    assert parsed.nodes[parsed.node("class IndexView")]["shape"] == "box3d"
    view = parsed.node("View.as_view.<locals>.view")
    cls = parsed.node("class IndexView")
    assert parsed.edge_pairs() >= {(auth, view), (view, cls), (cls, dispatch),
                                   (dispatch, get), (dispatch, post)}
    assert parsed.edge(view, cls)["label"] == "instantiates"


def test_every_endpoint_is_drawn_without_a_request(seed_views) -> None:
    parsed = parse(decorators_graph(seed_views).source)
    endpoints = {c["label"].split("\n")[0] for c in parsed.clusters.values()
                 if c.get("class") == "endpoint"}
    assert endpoints == {"endpoint index", "endpoint static"}
    assert not any({"entered", "not-entered"} & parsed.classes(n) for n in parsed.nodes)


def test_a_layer_without_wraps_is_marked(real_app) -> None:
    stacked = [r for r in real_app.routes if r.endpoint == "stacked"]
    parsed = parse(decorators_graph(real_app, stacked).source)
    outer = parsed.node("log_calls.<locals>.logged")
    inner = parsed.node("add_header_no_wraps.<locals>.wrapper")
    view = parsed.node("stacked_view")
    assert "no-wraps" in parsed.classes(inner)
    assert parsed.node_label(inner).endswith("no functools.wraps")
    assert parsed.nodes[inner]["color"] == "#e65100"
    assert "no-wraps" not in parsed.classes(outer)
    assert "no functools.wraps" not in parsed.node_label(outer)
    assert [parsed.clusters[c]["label"] for c in parsed.clusters_of(view)] == [
        "@add_header_no_wraps", "@log_calls", "endpoint stacked\n/stacked"]
    assert parsed.clusters_of(inner) == parsed.clusters_of(view)


def test_an_early_return_leaves_the_inner_layers_dashed(seed_views) -> None:
    request = seed_views.request(1)  # X-Deny: 1
    parsed = parse(decorators_graph(seed_views, request=request).source)
    entered = {n for n in parsed.nodes if "entered" in parsed.classes(n)}
    skipped = {n for n in parsed.nodes if "not-entered" in parsed.classes(n)}
    assert _first_lines(parsed, entered) == {"auth.<locals>.inner"}
    assert _first_lines(parsed, skipped) == {
        "View.as_view.<locals>.view", "class IndexView", "MethodView.dispatch_request",
        "IndexView.get", "IndexView.post"}
    for node in skipped:
        assert "dashed" in parsed.nodes[node]["style"]
    for node in entered:
        assert "filled" in parsed.nodes[node]["style"]
    auth_cluster = parsed.clusters_of(parsed.node("auth.<locals>.inner"))[0]
    assert "entered" in parsed.clusters[auth_cluster]["class"].split()
    view_cluster = parsed.clusters_of(parsed.node("View.as_view.<locals>.view"))[0]
    assert "not-entered" in parsed.clusters[view_cluster]["class"].split()
    for tail, head, attrs in parsed.edges:
        assert attrs.get("style") == "dashed", (tail, head)
    assert "filled: entered by this request; dashed: never entered" in parsed.label


def test_a_full_request_enters_everything_but_the_other_handler(seed_views) -> None:
    parsed = parse(decorators_graph(seed_views, request=seed_views.request(0)).source)
    skipped = {n for n in parsed.nodes if "not-entered" in parsed.classes(n)}
    index_nodes = {n for n in parsed.nodes
                   if parsed.clusters_of(n)[-1] == parsed.clusters_of(
                       parsed.node("IndexView.get"))[-1]}
    assert _first_lines(parsed, skipped & index_nodes) == {"IndexView.post"}
    auth, view = parsed.node("auth.<locals>.inner"), parsed.node("View.as_view.<locals>.view")
    assert "bold" in parsed.edge(auth, view)["style"]


def test_flask_answering_options_itself_enters_no_layer(seed_views) -> None:
    request = seed_views.request(3)  # OPTIONS /index
    links = [r for r in seed_views.routes if r.endpoint == "index"][0].chain
    assert entered_links(links, request) == [False] * len(links)


def test_a_redirecting_decorator_stops_before_the_view(real_app) -> None:
    request = real_app.request(1)  # GET /dashboard without the cookie: 302
    chain = [r for r in real_app.routes if r.endpoint == "dashboard"][0].chain
    assert [link.qualname for link in chain] == ["login_required.<locals>.guarded", "dashboard"]
    assert entered_links(chain, request) == [True, False]


def test_build_draws_the_request_endpoint_unless_narrowed(real_app) -> None:
    only = parse(build(real_app, "decorators", request_id=0).source)
    assert {c["label"].split("\n")[0] for c in only.clusters.values()
            if c.get("class") == "endpoint"} == {"endpoint stacked"}
    everything = parse(build(real_app, "decorators", request_id=0, endpoint="*").source)
    assert len([c for c in everything.clusters.values() if c.get("class") == "endpoint"]) == \
        len({r.endpoint for r in real_app.routes})
    shop = parse(build(real_app, "decorators", blueprint="shop").source)
    assert {c["label"].split("\n")[0] for c in shop.clusters.values()
            if c.get("class") == "endpoint"} == {"endpoint shop.product_list",
                                                 "endpoint shop.product_detail"}
    lost = parse(build(real_app, "decorators", request_id=3).source)  # GET /nowhere
    assert "the request reached no endpoint, so no layer ran" in lost.label
    plain = parse(build(real_app, "decorators", use_request=False).source)
    assert "request" not in plain.label


def test_narrowing_to_nothing_names_what_there_is(real_app) -> None:
    with pytest.raises(GraphError, match=r"no endpoint matches 'nope\*'.*endpoints: .*stacked"):
        build(real_app, "decorators", endpoint="nope*")
    with pytest.raises(GraphError, match=r"no route belongs to blueprint 'admin'; "
                                         r"blueprints: shop"):
        build(real_app, "decorators", blueprint="admin")
    with pytest.raises(GraphError, match="contradict"):
        build(real_app, "decorators", request_id=0, use_request=False)


def test_the_same_endpoint_in_two_apps_is_two_onions() -> None:
    from tracer.model import ChainLink, Registration, Route, Trace

    def route(app: str, view: str) -> Route:
        link = ChainLink(kind="view", name=view, qualname=view, file=None, line=None)
        return Route(rule="/", endpoint="index", methods=("GET",), blueprint=None,
                     chain=(link,), app=app)

    trace = Trace(meta={}, routes=(route("one", "first"), route("two", "second")),
                  registration=Registration(), requests=(), sources={})
    parsed = parse(decorators_graph(trace).source)
    for view, app in (("first", "one"), ("second", "two")):
        clusters = parsed.clusters_of(parsed.node(view))
        assert [parsed.clusters[c]["label"] for c in clusters] == \
            [f"endpoint index (app {app})\n/"]
