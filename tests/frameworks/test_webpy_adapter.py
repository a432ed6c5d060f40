"""web.py, added as one package (`tracer/frameworks/webpy/`) and one registry line: its
URL mapping becomes the routes, a request's match and the reflective handler lookup are
steps, and every consumer (tree, explain, graphs) reads it like any WSGI framework's."""

from __future__ import annotations

import sys

import pytest
from flaskscope_testing import calls, forget_fixtures, one, record_fixture

from tracer import Role
from tracer.frameworks import adapter, framework_of
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from viewer.explain.render import plain

web = pytest.importorskip("web")


@pytest.fixture(scope="module")
def webpy_hello() -> Trace:
    recording = record_fixture("webpy_hello", "GET /items/42", "HEAD /items/7",
                               "GET /nowhere", "DELETE /items/1")
    assert recording.app_error is None, recording.app_error
    return recording.trace


def test_the_registry_knows_it_by_what_the_app_is() -> None:
    app = web.application(("/", "Index"), {})
    assert framework_of(app) == "webpy"
    assert adapter("webpy").available()


def test_the_mapping_becomes_the_routes(webpy_hello: Trace) -> None:
    assert webpy_hello.meta["framework"] == "webpy"
    assert webpy_hello.meta["web.py"] == web.__version__
    routes = {route.rule: route for route in webpy_hello.routes}
    assert set(routes) == {"/", r"/items/(\d+)"}
    item = routes[r"/items/(\d+)"]
    assert item.endpoint == "Item" and item.methods == ("GET", "POST")
    assert [(link.kind, link.name) for link in item.chain] == [
        ("view_class", "Item"), ("method", "GET"), ("method", "POST")]
    assert item.chain[0].file.endswith("fixtures/webpy_hello.py")
    mappings = calls(webpy_hello.registration.steps, Role.ADD_URL_RULE)
    assert mappings, "the mapping web.py kept is a registration step"
    for mapping in mappings:  # in debug mode web.py's reloader sets it again
        assert {k: v for k, v in mapping.facts.items() if k != "reloaded"} == {
            "rules": ["/", r"/items/(\d+)"], "endpoints": ["Index", "Item"]}


def test_a_request_matches_then_finds_its_handler_by_reflection(webpy_hello: Trace) -> None:
    request = webpy_hello.requests[0]
    assert (request.method, request.path, request.status) == ("GET", "/items/42", 200)
    assert (request.rule, request.endpoint, request.view_args) == (
        r"/items/(\d+)", "Item", {"1": "'42'"})
    match = one(calls(request.steps, Role.MATCH))
    assert match.facts["matched"] and match.facts["rule"] == r"/items/(\d+)"
    dispatch = one(calls(request.steps, Role.DISPATCH))
    handler = one(calls(request.steps, Role.HANDLER))
    assert handler.name == "Item.GET"
    step = handler
    while step.parent is not None and step.id != dispatch.id:
        step = request.steps[step.parent]
    assert step.id == dispatch.id, "the handler runs inside `_delegate`"
    import web

    served = one(calls(request.steps, Role.REQUEST))
    made = web.application((), {}).wsgifunc()
    made = getattr(made, "app", made)  # the recorder's stand-in holds what web.py made
    assert (served.name, served.file) == (made.__qualname__, made.__code__.co_filename), (
        "the server called web.py's WSGI function, not a recorder's")


def test_head_falls_back_to_get(webpy_hello: Trace) -> None:
    request = webpy_hello.requests[1]
    assert request.status == 200
    assert one(calls(request.steps, Role.HANDLER)).name == "Item.GET"


def test_no_match_and_no_method(webpy_hello: Trace) -> None:
    missing, refused = webpy_hello.requests[2], webpy_hello.requests[3]
    assert missing.status == 404 and missing.outcome == "not_found"
    assert one(calls(missing.steps, Role.MATCH)).facts["matched"] is False
    assert refused.status == 405 and calls(refused.steps, Role.HANDLER) == []


@pytest.mark.parametrize(("lang", "request_id", "told"), [
    ("en", 0, "`_delegate` made an instance of `Item` and looked up its handler by reflection: "
              "`getattr(cls(), 'GET')`, that is `Item.GET`."),
    ("en", 1, "the class has no `HEAD`, so web.py looked up `GET` instead, "
              "`getattr(cls(), 'GET')`, that is `Item.GET`."),
    ("en", 2, "none matched '/nowhere' in full, so `_delegate` got nothing and raised "
              "`web.notfound()` (404)."),
    ("en", 3, "`_delegate` found no `DELETE` method on `Item`: it raised "
              "NoMethod('405 Method Not Allowed'), web.py's 405, whose `Allow` header names "
              "the methods the class has: `GET`, `POST`."),
    ("zh", 1, "这个类没有 `HEAD`，所以 web.py 改为查找 `GET`"),
])
def test_explain_tells_it_in_web_py_words(webpy_hello: Trace, lang: str, request_id: int,
                                          told: str) -> None:
    text = plain(explain(webpy_hello, request_id=request_id), lang)
    assert told in text
    assert "MapAdapter" not in text and "view_functions" not in text


# -- the seed's login form on web.py: a decorated method, HEAD served by GET, 405, 303 -------

LOGIN_REQUESTS = ("GET /login", "HEAD /login", "PUT /login", "GET /nowhere")


@pytest.fixture(scope="module")
def webpy_login() -> Trace:
    from tracer.frameworks.flask.loading import RequestSpec

    right = RequestSpec(method="POST", path="/login",
                        data=(("user", "admin"), ("pwd", "password")))
    recording = record_fixture("webpy_login", *LOGIN_REQUESTS, right)
    assert recording.app_error is None, recording.app_error
    return recording.trace


@pytest.fixture(scope="module")
def untraced_login() -> dict[str, object]:
    """What web.py itself answers to the same requests, nothing recording."""
    from werkzeug.test import Client

    forget_fixtures()
    import fixtures.webpy_login as login

    client = Client(login.app.wsgifunc())
    answers = {spec: client.open(spec.split()[1], method=spec.split()[0])
               for spec in LOGIN_REQUESTS}
    answers["POST /login"] = client.post("/login", data={"user": "admin", "pwd": "password"})
    forget_fixtures()
    return answers


def test_login_statuses_are_what_web_py_answers(webpy_login: Trace, untraced_login) -> None:
    told = {f"{r.method} {r.path}": r.status for r in webpy_login.requests}
    assert told == {spec: answer.status_code for spec, answer in untraced_login.items()}
    assert told["POST /login"] == 303


def test_a_decorated_method_is_a_layer_around_the_handler(webpy_login: Trace) -> None:
    route = next(r for r in webpy_login.routes if r.rule == "/login")
    assert [(link.kind, link.qualname) for link in route.chain] == [
        ("view_class", "Login"), ("decorator", "no_store.<locals>.wrapper"),
        ("method", "Login.GET"), ("method", "Login.POST")]
    assert route.chain[1].decorator == "no_store"
    get = webpy_login.requests[0]
    layer = one(calls(get.steps, Role.LAYER))
    handler = one(calls(get.steps, Role.HANDLER))
    assert layer.name == "no_store.<locals>.wrapper" and handler.name == "Login.GET"
    assert handler.parent == layer.id, "the decorator runs first and calls the method"


def test_head_looks_up_get_because_the_class_has_no_head(webpy_login: Trace) -> None:
    head = webpy_login.requests[1]
    dispatch = one(calls(head.steps, Role.DISPATCH))
    assert (dispatch.facts["method"], dispatch.facts["looked_up"]) == ("HEAD", "GET")
    assert one(calls(head.steps, Role.HANDLER)).name == "Login.GET"
    text = plain(explain(webpy_login, request_id=1), "en")
    assert "the class has no `HEAD`, so web.py looked up `GET` instead" in text
    assert "decorator layer `no_store.<locals>.wrapper`" in text


def test_the_405_names_what_the_allow_header_says(webpy_login: Trace, untraced_login) -> None:
    refused = webpy_login.requests[2]
    dispatch = one(calls(refused.steps, Role.DISPATCH))
    allow = untraced_login["PUT /login"].headers["Allow"]
    assert dispatch.facts["allowed_methods"] == [m.strip() for m in allow.split(",")]
    assert refused.outcome == "method_not_allowed"
    assert "`Allow` header names the methods the class has: `GET`, `POST`." in plain(
        explain(webpy_login, request_id=2), "en")


@pytest.mark.parametrize("autoreload", [False, True])
def test_the_reloader_s_mapping_is_told_as_reloaded(autoreload: bool, tmp_path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """web.py's own switch decides: without autoreload, one mapping and no reloads."""
    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    name = f"reloading_app_{autoreload}".lower()
    path = tmp_path / f"{name}.py"
    path.write_text("import web\nurls = ('/', 'Index')\nclass Index:\n    def GET(self):\n"
                    "        return 'hi'\n"
                    f"app = web.application(urls, globals(), autoreload={autoreload})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        trace = record_app(str(path), [RequestSpec(path="/")]).trace
    finally:
        sys.modules.pop(name, None)
    registered = calls(trace.registration.steps, Role.ADD_URL_RULE)
    in_request = calls(trace.requests[0].steps, Role.ADD_URL_RULE)
    assert [s.facts.get("reloaded", False) for s in registered] == (
        [False, True] if autoreload else [False])
    assert [s.facts.get("reloaded") for s in in_request] == ([True] if autoreload else [])
    assert ("web.py's reloader" in plain(explain(trace), "en")) is autoreload


def test_compare_tells_where_the_pair_went_and_the_head_fallback(webpy_login: Trace) -> None:
    from viewer.compare import compare, to_text

    text = to_text(compare([webpy_login, webpy_login], request_ids=[1, 2]))
    assert ("`application.init_mapping` stored rule '/login' (*) in `app.mapping[0]` "
            "(a list tried in order), its target the name 'Login'") in text
    assert "`getattr` found no `HEAD` for HEAD, so it looked up `GET`: Login.GET" in text
    assert "`getattr` looked up `PUT` for PUT: web.nomethod(cls): 405" in text
    assert "nothing recorded a view table" not in text


def test_recording_installed_process_wide_records_web_py_s_own_test_requests() -> None:
    """`app.request()`, web.py's own test helper, calls `wsgifunc()` and never closes the
    body: each request is still recorded, with its route, and answers as untraced."""
    import tracer

    forget_fixtures()
    with tracer.record() as recorder:
        import fixtures.webpy_login as login

        answers = [login.app.request("/login", method=m) for m in ("HEAD", "PUT", "GET")]
        trace = recorder.trace()
    forget_fixtures()
    assert [a.status for a in answers] == ["200 OK", "405 Method Not Allowed", "200 OK"]
    assert [(r.method, r.status, r.endpoint) for r in trace.requests] == [
        ("HEAD", 200, "Login"), ("PUT", 405, "Login"), ("GET", 200, "Login")]
    assert type(login.app.wsgifunc()).__name__ == "function", "a plain function once uninstalled"
