"""A class's handler methods are alternatives: a decorator on one method wraps that method
alone, wherever a chain is shown (routes, the decorators graph, the onion, compare)."""

from __future__ import annotations

import pytest
from flaskscope_testing import record_fixture

from tracer.model import ChainLink, Trace
from viewer.chain_text import chain_line, chain_lines, handler_for, split_handlers
from viewer.compare import compare
from viewer.graph.decorators import decorators_graph
from viewer.routes_output import route_rows
from viewer.tui.onion import build_onion, entered_calls


def _link(kind: str, name: str, qualname: str) -> ChainLink:
    return ChainLink(kind, name, qualname, "app.py", 1)  # type: ignore[arg-type]


LOGIN = (_link("view_class", "Login", "Login"),
         _link("decorator", "GET", "no_store.<locals>.wrapper"),
         _link("method", "GET", "Login.GET"), _link("method", "POST", "Login.POST"))
FLASK_VIEW = (_link("decorator", "index", "auth.<locals>.inner"),
              _link("view", "index", "View.as_view.<locals>.view"),
              _link("view_class", "IndexView", "IndexView"),
              _link("method", "dispatch_request", "MethodView.dispatch_request"),
              _link("method", "get", "IndexView.get"), _link("method", "post", "IndexView.post"))


def test_a_decorator_right_before_a_handler_method_is_that_method_s_own() -> None:
    shared, handlers = split_handlers(LOGIN)
    assert [link.qualname for link in shared] == ["Login"]
    assert [(h.method, [link.qualname for link in h.links]) for h in handlers] == [
        ("GET", ["no_store.<locals>.wrapper", "Login.GET"]), ("POST", ["Login.POST"])]
    assert chain_line(LOGIN) == (
        "class Login → {GET: no_store.<locals>.wrapper → Login.GET | POST: Login.POST}")
    assert chain_lines(LOGIN) == ["class Login", "GET: no_store.<locals>.wrapper → Login.GET",
                                  "POST: Login.POST"]
    assert [link.qualname for link in handler_for(LOGIN, "Login.POST", "POST")] == [
        "Login", "Login.POST"]
    assert [link.qualname for link in handler_for(LOGIN, None, "GET")] == [
        "Login", "no_store.<locals>.wrapper", "Login.GET"]


def test_a_decorator_outside_the_view_wraps_every_method() -> None:
    assert chain_line(FLASK_VIEW) == (
        "auth.<locals>.inner → View.as_view.<locals>.view → class IndexView → "
        "MethodView.dispatch_request → {GET: IndexView.get | POST: IndexView.post}")
    single = FLASK_VIEW[:5]
    assert chain_line(single).endswith("MethodView.dispatch_request → IndexView.get")


@pytest.fixture(scope="module")
def login() -> Trace:
    pytest.importorskip("web")
    return record_fixture("webpy_login", "GET /login", "POST /login").trace


def test_every_presentation_keeps_the_decorator_on_get_alone(login: Trace) -> None:
    route = next(r for r in login.routes if r.rule == "/login")
    assert route_rows([route])[0][3] == (
        "class Login → {GET: no_store.<locals>.wrapper → Login.GET | POST: Login.POST}")
    get, post = login.requests
    onion = build_onion(login, post, entered_calls(post.steps))
    depth = {layer.link.qualname: layer.depth for layer in onion.layers}
    entered = {layer.link.qualname: layer.entered for layer in onion.layers}
    assert depth["Login.POST"] == depth["no_store.<locals>.wrapper"] == 1
    assert depth["Login.GET"] == 2, "GET sits inside the decorator on it, POST does not"
    assert entered == {"Login": True, "no_store.<locals>.wrapper": False, "Login.GET": False,
                       "Login.POST": True}
    dot = decorators_graph(login, request=post).source
    assert "e0_1 -> e0_2" in dot and "e0_0 -> e0_3" in dot, "class → POST, past no_store"
    assert "e0_1 -> e0_3" not in dot and "e0_2 -> e0_3" not in dot
    wrapped = {c.key: c.cells for c in compare([login, login], request_ids=[0, 1]).concepts}
    assert wrapped["wrapped"] == (
        ("layers, outermost first: class Login → no_store.<locals>.wrapper",),
        ("no layers: the handler is called directly",))
