"""explain on fixtures/callbacks.py: every function Flask called is told (issue #15).

The fixture's request runs a URL value preprocessor (from `preprocess_request`), a URL
defaults function (from `url_for`), a context processor (from rendering a template) and an
app-context teardown function; its blueprints are nested, so the endpoint is
`shop.catalog.item`. Each test finds the item by its message id in `--format json` and
checks that the item's step ids are the recorded steps of those calls, in English and
Chinese.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from explain_helpers import recorded
from flaskscope_testing import APP_CLASS

from tracer.frameworks.flask import source_lines as lines
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Step, Trace
from tracer.session import record_app
from viewer.explain.render import plain, to_json

PATH = "/shop/fr/items/3"


def _trace() -> Trace:
    trace, error = recorded("callbacks", "GET", PATH)
    assert error is None
    return trace


def _document(lang: str, trace: Trace | None = None, **options: Any) -> dict[str, Any]:
    trace = trace or _trace()
    return to_json(explain(trace, **options), lang, trace.sources)


def _section(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return next(s["items"] for s in document["sections"] if s["kind"] == kind)


def _items(items: list[dict[str, Any]], msgid_start: str) -> list[dict[str, Any]]:
    return [item for item in items
            if any(m["msgid"].startswith(msgid_start) for m in item["messages"])]


def _one(items: list[dict[str, Any]], msgid_start: str) -> dict[str, Any]:
    found = _items(items, msgid_start)
    assert len(found) == 1, (msgid_start, [i["text"] for i in items])
    return found[0]


def _calls(steps: tuple[Step, ...] | Any, role: str) -> list[Step]:
    return [step for step in steps if step.role == role and step.kind == "call"]


def _request_steps() -> Any:
    return _trace().requests[0].steps


def _position(items: list[dict[str, Any]], item: dict[str, Any]) -> int:
    return [i["number"] for i in items].index(item["number"])


# -- the request ------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "`preprocess_request` first ran the URL value preprocessors `pull_lang`, before any "
           "before-request function"),
    ("zh", "`preprocess_request` 先执行了 URL 值预处理函数 `pull_lang`，在所有 before_request "
           "函数之前"),
])
def test_url_value_preprocessor_is_told_with_its_steps(lang: str, told: str) -> None:
    steps = _request_steps()
    items = _section(_document(lang), "request")
    item = _one(items, "`preprocess_request` first ran the URL value preprocessors")
    [phase] = _calls(steps, Role.BEFORE_REQUEST)
    [function] = _calls(steps, Role.URL_VALUE_PREPROCESSOR)
    assert item["steps"] == [phase.id, function.id]
    assert function.name == "pull_lang"
    assert told in item["text"]
    assert "`url_func(request.endpoint, request.view_args)`" in item["text"]
    assert not _items(items, "`preprocess_request` found no")
    dispatch = _one(items, "`dispatch_request` called")
    assert _position(items, item) < _position(items, dispatch)


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "with `view_args` as the URL value preprocessors left it (the match gave "
           "{'lang': 'fr', 'item_id': 3})"),
    ("zh", "传入的是 URL 值预处理函数处理之后的 `view_args`（匹配时得到的是 "
           "{'lang': 'fr', 'item_id': 3}）"),
])
def test_dispatch_does_not_claim_the_view_got_what_the_match_gave(lang: str, told: str) -> None:
    dispatch = _one(_section(_document(lang), "request"), "`dispatch_request` called")
    assert told in dispatch["text"]
    assert "`view_args = {'lang'" not in dispatch["text"]


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "`item` called `url_for('.item')`: it ran the URL defaults functions `add_lang`, "
           "each given the endpoint and the values to fill in, then built '/shop/fr/items/4'."),
    ("zh", "`item` 调用了 `url_for('.item')`：它先执行了 URL 默认值函数 `add_lang`，每个都拿到 "
           "endpoint 和待填充的值，然后生成了 '/shop/fr/items/4'。"),
])
def test_url_for_is_a_step_with_the_url_defaults_it_ran(lang: str, told: str) -> None:
    steps = _request_steps()
    item = _one(_section(_document(lang), "request"), "`{caller}` called `url_for({endpoint})`")
    [build] = _calls(steps, Role.URL_BUILD)
    [function] = _calls(steps, Role.URL_DEFAULTS)
    assert item["steps"] == [build.id, function.id]
    assert function.name == "add_lang" and function.parent == build.id
    assert item["text"] == told


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "`item` rendered the template `<string>`: `update_template_context` first ran the "
           "context processors `site_name`"),
    ("zh", "`item` 渲染了模板 `<string>`：`update_template_context` 先执行了上下文处理器 "
           "`site_name`"),
])
def test_template_is_a_step_with_its_context_processors(lang: str, told: str) -> None:
    steps = _request_steps()
    items = _section(_document(lang), "request")
    item = _one(items, "`{caller}` rendered the template `{template}`")
    [render] = _calls(steps, Role.TEMPLATE_RENDER)
    [function] = _calls(steps, Role.CONTEXT_PROCESSOR)
    assert item["steps"] == [render.id, function.id]
    assert function.name == "site_name"
    assert told in item["text"]
    view = _one(items, "Your view `{view}`")
    url = _one(items, "`{caller}` called `url_for({endpoint})`")
    response = _one(items, "`make_response` turned")
    positions = [_position(items, i) for i in (view, url, item, response)]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("lang", "told", "no_request_teardown"), [
    ("en", "`do_teardown_appcontext` ran the app context teardown functions `close_connection` "
           "(registered with `teardown_appcontext`)",
     "`do_teardown_request` found no `teardown_request` functions."),
    ("zh", "`do_teardown_appcontext` 执行了应用上下文的 teardown 函数 `close_connection`",
     "`do_teardown_request` 没有找到 `teardown_request` 函数。"),
])
def test_app_context_teardown_function_is_told(lang: str, told: str,
                                               no_request_teardown: str) -> None:
    steps = _request_steps()
    items = _section(_document(lang), "request")
    item = _one(items, "`do_teardown_appcontext` ran the app context teardown functions")
    [phase] = _calls(steps, Role.APPCONTEXT_TEARDOWN)
    [function] = _calls(steps, Role.APPCONTEXT_TEARDOWN_FUNCTION)
    assert item["steps"] == [phase.id, function.id]
    assert told in item["text"]
    request_teardown = _one(items, "`do_teardown_request` found no")
    assert request_teardown["text"] == no_request_teardown
    assert _position(items, request_teardown) < _position(items, item)


_USER_FUNCTIONS = (Role.URL_VALUE_PREPROCESSOR, Role.URL_DEFAULTS, Role.CONTEXT_PROCESSOR,
                   Role.APPCONTEXT_TEARDOWN_FUNCTION, Role.BEFORE_REQUEST_FUNCTION,
                   Role.AFTER_REQUEST_FUNCTION, Role.TEARDOWN_FUNCTION, Role.VIEW, Role.LAYER,
                   Role.HANDLER, Role.URL_BUILD, Role.TEMPLATE_RENDER)


@pytest.mark.parametrize(("name", "path"), [
    ("callbacks", PATH),
    ("real_app", "/dashboard"),  # `url_for` in a decorator layer, after-request functions
])
def test_every_function_flask_called_is_in_an_item(name: str, path: str) -> None:
    trace, _ = recorded(name, "GET", path)
    told_steps = {step for item in _section(_document("en", trace), "request")
                  for step in item["steps"]}
    called = [step for role in _USER_FUNCTIONS for step in _calls(trace.requests[0].steps, role)]
    assert called
    assert [s.name for s in called if s.id not in told_steps] == []


def test_a_url_for_inside_a_before_request_function_is_told() -> None:
    """Functions a phase ran are looked into: `url_for` there is a step like in a view."""
    trace, _ = recorded("real_app", "GET", "/dashboard")
    # Werkzeug before 2.3 quotes the slash of a query value (`next=%2Fdashboard`).
    text = plain(explain(trace), "en").replace("%2F", "/")
    assert "`login_required.<locals>.guarded` called `url_for('login')`, which built " \
           "'/login?next=/dashboard'." in text


# -- --source ---------------------------------------------------------------------------------


def _quoted(item: dict[str, Any]) -> list[str]:
    return [f"{s['at']}  {s['code']}" for s in item["sources"]]


def test_source_quotes_the_lines_that_called_each_function() -> None:
    items = _section(_document("en"), "request")
    values = _quoted(_one(items, "`preprocess_request` first ran the URL value preprocessors"))
    assert any("url_func(request.endpoint, request.view_args)" in q for q in values)
    assert any(q.startswith("fixtures/callbacks.py:20  def pull_lang(") for q in values)
    assert not any("rv = self.ensure_sync(before_func)()" in q for q in values)
    url = _quoted(_one(items, "`{caller}` called `url_for({endpoint})`"))
    assert any(needle in q for q in url for needle in lines.URL_DEFAULTS)
    assert any(q.startswith("fixtures/callbacks.py:25  def add_lang(") for q in url)
    template = _quoted(_one(items, "`{caller}` rendered the template `{template}`"))
    assert any("app.update_template_context(context)" in q for q in template)
    assert any(needle in q for q in template for needle in lines.CONTEXT_PROCESSOR)
    teardown = _quoted(_one(items, "`do_teardown_appcontext` ran"))
    assert any("self.ensure_sync(func)(exc)" in q for q in teardown)
    assert any(q.startswith("fixtures/callbacks.py:35  def close_connection(") for q in teardown)
    match = _quoted(_one(items, "`match_request` asked werkzeug"))
    assert not any("routing_exception" in q for q in match)  # the match raised nothing


# -- nested blueprints ------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "prefixed", "nested"), [
    ("en", "prefixed the endpoint with `shop.catalog.`, and called "
           "`app.add_url_rule('/shop/<lang>/items/<int:item_id>', 'shop.catalog.item', item)`",
     "`catalog` is registered inside another blueprint, so Flask put its `name_prefix` `shop` "
     "in front of its name: the endpoint is 'shop.catalog.item'."),
    ("zh", "给 endpoint 加上前缀 `shop.catalog.`，然后调用 "
           "`app.add_url_rule('/shop/<lang>/items/<int:item_id>', 'shop.catalog.item', item)`",
     "`catalog` 是注册在另一个蓝图里面的，所以 Flask 在它的名字前面加上了 `name_prefix` "
     "`shop`：endpoint 是 'shop.catalog.item'。"),
])
def test_nested_blueprint_endpoint_has_the_full_dotted_name(lang: str, prefixed: str,
                                                            nested: str) -> None:
    steps = _trace().registration.steps
    items = _section(_document(lang), "registration")
    item = _one(items, "`BlueprintSetupState.add_url_rule` joined")
    [rule] = _calls(steps, Role.BLUEPRINT_RULE)
    assert item["steps"][0] == rule.id
    assert prefixed in item["text"] and nested in item["text"]
    assert "`catalog.`" not in item["text"]


@pytest.mark.parametrize(("lang", "recorded_only", "registered"), [
    ("en", "`register_blueprint(catalog)` (url_prefix '/<lang>') was called on a blueprint: it "
           "only records `catalog` inside it.",
     "Registering `shop` registered the blueprint nested in it, `catalog`, under the URL prefix "
     "'/shop/<lang>'."),
    ("zh", "`register_blueprint(catalog)`（url_prefix 为 '/<lang>'）是在一个蓝图上调用的",
     "注册 `shop` 时，也注册了嵌套在它里面的蓝图 `catalog`，URL 前缀是 '/shop/<lang>'。"),
])
def test_nesting_a_blueprint_is_told_where_it_happened(lang: str, recorded_only: str,
                                                       registered: str) -> None:
    steps = _trace().registration.steps
    blueprints = _calls(steps, Role.BLUEPRINT)
    items = _section(_document(lang), "registration")
    put_in = _one(items, "`register_blueprint({blueprint})` (url_prefix {url_prefix}) was called")
    [nesting] = [s for s in blueprints if s.name == "Blueprint.register_blueprint"]
    assert put_in["steps"] == [nesting.id] and recorded_only in put_in["text"]
    replayed = _one(items, "Registering `{parent}`")
    [inner] = [s for s in blueprints if s.name == "Blueprint.register"
               and s.facts.get("blueprint") == "catalog"]
    assert replayed["steps"] == [inner.id] and replayed["text"] == registered
    app_register = _one(items, "`app.register_blueprint({blueprint})`")
    [on_app] = [s for s in blueprints if s.name == f"{APP_CLASS}.register_blueprint"]
    assert app_register["steps"] == [on_app.id]
    assert "`app.register_blueprint(shop)`" in app_register["text"]


def test_the_route_decorator_of_a_nested_blueprint_belongs_to_its_endpoint() -> None:
    """Explaining a request to `shop.catalog.item` tells how `@catalog.get` was applied:
    the deferred rule is tied to the endpoint Flask made of it, not to `catalog.item`."""
    steps = _trace().registration.steps
    items = _section(_document("en"), "registration")
    route = _one(items, "`@{call}` is a shortcut")
    [shortcut] = [s for s in _calls(steps, Role.ROUTE_DECORATOR) if s.name == "Scaffold.get"]
    assert route["steps"] == [shortcut.id]
    assert "`@catalog.get('/items/<int:item_id>')`" in route["text"]
    deferred = _one(items, "On a blueprint, `add_url_rule` only records")
    [add] = [s for s in _calls(steps, Role.ADD_URL_RULE) if s.facts.get("deferred")]
    assert deferred["steps"] == [add.id]


def test_the_prefix_is_read_from_the_endpoint_flask_recorded() -> None:
    """The name comes from the recorded `add_url_rule` call, never from the blueprint names."""
    trace = _trace()
    steps = tuple(
        dataclasses.replace(step, facts={**step.facts, "endpoint": "store.catalog.item"})
        if step.role == Role.ADD_URL_RULE and step.facts.get("endpoint") == "shop.catalog.item"
        else step
        for step in trace.registration.steps)
    changed = dataclasses.replace(
        trace, registration=dataclasses.replace(trace.registration, steps=steps))
    item = _one(_section(_document("en", changed, registration_only=True), "registration"),
                "`BlueprintSetupState.add_url_rule` joined")
    assert "prefixed the endpoint with `store.catalog.`" in item["text"]
    assert "the endpoint is 'store.catalog.item'" in item["text"]


# -- a route decorator whose add_url_rule raised ----------------------------------------------


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "It called `self.add_url_rule('/export', None, timed.<locals>.wrapper)`, which "
           "raised AssertionError('View function mapping is overwriting an existing endpoint"),
    ("zh", "它调用了 `self.add_url_rule('/export', None, timed.<locals>.wrapper)`，这个调用抛出了 "
           "AssertionError('View function mapping is overwriting an existing endpoint"),
])
def test_a_decorator_whose_add_url_rule_raised_did_not_return(lang: str, told: str) -> None:
    trace, error = recorded("check_no_wraps", "GET", "/report")
    assert error is not None and "overwriting" in error
    items = _section(_document(lang, trace), "registration")
    call = _calls(trace.registration.steps, Role.ROUTE_DECORATOR_CALL)[-1]  # '/export'
    item = next(i for i in items if i["steps"] == [call.id])
    assert told in item["text"]
    assert "return f" not in item["text"]
    assert not any(q["code"] == "return f" for q in item["sources"])


# -- a blueprint registration that raised -----------------------------------------------------

_TWO_NAMED_ALIKE = '''
from flask import Blueprint, Flask

app = Flask(__name__)
app.register_blueprint(Blueprint("dup", __name__))
try:
    app.register_blueprint(Blueprint("dup", __name__))
except ValueError:
    pass


@app.get("/")
def index() -> str:
    return "ok"
'''


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "It raised ValueError(\"The name 'dup' is already registered for a different "
           "blueprint."),
    ("zh", "它抛出了 ValueError(\"The name 'dup' is already registered for a different "
           "blueprint."),
])
def test_a_blueprint_registration_that_raised_says_so(tmp_path: Path, lang: str,
                                                      told: str) -> None:
    app = tmp_path / "explain_dup_blueprints.py"
    app.write_text(_TWO_NAMED_ALIKE)
    try:
        trace = record_app(str(app), [RequestSpec("GET", "/")]).trace
    finally:
        sys.modules.pop("explain_dup_blueprints", None)
    registered = _calls(trace.registration.steps, Role.BLUEPRINT)
    on_app = [s for s in registered if s.name == f"{APP_CLASS}.register_blueprint"]
    items = _section(_document(lang, trace, registration_only=True), "registration")
    first, second = (next(i for i in items if i["steps"] == [s.id]) for s in on_app)
    assert told not in first["text"] and told in second["text"]
