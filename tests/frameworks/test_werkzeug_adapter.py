"""Werkzeug without Flask: Request.application, a Map of Rules, match and dispatch."""

from __future__ import annotations

from flaskscope_testing import ancestors, calls, end_of, one

from tracer import Role
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from viewer.explain.render import plain


def test_request_application_is_registration_and_its_function_the_view(seed_werkzeug) -> None:
    registration = seed_werkzeug.registration.steps
    made = one(calls(registration, Role.WSGI_APP))
    assert made.name == "Request.application"
    assert made.facts["view"] == "hello" and made.facts["request_class"] == "Request"
    assert made.facts["wsgi_app"] == "Request.application.<locals>.application"
    assert seed_werkzeug.routes == ()
    assert seed_werkzeug.meta["framework"] == "werkzeug"

    request = seed_werkzeug.requests[0]
    assert (request.method, request.path, request.status, request.outcome) == (
        "POST", "/any/path", 200, "ok")
    steps = request.steps
    entry = one(calls(steps, Role.REQUEST))
    assert entry.name == "Request.application.<locals>.application"
    created = one(calls(steps, name="Request.__init__"))
    assert created.parent == entry.id
    assert created.facts == {"request_class": "Request", "method": "POST", "path": "/any/path"}
    view = one(calls(steps, Role.VIEW))
    assert view.name == "hello" and view.parent == entry.id
    made_response = one(calls(steps, Role.MAKE_RESPONSE))
    assert made_response.parent == view.id
    assert made_response.facts == {"from_type": "str", "status": 200, "mimetype": "text/plain"}
    finalize = one(calls(steps, Role.FINALIZE))
    start = one(calls(steps, Role.START_RESPONSE))
    assert start.parent == finalize.id and start.facts["status"] == 200


def test_a_map_built_by_the_app_becomes_the_routes(werkzeug_login: Trace) -> None:
    routes = {route.rule: route for route in werkzeug_login.routes}
    assert set(routes) == {"/login", "/hello/<name>", "/about/"}
    login = routes["/login"]
    assert login.endpoint == "index"
    assert login.methods == ("GET", "HEAD", "POST") and login.automatic_methods == ("HEAD",)
    assert [(link.kind, link.qualname) for link in login.chain] == [("view", "index")]
    assert login.chain[0].file.endswith("fixtures/werkzeug_login.py")
    assert login.app == "fixtures.werkzeug_login"
    assert routes["/hello/<name>"].endpoint == "hello"
    added = calls(werkzeug_login.registration.steps, Role.RULE_ADDED)
    assert [(s.facts["rule"], s.facts["endpoint"]) for s in added] == [
        ("/login", "index"), ("/hello/<name>", "hello"), ("/about/", "about")]
    assert added[1].facts["arguments"] == ["name"]


def test_a_match_names_rule_endpoint_and_the_function_dispatch_calls(werkzeug_login) -> None:
    request = werkzeug_login.requests[0]
    assert (request.rule, request.endpoint, request.status) == ("/login", "index", 200)
    steps = request.steps
    bind = one(calls(steps, name="Map.bind"))
    assert bind.facts["path"] == "/login" and bind.facts["rules"] == 3
    dispatch = one(calls(steps, Role.DISPATCH))
    assert dispatch.facts["endpoint"] == "index" and dispatch.facts["view"] == "index"
    match = one(calls(steps, Role.MATCH))
    assert match.parent == dispatch.id
    assert match.facts["matched"] is True
    assert (match.facts["rule"], match.facts["endpoint"]) == ("/login", "index")
    assert match.facts["view"] == "index"
    assert end_of(steps, match).detail["result"] == "('index', {})"
    views = calls(steps, Role.VIEW)
    assert [v.name for v in views] == ["app", "index"]
    assert dispatch in ancestors(steps, views[1])


def test_view_arguments_come_from_the_rule(werkzeug_login) -> None:
    request = werkzeug_login.requests[1]
    assert request.endpoint == "hello" and dict(request.view_args) == {"name": "'bob'"}
    view = calls(request.steps, Role.VIEW)[-1]
    assert view.name == "hello" and view.detail["name"] == "'bob'"


def test_method_not_allowed_lists_the_methods_and_answers_405(werkzeug_login) -> None:
    request = werkzeug_login.requests[2]
    assert (request.status, request.outcome) == (405, "method_not_allowed")
    assert request.allowed_methods == ("GET", "HEAD", "POST")
    match = one(calls(request.steps, Role.MATCH))
    assert match.facts["outcome"] == "method_not_allowed"
    assert end_of(request.steps, match).kind == "exception"
    handling = one(calls(request.steps, Role.ERROR_HANDLING))
    assert handling.facts == {"exception": "MethodNotAllowed", "http": True, "code": 405}
    assert calls(request.steps, Role.VIEW)[-1].name == "app"  # no endpoint function ran


def test_strict_slashes_redirect_and_not_found(werkzeug_login) -> None:
    redirect = werkzeug_login.requests[3]
    assert (redirect.status, redirect.outcome) == (308, "redirect")
    assert redirect.redirect_to == "http://localhost/about/"
    match = one(calls(redirect.steps, Role.MATCH))
    assert match.facts["reason"] == "strict_slashes" and match.facts["status"] == 308
    missing = werkzeug_login.requests[4]
    assert (missing.status, missing.outcome, missing.endpoint) == (404, "not_found", None)
    assert one(calls(missing.steps, Role.MATCH)).facts["outcome"] == "not_found"


def test_a_redirect_from_the_view_is_a_302_redirect_with_its_location(werkzeug_login) -> None:
    request = werkzeug_login.requests[5]
    assert (request.method, request.status, request.outcome) == ("POST", 302, "redirect")
    start = one(calls(request.steps, Role.START_RESPONSE))
    assert "Location: http://www.xx.com" in start.facts["headers"]


PLAIN_WSGI_WITH_A_MAP = """
    from werkzeug.routing import Map, Rule
    from werkzeug.wrappers import Request, Response

    url_map = Map([Rule("/users/<int:user_id>", endpoint="user")])

    def on_user(request, user_id):
        return Response(f"user {user_id}")

    def application(environ, start_response):
        request = Request(environ)
        endpoint, values = url_map.bind_to_environ(environ).match()
        response = globals()["on_" + endpoint](request, **values)
        return response(environ, start_response)
"""


def test_on_endpoint_functions_are_found_and_caught_on_the_first_request(module_file) -> None:
    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    path = module_file("plain_wsgi_with_a_map", PLAIN_WSGI_WITH_A_MAP)
    trace = record_app(path, [RequestSpec("GET", "/users/7")]).trace
    assert trace.meta["framework"] == "wsgi"
    route = one(list(trace.routes))
    assert (route.rule, route.endpoint) == ("/users/<int:user_id>", "user")
    assert [link.qualname for link in route.chain] == ["on_user"]
    request = trace.requests[0]
    assert (request.status, request.endpoint, dict(request.view_args)) == (
        200, "user", {"user_id": "7"})
    view = one(calls(request.steps, Role.VIEW))
    assert view.name == "on_user" and view.detail["user_id"] == "7"
    assert one(calls(request.steps, Role.MATCH)).facts["view"] == "on_user"
    # A plain WSGI app that routes with Werkzeug's parts is told in Werkzeug's words.
    text = plain(explain(trace), "en")
    assert "`MapAdapter.match` matched GET '/users/7' to the rule '/users/<int:user_id>'" in text
    assert "`Map.add` put the werkzeug `Rule('/users/<int:user_id>'" in text
