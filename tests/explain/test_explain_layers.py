"""Decorator layers made by one factory, told apart by the expression that made them.

`fixtures/factory_layers.py` wraps views in `tag("first")` and `tag("second")`: both layers
are `tag.<locals>.deco.<locals>.tagged`, with the same code. The narrative names each by its
expression as the source writes it, says which layer called which, and blames an early
return on the layer that returned.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from explain_helpers import item_with, recorded, recorded_source, told

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.items import MAX_VALUE
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Trace
from viewer.explain.render import plain, to_json

LAYER = "tag.<locals>.deco.<locals>.tagged"
FIRST = f'`{LAYER}` made by `tag("first")`'
SECOND = f'`{LAYER}` made by `tag("second")`'


def _request_part(text: str) -> str:
    return text[text.index("\nRequest 0"):]


# -- a view class's `decorators = [tag("first"), tag("second")]` -----------------------------


def test_each_class_layer_names_the_layer_it_called() -> None:
    text = _request_part(told("factory_layers", "GET", "/hello"))
    outer = item_with(text, f"Decorator layer {SECOND}")
    assert f"ran and called the next layer, {FIRST}; it returned 'hi'" in outer
    inner = item_with(text, f"Decorator layer {FIRST}")
    assert "ran and called the next layer, `View.as_view.<locals>.view`" in inner
    assert text.index(f"Decorator layer {SECOND}") < text.index(f"Decorator layer {FIRST}")


def test_an_early_return_is_told_of_the_class_layer_that_returned() -> None:
    text = _request_part(told("factory_layers", "GET", "/hello?stop=1"))
    early = item_with(text, "returned 'stopped by first' early")
    assert early.split(". ", 1)[1].startswith(f"Decorator layer {FIRST}, at ")
    assert "without calling `View.as_view.<locals>.view`" in early
    outer = item_with(text, f"Decorator layer {SECOND}")
    assert f"called the next layer, {FIRST}" in outer
    assert "created an instance of `Hello`" not in text


def test_registration_lists_the_class_decorators_as_written() -> None:
    text = told("factory_layers", "GET", "/hello")
    order = item_with(text, "`Hello.decorators` lists")
    assert 'lists `tag("first")`, `tag("second")`.' in order
    assert 'so the last one, `tag("second")`, is the outermost layer' in order
    assert "Decorator 1 of 2: `tag(\"first\")` wrapped the function so far" in text
    assert "Decorator 2 of 2: `tag(\"second\")` wrapped the function so far" in text
    registered = item_with(text, "`app.view_functions['hello'] =")
    assert (f"That is the outermost layer, {SECOND}; inside it: {FIRST}, "
            "`View.as_view.<locals>.view`.") in registered


# -- `@app.route` over `@tag("first")` over `@tag("second")` ---------------------------------


def test_stacked_layers_under_the_route_are_named_by_their_lines() -> None:
    text = told("factory_layers", "GET", "/stacked")
    registered = item_with(text, "`app.view_functions['stacked'] =")
    assert f"That is the outermost layer, {FIRST}; inside it: {SECOND}, `stacked`." in registered
    request = _request_part(text)
    outer = item_with(request, f"Decorator layer {FIRST}")
    assert f"ran and called the next layer, {SECOND}" in outer
    inner = item_with(request, f"Decorator layer {SECOND}")
    assert "ran and called the next layer, `stacked`" in inner


def test_an_early_return_is_told_of_the_stacked_layer_that_returned() -> None:
    text = _request_part(told("factory_layers", "GET", "/stacked?stop=1"))
    early = item_with(text, "returned 'stopped by first' early")
    assert early.split(". ", 1)[1].startswith(f"Decorator layer {FIRST}, at ")
    assert f"without calling {SECOND}" in early
    assert f"Decorator layer {SECOND}" not in text and "Your view `stacked`" not in text


def test_chinese_names_each_layer_by_its_expression() -> None:
    text = told("factory_layers", "GET", "/hello?stop=1", "zh")
    first = f'`{LAYER}`（由 `tag("first")` 生成）'
    second = f'`{LAYER}`（由 `tag("second")` 生成）'
    assert '第 1 个装饰器（共 2 个）：`tag("first")`' in text
    assert '所以最后一个 `tag("second")` 在最外层' in text
    inside = f"{first}、`View.as_view.<locals>.view`"
    assert f"这是最外面的一层，{second}；里面依次是：{inside}。" in text
    assert f"装饰器层 {second}，位于 " in text and f"并调用了下一层 {first}；" in text
    early = item_with(text, "提前返回了 'stopped by first'")
    assert f"装饰器层 {first}，位于 " in early
    assert "没有调用 `View.as_view.<locals>.view`" in early
    stacked = told("factory_layers", "GET", "/stacked?stop=1", "zh")
    assert f"装饰器层 {first}，位于 " in stacked and f"没有调用 {second}：" in stacked


# -- the same text twice; no source to read ------------------------------------------------


def test_the_same_expression_twice_is_told_apart_by_its_place_in_the_source() -> None:
    text = told("factory_layers", "GET", "/twice")
    assert "Decorator 1 of 2: `tag(\"x\")`" in text and "Decorator 2 of 2: `tag(\"x\")`" in text
    first, second = (f'`{LAYER}` made by the 1st `tag("x")`',
                     f'`{LAYER}` made by the 2nd `tag("x")`')
    request = _request_part(text)
    # `[tag("x"), tag("x")]`: the 2nd in the list is applied last, so it is the outermost.
    outer = item_with(request, f"Decorator layer {second}")
    assert f"called the next layer, {first}" in outer
    inner = item_with(request, f"Decorator layer {first}")
    assert "called the next layer, `View.as_view.<locals>.view`" in inner
    zh = told("factory_layers", "GET", "/twice", "zh")
    assert f'装饰器层 `{LAYER}`（由第 2 个 `tag("x")` 生成），位于 ' in zh
    assert f'并调用了下一层 `{LAYER}`（由第 1 个 `tag("x")` 生成）' in zh


def test_a_list_built_in_a_loop_is_told_by_name_and_position() -> None:
    text = told("factory_layers", "GET", "/looped")
    assert "`Looped.decorators` lists `tag.<locals>.deco`, `tag.<locals>.deco`." in text
    assert "Decorator 1 of 2: `tag.<locals>.deco`" in text
    outer = item_with(_request_part(text), f"Decorator layer `{LAYER}` (number 1 of 2 from")
    assert f"called the next layer, `{LAYER}` (number 2 of 2 from the outside)" in outer
    assert 'tag("' not in text


def test_a_trace_without_layer_facts_tells_layers_apart_by_their_nesting() -> None:
    """A trace recorded before layer calls named their link: the call inside a layer's call
    ran the next link with its code."""
    trace, _ = recorded("factory_layers", "GET", "/hello?stop=1")
    request = trace.requests[0]
    steps = tuple(dataclasses.replace(s, facts={k: v for k, v in s.facts.items() if k != "layer"})
                  if s.role == Role.LAYER else s for s in request.steps)
    older = dataclasses.replace(trace, requests=(dataclasses.replace(request, steps=steps),))
    text = plain(explain(older), "en")
    early = item_with(text, "returned 'stopped by first' early")
    assert f"Decorator layer {FIRST}, at " in early
    assert "without calling `View.as_view.<locals>.view`" in early


def test_json_keeps_each_phrase_as_a_message() -> None:
    trace, _ = recorded("factory_layers", "GET", "/twice")
    document = json.loads(json.dumps(to_json(explain(trace), "en", trace.sources)))
    items = document["sections"][-1]["items"]
    layer = next(i for i in items if i["text"].startswith("Decorator layer"))
    params = layer["messages"][0]["params"]
    assert params["layer"]["msgid"] == "`{layer}` made by the {nth} `{expression}`"
    assert params["layer"]["params"]["nth"] == {"msgid": "{n}nd", "params": {"n": 2}}


# -- the expression is source text: hostile -------------------------------------------------

HOSTILE = '''
    import functools
    from flask import Flask
    from flask.views import View

    def tag(label):
        def deco(f):
            @functools.wraps(f)
            def tagged(*args, **kwargs):
                return f(*args, **kwargs)
            return tagged
        return deco

    class Loud(View):
        decorators = [tag("\x1b]0;pwned\x07\u202eLONG"), tag("b")]
        def dispatch_request(self):
            return "loud"

    app = Flask(__name__)
    app.add_url_rule("/loud", view_func=Loud.as_view("loud"))
'''.replace("LONG", "long" * 60)


def _hostile(tmp_path: Path) -> Trace:
    return recorded_source(tmp_path, "hostile_layers", HOSTILE, RequestSpec("GET", "/loud"))


def test_an_expression_is_escaped_and_clipped(tmp_path: Path) -> None:
    trace = _hostile(tmp_path)
    for lang in ("en", "zh"):
        text = plain(explain(trace), lang)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        quoted = [part for part in text.split("`")[1::2]
                  if part.startswith('tag("\\x1b]0;pwned\\x07\\u202elong')]
        assert len(quoted) == 5, text  # list, decorator 1 of 2, view_functions, 2 layer items
        assert all(part.endswith("…") and len(part) < MAX_VALUE + 20 for part in quoted)
