"""Bottle: route → add_route → Router.add, the plugins _make_callback applies, and requests."""

from __future__ import annotations

from typing import Any

import pytest
from flaskscope_testing import ancestors, calls, notes, one
from werkzeug.test import Client

import tracer
from tracer import Role
from tracer.model import Trace

bottle = pytest.importorskip("bottle")

LOGIN_CHAIN = [
    ("decorator", "JSONPlugin.apply.<locals>.wrapper", "json"),
    ("decorator", "view.<locals>.decorator.<locals>.wrapper", "template"),
    ("decorator", "no_store.<locals>.wrapper", "no_store"),
    ("view", "index", None),
]


def test_registration_is_route_then_add_route_then_router_add(bottle_login: Trace) -> None:
    steps = bottle_login.registration.steps
    route = calls(steps, Role.ROUTE_DECORATOR, "Bottle.route")[0]
    assert route.facts["rule"] == "/login" and route.facts["methods"] == ["GET", "POST"]
    assert route.facts["apply"] == ["no_store"] and route.facts["options"] == ["template"]
    applied = calls(steps, Role.ROUTE_DECORATOR_CALL)[0]
    assert applied.facts["view"] == "index" and applied.id > route.id
    adds = [s for s in calls(steps, Role.ADD_URL_RULE) if s.parent == applied.id]
    assert [a.facts["method"] for a in adds] == ["GET", "POST"]  # one Route per method
    for add in adds:
        assert add.facts["endpoint"] == "index" and add.facts["endpoint_given"] is False
        assert add.facts["name"] is None
        assert add.facts["plugins"] == ["no_store", "template", "json"]
        stored = one([s for s in calls(steps, Role.RULE_ADDED) if s.parent == add.id])
        assert stored.name == "Router.add"
        assert stored.facts["storage"] == "static"
        assert stored.facts["stored_in"] == f"router.static[{add.facts['method']!r}]"
    registered = notes(steps, Role.VIEW_REGISTERED)
    assert [(n.facts["index"], n.facts["method"]) for n in registered] == [
        (0, "GET"), (1, "POST"), (2, "GET")]


def test_a_named_wildcard_route_is_stored_as_a_regular_expression(bottle_login) -> None:
    steps = bottle_login.registration.steps
    add = [s for s in calls(steps, Role.ADD_URL_RULE) if s.facts["rule"] == "/hello/<name>"][0]
    assert add.facts["endpoint"] == "hello" and add.facts["endpoint_given"] is True
    stored = one([s for s in calls(steps, Role.RULE_ADDED) if s.parent == add.id])
    assert stored.facts["storage"] == "dynamic"
    assert stored.facts["stored_in"] == "router.dyna_routes['GET']"
    assert stored.facts["arguments"] == ["name"]


def test_routes_are_route_objects_with_their_plugin_layers(bottle_login) -> None:
    routes = [(r.rule, r.methods, r.endpoint) for r in bottle_login.routes]
    assert routes == [("/login", ("GET", "HEAD"), "index"), ("/login", ("POST",), "index"),
                      ("/hello/<name>", ("GET", "HEAD"), "hello")]
    get_login = bottle_login.routes[0]
    assert get_login.automatic_methods == ("HEAD",)
    assert [(link.kind, link.qualname, link.decorator) for link in get_login.chain] == LOGIN_CHAIN
    assert [link.origin for link in get_login.chain] == ["plugins"] * 3 + [None]


def test_the_first_request_wraps_the_callback_in_order_innermost_first(bottle_login) -> None:
    steps = bottle_login.requests[0].steps
    dispatch = one(calls(steps, Role.DISPATCH))
    assert dispatch.name == "Bottle._handle"
    assert dispatch.facts["endpoint"] == "index" and dispatch.facts["rule"] == "/login"
    wrap = one(calls(steps, Role.WRAP_CALLBACK))
    assert wrap.parent == dispatch.id and wrap.facts["plugins"] == ["no_store", "template", "json"]
    plugins = [s for s in calls(steps, Role.PLUGIN) if s.parent == wrap.id]
    assert [(p.facts["plugin"], p.facts["position"], p.facts["outermost"], p.facts["changed"])
            for p in plugins] == [("no_store", 0, False, True), ("template", 1, False, True),
                                  ("json", 2, True, True)]
    assert plugins[1].facts["callback"] == "no_store.<locals>.wrapper"
    assert wrap.facts["layers"] == [name for _, name, _ in LOGIN_CHAIN[:3]]
    layers = calls(steps, Role.LAYER)
    assert [s.name for s in layers] == [name for _, name, _ in LOGIN_CHAIN[:3]]
    view = one(calls(steps, Role.VIEW))
    assert view.name == "index"
    assert [s.id for s in ancestors(steps, view)][:3] == [s.id for s in reversed(layers)]
    match = one(calls(steps, Role.MATCH))
    assert match.parent == dispatch.id
    assert (match.facts["matched"], match.facts["rule"], match.facts["endpoint"]) == (
        True, "/login", "index")


def test_a_second_request_reuses_the_wrapped_callback(bottle_login) -> None:
    steps = bottle_login.requests[1].steps
    assert calls(steps, Role.WRAP_CALLBACK) == []
    assert [s.name for s in calls(steps, Role.LAYER)] == [n for _, n, _ in LOGIN_CHAIN[:3]]
    start = one(calls(steps, Role.START_RESPONSE))
    assert "Cache-Control: no-store" in start.facts["headers"]


def test_view_arguments_come_from_the_wildcard(bottle_login) -> None:
    request = bottle_login.requests[2]
    assert (request.rule, request.endpoint, dict(request.view_args)) == (
        "/hello/<name>", "hello", {"name": "'bob'"})


def test_405_and_404_come_from_the_router(bottle_login) -> None:
    not_allowed = bottle_login.requests[3]
    assert (not_allowed.status, not_allowed.outcome) == (405, "method_not_allowed")
    assert not_allowed.allowed_methods == ("GET", "POST")
    match = one(calls(not_allowed.steps, Role.MATCH))
    assert match.facts["exception"] == "HTTPError('405 Method Not Allowed')"
    handler = one(notes(not_allowed.steps, Role.ERROR_HANDLER))
    assert handler.facts["handler"] == "Bottle.default_error_handler"
    assert handler.facts["registered"] is False
    missing = bottle_login.requests[4]
    assert (missing.status, missing.outcome, missing.endpoint) == (404, "not_found", None)
    assert one(calls(missing.steps, Role.MATCH)).facts["outcome"] == "not_found"
    assert calls(missing.steps, Role.VIEW) == []


def test_redirect_raised_by_the_view_answers_303(bottle_login) -> None:
    request = bottle_login.requests[5]
    assert (request.method, request.status, request.outcome) == ("POST", 303, "redirect")
    start = one(calls(request.steps, Role.START_RESPONSE))
    assert "Location: http://www.xx.com" in start.facts["headers"]


def _inline_app() -> Any:
    app = bottle.Bottle()

    @app.hook("before_request")
    def stamp() -> None:
        bottle.request.environ["stamped"] = True

    @app.error(404)
    def missing(error: Any) -> str:
        return "nothing here"

    @app.route("/any", method="ANY", skip=["json"])
    def anything() -> str:
        return "any"

    return app


def test_hooks_error_handlers_and_skipped_plugins() -> None:
    with tracer.record() as recorder:
        app = _inline_app()
        client = Client(app)
        assert client.get("/nowhere").get_data() == b"nothing here"
        assert client.delete("/any").get_data() == b"any"
        trace = recorder.trace()
    missing, anything = trace.requests
    before = one(calls(missing.steps, Role.BEFORE_REQUEST))
    assert one(calls(missing.steps, Role.BEFORE_REQUEST_FUNCTION)).parent == before.id
    handler = one(notes(missing.steps, Role.ERROR_HANDLER))
    assert handler.facts["handler"] == "_inline_app.<locals>.missing"
    assert handler.facts["registered"] is True
    assert one(calls(missing.steps, Role.ERROR_HANDLER)).name == "_inline_app.<locals>.missing"
    assert missing.status == 404
    route = one([r for r in trace.routes if r.rule == "/any"])
    assert route.methods == () and route.automatic_methods == ()
    plugins = [s.facts["plugin"] for s in calls(anything.steps, Role.PLUGIN)]
    assert plugins == ["template"]  # json skipped; template leaves the callback as it is
    assert calls(anything.steps, Role.LAYER) == []
    assert [s.name for s in calls(anything.steps, Role.VIEW)] == ["_inline_app.<locals>.anything"]
