"""The route map reads like a table: one row per rule, in order, level with its endpoint.

Checked on the geometry `dot` computes for a 56-route app (many_routes_app.py) whose rules
`/a` and `/a/<int:x>` share endpoint `a`, with blueprints registered between app routes.
"""

from __future__ import annotations

import pytest
from graph_dot import layout, needs_dot, parse

from tracer.model import Trace
from viewer.graph import build, routes_graph


def _rows(trace: Trace) -> list[tuple[str, str, str | None]]:
    """(rule node, endpoint node, chain node or None) per route, endpoints numbered the way
    the graph numbers them: by first appearance."""
    ids: dict[str, str] = {}
    rows = []
    for position, route in enumerate(trace.routes):
        endpoint = ids.setdefault(route.endpoint, f"e{len(ids)}")
        rows.append((f"r{position}", endpoint, "c" + endpoint[1:] if route.chain else None))
    return rows


def test_the_app_has_what_the_layout_tests_need(many_routes) -> None:
    trace, endpoints = many_routes
    assert len(trace.routes) == 56
    assert list(dict.fromkeys(r.endpoint for r in trace.routes)) == endpoints
    shared = [r.rule for r in trace.routes if r.endpoint == "a"]
    assert sorted(shared) == ["/a", "/a/<int:x>"]


@needs_dot
@pytest.mark.parametrize("request_id", [None, 0, 1, 2, 3])
def test_rows_run_top_to_bottom_in_registration_order(many_routes, request_id) -> None:
    trace, _ = many_routes
    graph = build(trace, "routes", request_id=request_id, use_request=request_id is not None)
    centres = layout(graph.source)
    heights = [centres[f"r{position}"][1] for position in range(len(trace.routes))]
    assert all(upper > lower for upper, lower in zip(heights, heights[1:], strict=False)), \
        heights


@needs_dot
@pytest.mark.parametrize("request_id", [None, 0, 1, 2, 3])
def test_each_rule_is_level_with_its_endpoint_and_chain(many_routes, request_id) -> None:
    trace, _ = many_routes
    graph = build(trace, "routes", request_id=request_id, use_request=request_id is not None)
    centres = layout(graph.source)
    first_rule: dict[str, str] = {}
    for rule, endpoint, chain in _rows(trace):
        owner = first_rule.setdefault(endpoint, rule)
        row = centres[owner][1]
        assert centres[endpoint][1] == row, (rule, endpoint)
        if chain is not None:
            assert centres[chain][1] == row, (rule, chain)
        if owner != rule:  # a later rule of a shared endpoint: its own row, below
            assert centres[rule][1] < row


@needs_dot
def test_the_request_sits_on_the_row_of_the_rule_it_reached(many_routes) -> None:
    trace, _ = many_routes
    source = routes_graph(trace, request=trace.request(0)).source
    parsed, centres = parse(source), layout(source)
    assert centres["request"][1] == centres[parsed.node("/a")][1]
    chain = next(h for t, h, _ in parsed.edges if t == parsed.node("a"))
    assert ("handler" in parsed.classes("handler") and (chain, "handler") in parsed.edge_pairs())
    assert centres["handler"][1] == centres[chain][1]

    refused = build(trace, "routes", request_id=1).source
    centres = layout(refused)
    assert centres["request"][1] == centres[parse(refused).node("/a/<int:x>")][1]

    lost = layout(build(trace, "routes", request_id=2).source)
    assert lost["request"][1] > max(y for name, (_, y) in lost.items() if name != "request")


def test_each_row_is_one_rank_and_the_rows_are_chained_in_order(many_routes) -> None:
    trace, _ = many_routes
    parsed = parse(routes_graph(trace).source)
    rows = _rows(trace)
    ranks = {tuple(rank) for rank in parsed.ranks}
    owners: set[str] = set()
    for rule, endpoint, chain in rows:
        if endpoint in owners:
            assert not [rank for rank in ranks if rule in rank], rule
            continue
        owners.add(endpoint)
        assert (rule, endpoint, chain) in ranks
    assert parsed.invisible == [(a[0], b[0]) for a, b in zip(rows, rows[1:], strict=False)]


def test_a_rule_sharing_an_endpoint_points_up_to_it(many_routes) -> None:
    trace, _ = many_routes
    parsed = parse(routes_graph(trace).source)
    first, second = parsed.node("/a/<int:x>"), parsed.node("/a")
    endpoint = parsed.node("a")
    assert {(first, endpoint), (second, endpoint)} <= parsed.edge_pairs()
    assert len(parsed.nodes_where("a")) == 1


def test_matching_any_rule_of_an_endpoint_highlights_the_endpoint(many_routes) -> None:
    trace, _ = many_routes
    request = trace.request(0)
    assert request.rule == "/a"  # the second rule of endpoint "a" in the URL map
    parsed = parse(routes_graph(trace, request=request).source)
    assert "matched" in parsed.classes(parsed.node("/a"))
    assert "matched" not in parsed.classes(parsed.node("/a/<int:x>"))
    endpoint = parsed.node("a")
    assert "matched" in parsed.classes(endpoint)
    chain = next(h for t, h, _ in parsed.edges if t == endpoint)
    assert "matched" in parsed.classes(chain)
    assert "matched" in parsed.edge(endpoint, chain)["class"]
