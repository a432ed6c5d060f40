"""Werkzeug, Bottle and plain WSGI traces are told in their own terms, in English and Chinese.

Each test records a fixture app and checks sentences by meaning: the framework's own
names (the rule, endpoint or route name, plugins in order, the handler, 404/405 facts)
appear, and nothing Flask-only does.
"""

from __future__ import annotations

import pytest
from explain_helpers import item_with, recorded, told

from tracer.frameworks.narration.narrative import explain
from tracer.model import Role

pytest.importorskip("bottle")

FLASK_ONLY = ("view_functions", "wsgi_app", "Flask pushed", "url_map.add", "app.url_map",
              "Flask ", "match_request", "dispatch_request", "make_response")
FLASK_ONLY_ZH = ("view_functions", "wsgi_app", "Flask 推入", "url_map.add", "app.url_map",
                 "match_request", "dispatch_request", "请求上下文")

CASES = [
    ("bottle_login", "GET", "/login"),
    ("bottle_login", "PUT", "/login"),
    ("bottle_login", "GET", "/nowhere"),
    ("bottle_login", "GET", "/hello/ada"),
    ("werkzeug_login", "GET", "/login"),
    ("werkzeug_login", "GET", "/nowhere"),
    ("werkzeug_login", "PUT", "/login"),
    ("werkzeug_login", "GET", "/about"),
    ("seed_werkzeug", "GET", "/"),
    ("seed_wsgiref", "GET", "/"),
]


@pytest.mark.parametrize(("name", "method", "path"), CASES)
def test_no_flask_words_and_no_unknowns(name: str, method: str, path: str) -> None:
    english = told(name, method, path)
    chinese = told(name, method, path, "zh")
    for word in FLASK_ONLY:
        assert word not in english, (word, english)
    for word in FLASK_ONLY_ZH:
        assert word not in chinese, (word, chinese)
    assert "`?`" not in english and "`?`" not in chinese
    trace, _ = recorded(name, method, path)
    status = trace.requests[0].status
    assert f"The response went out with status {status}." in english
    # every item was translated: no English sentence left in the Chinese text
    assert "The WSGI server" not in chinese and "went out" not in chinese


def _plugin_order(name: str, path: str) -> list[str]:
    trace, _ = recorded(name, "GET", path)
    steps = trace.requests[0].steps
    return [str(s.facts["plugin"]) for s in steps if s.role == Role.PLUGIN and s.kind == "call"]


def test_bottle_route_plugins_and_callback_in_order() -> None:
    trace, _ = recorded("bottle_login", "GET", "/login")
    assert trace.meta["framework"] == "bottle"
    plugins = _plugin_order("bottle_login", "/login")
    assert len(plugins) >= 2
    text = told("bottle_login", "GET", "/login")
    wrap = item_with(text, "Route._make_callback` built its callback")
    listed = ", ".join(f"`{p}`" for p in plugins)
    assert f"passed `index` through the plugins {listed}, in that order" in wrap
    assert f"The first to wrap it, `{plugins[0]}`, is the innermost layer" in wrap
    assert f"`{plugins[-1]}`, is the outermost" in wrap
    for position, plugin in enumerate(plugins, start=1):
        item_with(text, f"Plugin {position} of {len(plugins)}: `{plugin}` wrapped")
    match = item_with(text, "`Router.match` found GET '/login'")
    assert "router.static['GET']" in match and "→ `index`" in match
    assert "The route's callback `index` (fixtures/bottle_login.py:" in text
    # layers are told outermost first, as they ran
    layers = [line for line in text.splitlines() if "Plugin layer" in line]
    assert [line.split("(from `")[1].split("`")[0] for line in layers] == plugins[::-1]
    chinese = told("bottle_login", "GET", "/login", "zh")
    zh_wrap = item_with(chinese, "现在才构建它的回调")
    assert f"让 `index` 依次经过插件 {'、'.join(f'`{p}`' for p in plugins)}" in zh_wrap
    assert f"最先包装它的 `{plugins[0]}` 在最内层" in zh_wrap
    assert "路由的回调函数 `index`" in chinese


def test_bottle_registration_names_storage_and_plugins() -> None:
    text = told("bottle_login", registration_only=True)
    assert "`@app.route('/login', method=['GET', 'POST'])` registers nothing" in text
    assert "`apply=` gives this route its own plugins: `no_store`." in text
    get_route = item_with(text, "`app.add_route` took the `Route` for GET '/login'")
    assert "it has no name" in get_route
    assert "so `no_store` ends up innermost and `json` outermost" in get_route
    assert "`app.add_route` took the `Route` for POST '/login'" in text
    item_with(text, "stored the `Route` object itself in `router.static['GET']`")
    dynamic = item_with(text, "compiled '/hello/<name>' to a regular expression")
    assert "`router.dyna_routes['GET']`" in dynamic and "`name`" in dynamic
    assert "The route is named 'hello'" in text and "`app.get_url`" in text
    assert "`@app.get('/hello/<name>')` is a shortcut" in text
    chinese = told("bottle_login", lang="zh", registration_only=True)
    assert "`Router.add` 把 `Route` 对象本身存进了 `router.static['GET']`" in chinese
    assert "这个路由的名字是 'hello'" in chinese
    assert "所以 `no_store` 在最内层，`json` 在最外层" in chinese


def test_bottle_plugin_that_leaves_the_callback_is_not_called_a_layer() -> None:
    trace, _ = recorded("bottle_login", "GET", "/hello/ada")
    plugins = [s.facts for s in trace.requests[0].steps
               if s.role == Role.PLUGIN and s.kind == "call"]
    kept = [str(f["plugin"]) for f in plugins if not f.get("changed", True)]
    wrapping = [str(f["plugin"]) for f in plugins if f.get("changed", True)]
    assert kept and len(wrapping) == 1
    text = told("bottle_login", "GET", "/hello/ada")
    item_with(text, f"`{kept[0]}` left `hello` as it was")
    assert f"Only `{wrapping[0]}` wrapped it" in text
    assert f"`{kept[0]}`, is the innermost" not in text
    match = item_with(text, "`Router.match` found GET '/hello/ada'")
    assert "`router.dyna_routes['GET']`" in match and "url_args = {'name': 'ada'}" in match
    assert "The route is named 'hello'." in match
    assert f"只有 `{wrapping[0]}` 包装了它" in told("bottle_login", "GET", "/hello/ada", "zh")


def test_bottle_405_names_the_allowed_methods_and_the_handler() -> None:
    trace, _ = recorded("bottle_login", "PUT", "/login")
    allowed = list(trace.requests[0].allowed_methods)
    assert allowed
    text = told("bottle_login", "PUT", "/login")
    match = item_with(text, "`Router.match`: '/login' has routes, but none for PUT")
    assert f"listing {', '.join(allowed)}" in match
    handler = item_with(text, "`Bottle._cast` got an `HTTPError` (405)")
    assert "`Bottle.default_error_handler`" in handler
    assert "Allow: " in item_with(text, "start_response('405")
    chinese = told("bottle_login", "PUT", "/login", "zh")
    assert f"`Allow` 头列出了 {'、'.join(allowed)}" in chinese
    assert "没有为 405 注册处理函数" in chinese


def test_bottle_404() -> None:
    text = told("bottle_login", "GET", "/nowhere")
    item_with(text, "`Router.match` found no route for GET '/nowhere'", "HTTPError(404)")
    assert "(404); no handler is registered for 404" in text
    assert "找不到 GET '/nowhere' 的路由" in told("bottle_login", "GET", "/nowhere", "zh")


def test_werkzeug_match_dispatch_and_endpoint_function() -> None:
    trace, _ = recorded("werkzeug_login", "GET", "/login")
    assert trace.meta["framework"] == "werkzeug"
    text = told("werkzeug_login", "GET", "/login")
    first = item_with(text, "The WSGI server called `application(environ, start_response)`")
    assert "`@Request.application` made of `app`" in first
    bind = item_with(text, "`Map.bind`")
    assert "'/login'" in bind and "3 rules" in bind
    item_with(text, "called `MapAdapter.dispatch(")
    item_with(text, "`MapAdapter.match` matched GET '/login' to the rule '/login', "
                    "endpoint 'index'")
    assert "lookup led to `index`" in text
    item_with(text, "The endpoint's function `index` (fixtures/werkzeug_login.py:")
    item_with(text, "`Response.__call__(environ, start_response)`")
    registration = text.split("Request 0")[0]
    assert "`Rule('/login', endpoint='index', methods=['GET', 'HEAD', 'POST'])`" in registration
    assert "`@Request.application` turned `app(request)` into a WSGI app" in registration
    chinese = told("werkzeug_login", "GET", "/login", "zh")
    assert "把 GET '/login' 匹配到了规则 '/login'，端点 'index'" in chinese
    assert "端点对应的函数 `index`" in chinese


def test_werkzeug_404_405_and_redirect() -> None:
    missing = told("werkzeug_login", "GET", "/nowhere")
    item_with(missing, "`MapAdapter.match` found no rule for '/nowhere'", "`NotFound` (404)")
    item_with(missing, "`dispatch` caught the `NotFound`")
    item_with(missing, "called the `NotFound` as a WSGI app", "its 404 response")
    assert "抛出了 `NotFound`（404）" in told("werkzeug_login", "GET", "/nowhere", "zh")
    trace, _ = recorded("werkzeug_login", "PUT", "/login")
    allowed = list(trace.requests[0].allowed_methods)
    put = told("werkzeug_login", "PUT", "/login")
    item_with(put, "matches a rule, but not for PUT", f"allowed methods {', '.join(allowed)}")
    about = told("werkzeug_login", "GET", "/about")
    item_with(about, "'/about/' is the same path with a trailing slash", "`RequestRedirect`")
    assert "error page" not in item_with(about, "called the `RequestRedirect` as a WSGI app")


def test_plain_wsgi_call_start_response_and_body() -> None:
    trace, _ = recorded("seed_wsgiref", "GET", "/")
    assert trace.meta["framework"] == "wsgi"
    body = next(s for s in trace.requests[0].steps
                if s.role == Role.RESPONSE_BODY and "body_type" in s.facts)
    text = told("seed_wsgiref", "GET", "/")
    item_with(text, "The WSGI server called your app `runserver(environ, start_response)`",
              "no framework")
    item_with(text, "`runserver` called `start_response('200 OK', headers)`",
              "`Content-Type: text/html`")
    item_with(text, "The server iterated the body", f"{body.facts['bytes']} bytes")
    chinese = told("seed_wsgiref", "GET", "/", "zh")
    assert "调用了你的应用 `runserver(environ, start_response)`" in chinese
    assert f"共 {body.facts['bytes']} 字节" in chinese


def test_flask_traces_keep_their_own_words() -> None:
    trace, _ = recorded("seed_views", "GET", "/index")
    text = told("seed_views", "GET", "/index")
    assert trace.meta.get("framework") in (None, "flask")
    assert "app.wsgi_app(environ, start_response)" in text
    assert "`Router.match`" not in text and "MapAdapter.match`" not in text


def test_items_point_at_recorded_steps() -> None:
    trace, _ = recorded("bottle_login", "GET", "/login")
    for section in explain(trace):
        steps = (trace.requests[0].steps if section.kind == "request"
                 else trace.registration.steps)
        for item in section.items:
            assert item.steps and all(0 <= i < len(steps) for i in item.steps)
