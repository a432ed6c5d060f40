"""web.py, added as one package (`tracer/frameworks/webpy/`) and one registry line: its
URL mapping becomes the routes, a request's match and the reflective handler lookup are
steps, and every consumer (tree, explain, graphs) reads it like any WSGI framework's."""

from __future__ import annotations

import pytest
from flaskscope_testing import calls, one, record_fixture

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
        assert mapping.facts == {"rules": ["/", r"/items/(\d+)"],
                                 "endpoints": ["Index", "Item"]}


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
              "`getattr(cls(), 'GET')`, that is `GET`."),
    ("en", 1, "looked up `getattr(cls(), 'HEAD')`: the class has no `HEAD`, so web.py fell "
              "back to `GET`."),
    ("en", 2, "none matched '/nowhere' in full, so `_delegate` got nothing and raised "
              "`web.notfound()` (404)."),
    ("en", 3, "`_delegate` found no `DELETE` method on `Item`: it raised "
              "NoMethod('405 Method Not Allowed'), web.py's 405."),
    ("zh", 1, "这个类没有 `HEAD`，所以 web.py 退回到了 `GET`。"),
])
def test_explain_tells_it_in_web_py_words(webpy_hello: Trace, lang: str, request_id: int,
                                          told: str) -> None:
    text = plain(explain(webpy_hello, request_id=request_id), lang)
    assert told in text
    assert "MapAdapter" not in text and "view_functions" not in text
