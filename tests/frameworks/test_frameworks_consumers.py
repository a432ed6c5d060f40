"""The graphs, explain and the viewer read Werkzeug and Bottle traces unchanged."""

from __future__ import annotations

import pytest
from flaskscope_testing import calls, one

from tracer import Role
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from viewer.explain.render import plain
from viewer.graph import build, calls_graph, decorators_graph, entered_links, routes_graph
from viewer.tui.app import ViewerApp
from viewer.tui.widgets.onion_pane import OnionPane
from viewer.tui.widgets.resolution_pane import ResolutionPane
from viewer.tui.widgets.source_view import SourceView

LOGIN_LAYERS = ["JSONPlugin.apply.<locals>.wrapper", "view.<locals>.decorator.<locals>.wrapper",
                "no_store.<locals>.wrapper", "index"]


def test_bottle_layers_entered_in_the_decorators_graph(bottle_login: Trace) -> None:
    request = bottle_login.requests[0]
    route = bottle_login.routes[0]
    assert [link.qualname for link in route.chain] == LOGIN_LAYERS
    assert entered_links(route.chain, request) == [True, True, True, True]
    source = decorators_graph(bottle_login, [route], request).source
    positions = [source.index(f'label="{name}\\n') for name in LOGIN_LAYERS]
    assert positions == sorted(positions)  # nested outermost first
    assert source.count('class="decorator entered"') == 3
    assert source.count('class="view entered"') == 1
    for plugin in ("json", "template", "no_store"):
        assert f"made by @{plugin}" in source


def test_werkzeug_routes_and_calls_graphs(werkzeug_login: Trace) -> None:
    request = werkzeug_login.requests[0]
    routes_source = routes_graph(werkzeug_login, werkzeug_login.routes, request).source
    for text in ("/login", "/hello/<name>", "/about/", 'label=index class="endpoint matched"'):
        assert text in routes_source
    assert "matched" in routes_source
    calls_source = calls_graph(werkzeug_login, request).source
    for name in ("MapAdapter.match", "MapAdapter.dispatch", "index", "start_response"):
        assert name in calls_source
    not_allowed = routes_graph(werkzeug_login, werkzeug_login.routes,
                               werkzeug_login.requests[2]).source
    assert "not-allowed" in not_allowed


@pytest.mark.parametrize("kind", ["calls", "decorators", "routes"])
def test_every_graph_kind_builds_for_bottle_and_werkzeug(kind: str, bottle_login: Trace,
                                                         werkzeug_login: Trace) -> None:
    for trace in (bottle_login, werkzeug_login):
        assert build(trace, kind).source.startswith("digraph")


def test_explain_tells_the_match_and_each_bottle_layer(bottle_login: Trace) -> None:
    text = plain(explain(bottle_login, request_id=0), "en")
    assert "in `router.static['GET']`: the route '/login' → `index`" in text
    layers = [text.index(f"Plugin layer `{name}`") for name in LOGIN_LAYERS[:3]]
    assert layers == sorted(layers)
    assert "The route's callback `index`" in text


def test_explain_tells_werkzeug_404_and_405(werkzeug_login: Trace) -> None:
    assert "it raised `MethodNotAllowed` (405)" in plain(explain(werkzeug_login, request_id=2),
                                                         "en")
    assert "found no rule for '/nowhere' and raised `NotFound` (404)" in plain(
        explain(werkzeug_login, request_id=4), "en")


async def test_viewer_opens_a_bottle_trace_on_its_request(bottle_login: Trace) -> None:
    app = ViewerApp(bottle_login)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.position.phase == 1 and app.position.step == 0
        assert app.query_one(SourceView).location.qualname == "Bottle.wsgi"
        resolution = app.query_one(ResolutionPane).plain_text
        assert "/login" in resolution and "index" in resolution
        marks = app.query_one(OnionPane).marks
        assert [name for name, _, _ in marks] == LOGIN_LAYERS
        assert all(entered for _, entered, _ in marks)
        view = one(calls(bottle_login.requests[0].steps, Role.VIEW))
        app.jump_to(view.id)
        await pilot.pause()
        assert app.query_one(SourceView).location.qualname == "index"


async def test_viewer_shows_a_werkzeug_405(werkzeug_login: Trace) -> None:
    app = ViewerApp(werkzeug_login)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.open_phase(3)
        await pilot.pause()
        resolution = app.query_one(ResolutionPane).plain_text
        assert "405 Method Not Allowed" in resolution
        assert "GET, HEAD, POST" in resolution
