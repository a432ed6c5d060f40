"""A 405 reached a route and stopped at its methods: the onion says so, with the methods.

A 405 has no endpoint, like a 404, but unlike a 404 its URL matched a rule. The decorators
graph and the viewer's onion pane must say the route exists and its view did not run, not
that the request reached no endpoint.
"""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT
from graph_dot import parse

from flaskscope.cli import cli
from viewer.graph import build
from viewer.tui.onion import build_onion, entered_calls


def _without_matched_rules(request):
    """The request as a trace recorded before the match step named the rules."""
    steps = tuple(
        dataclasses.replace(s, facts={k: v for k, v in s.facts.items() if k != "matched_rules"})
        if s.role == "match" else s
        for s in request.steps
    )
    return dataclasses.replace(request, steps=steps)


def _layer_nodes(parsed) -> list[str]:
    """The nodes standing for a link of a view chain."""
    kinds = {"decorator", "view", "view_class", "method"}
    return [n for n in parsed.nodes if parsed.classes(n) & kinds]


@pytest.mark.parametrize("recorded_rules", [True, False])
def test_the_onion_of_a_405_says_the_route_exists_and_its_view_did_not_run(
    seed_views, recorded_rules
) -> None:
    trace = seed_views
    if not recorded_rules:
        requests = list(trace.requests)
        requests[2] = _without_matched_rules(requests[2])
        trace = dataclasses.replace(trace, requests=tuple(requests))
    parsed = parse(build(trace, "decorators", request_id=2).source)  # POST /index
    lines = parsed.label.split("\n")
    assert "the request reached no endpoint, so no layer ran" not in lines
    assert ("the route exists: /index matched rule /index, but POST is not allowed there "
            "(allowed: GET, HEAD, OPTIONS)") in lines
    assert "so no view ran: every layer is dashed, never entered" in lines
    titles = [parsed.clusters[c]["label"] for c in parsed.clusters
              if "endpoint" in parsed.clusters[c].get("class", "")]
    assert titles == ["endpoint index\n/index"]  # the route it reached, not every endpoint
    layers = _layer_nodes(parsed)
    assert len(layers) == 6
    assert all("not-entered" in parsed.classes(n) for n in layers)


def test_a_405_on_a_rule_with_arguments_names_that_rule(many_routes) -> None:
    trace, _ = many_routes
    parsed = parse(build(trace, "decorators", request_id=1).source)  # POST /a/5
    assert ("the route exists: /a/5 matched rule /a/<int:x>, but POST is not allowed there "
            "(allowed: GET, HEAD, OPTIONS)") in parsed.label.split("\n")
    titles = [parsed.clusters[c]["label"] for c in parsed.clusters
              if "endpoint" in parsed.clusters[c].get("class", "")]
    assert titles == ["endpoint a\n/a/<int:x>, /a"]
    layers = _layer_nodes(parsed)
    assert len(layers) == 3  # audit, timing, the view
    assert all("not-entered" in parsed.classes(n) for n in layers)


def test_a_404_still_reached_no_endpoint(real_app) -> None:
    parsed = parse(build(real_app, "decorators", request_id=3).source)  # GET /nowhere
    assert "the request reached no endpoint, so no layer ran" in parsed.label.split("\n")
    assert not [n for n in parsed.nodes if "not-entered" in parsed.classes(n)]


def test_the_command_prints_the_405_caption(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(cli, ["graph", "fixtures/seed_views.py", "POST", "/index",
                                      "--kind", "decorators"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    label = parse(result.stdout).label
    assert "the route exists: /index matched rule /index, but POST is not allowed" in label


def test_the_onion_pane_of_a_405_whose_path_is_no_rule_says_the_route_exists(
    many_routes,
) -> None:
    trace, _ = many_routes
    request = trace.request(1)  # POST /a/5: the path is not literally a rule
    onion = build_onion(trace, request, entered_calls(request.steps))
    assert onion.route is None and not onion.dispatched
    assert onion.reason == ("POST /a/5 → 405: the route exists, but POST is not allowed "
                            "(allowed: GET, HEAD, OPTIONS), so its view did not run")
