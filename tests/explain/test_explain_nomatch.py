"""`near_misses` against real werkzeug maps, and the 404 narrative built from it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from explain_helpers import item_with, recorded, recorded_source
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.frameworks.werkzeug.nomatch import near_misses, rule_reached
from tracer.model import Role, Trace
from viewer.explain.render import plain


def _map(*rules: Rule, **options: object) -> Map:
    return Map(list(rules), **options)  # type: ignore[arg-type]


def test_int_converter_refuses_a_segment() -> None:
    url_map = _map(Rule("/items/<int:item_id>", endpoint="item"), Rule("/about", endpoint="a"))
    misses = near_misses(url_map, "/items/abc", "GET")
    assert misses == [{"rule": "/items/<int:item_id>", "endpoint": "item",
                       "reason": "converter_rejected",
                       "detail": {"argument": "item_id", "converter": "int", "segment": "abc",
                                  "pattern": r"\d+", "refused_by": "pattern"}}]
    json.dumps(misses)


def test_names_the_converter_that_refused_among_several() -> None:
    url_map = _map(Rule("/shop/<name>/<int:page>", endpoint="shop"))
    [miss] = near_misses(url_map, "/shop/books/two", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "page", "converter": "int", "segment": "two",
                              "pattern": r"\d+", "refused_by": "pattern"}


def test_custom_converter_of_the_original_map_is_used() -> None:
    class HexConverter(BaseConverter):
        regex = "[0-9a-f]+"

    url_map = _map(Rule("/color/<hex:value>", endpoint="color"), converters={"hex": HexConverter})
    [miss] = near_misses(url_map, "/color/zz", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "value", "converter": "hex", "segment": "zz",
                              "pattern": "[0-9a-f]+", "refused_by": "pattern", "own": True}


def test_the_apps_own_converters_are_never_run_again() -> None:
    """A converter that looks a segment up (a database, say) must not run a second time:
    its pattern alone is asked, and a segment it passes was refused by its `to_python`."""
    calls: list[str] = []

    class UserConverter(BaseConverter):
        regex = "[a-z]+"

        def __init__(self, url_map: Map, *args: object) -> None:
            calls.append("__init__")
            super().__init__(url_map, *args)

        def to_python(self, value: str) -> str:
            calls.append(f"to_python({value})")
            if value != "ann":
                raise ValidationError()
            return value

    url_map = _map(Rule("/users/<user:name>", endpoint="user"),
                   converters={"user": UserConverter})
    calls.clear()  # the real map made its converter: that is the app's own doing
    with pytest.raises(NotFound):
        url_map.bind("localhost").match("/users/bob")
    assert calls == ["to_python(bob)"]  # the real match, which the recorder does not redo
    calls.clear()
    [refused] = near_misses(url_map, "/users/bob", "GET")
    [by_pattern] = near_misses(url_map, "/users/BOB", "GET")
    assert calls == []
    assert refused["reason"] == "converter_rejected"
    assert refused["detail"] == {"argument": "name", "converter": "user", "segment": "bob",
                                 "own": True, "pattern": "[a-z]+", "refused_by": "to_python"}
    assert by_pattern["detail"] == {"argument": "name", "converter": "user", "segment": "BOB",
                                    "own": True, "pattern": "[a-z]+", "refused_by": "pattern"}


def test_an_empty_value_is_what_the_converter_refused() -> None:
    """`/anything/` has all the static text of `/anything/<path:anything>`: the `path`
    converter refused the empty value; the segment count is not the reason."""
    url_map = _map(Rule("/anything/<path:anything>", endpoint="anything"))
    [miss] = near_misses(url_map, "/anything/", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "anything", "converter": "path", "segment": "",
                              "empty": True, "pattern": "[^/].*?", "refused_by": "pattern"}


def test_static_part_differs() -> None:
    url_map = _map(Rule("/shop/products", endpoint="list"), Rule("/dashboard", endpoint="dash"))
    [miss] = near_misses(url_map, "/shop/product", "GET")
    assert miss["reason"] == "static_differs"
    assert miss["detail"] == {"rule_part": "products", "path_part": "product", "position": 1}
    [typo] = near_misses(url_map, "/dashbord", "GET")
    assert typo["rule"] == "/dashboard" and typo["detail"]["path_part"] == "dashbord"


def test_segment_count_differs() -> None:
    url_map = _map(Rule("/items/<int:item_id>", endpoint="item"))
    [miss] = near_misses(url_map, "/items/1/2", "GET")
    assert miss["reason"] == "static_differs"
    assert miss["detail"] == {"rule_segments": 2, "path_segments": 3}


def test_trailing_slash_both_ways() -> None:
    url_map = _map(Rule("/about", endpoint="about"), Rule("/docs/", endpoint="docs"))
    [extra] = near_misses(url_map, "/about/", "GET")
    assert extra["reason"] == "trailing_slash"
    assert extra["detail"]["rule_has_slash"] is False and extra["detail"]["path_has_slash"]
    [missing] = near_misses(url_map, "/docs", "GET")
    assert missing["reason"] == "trailing_slash"
    assert missing["detail"]["redirect_to"] == "http://localhost/docs/"


def test_method_not_allowed() -> None:
    url_map = _map(Rule("/submit", endpoint="submit", methods=["POST"]))
    [miss] = near_misses(url_map, "/submit", "GET")
    assert miss["reason"] == "method_not_allowed"
    assert miss["detail"] == {"method": "GET", "allowed": ["POST"]}


def test_host_differs() -> None:
    url_map = _map(Rule("/x", endpoint="x", host="api.example.com"), host_matching=True)
    [miss] = near_misses(url_map, "/x", "GET", host="www.example.com")
    assert miss["reason"] == "host_differs"
    assert miss["detail"] == {"rule_host": "api.example.com", "host": "www.example.com"}


def test_subdomain_differs() -> None:
    url_map = _map(Rule("/x", endpoint="x", subdomain="api"))
    [miss] = near_misses(url_map, "/x", "GET", host="example.com", subdomain="www")
    assert miss["reason"] == "host_differs"
    assert miss["detail"] == {"rule_subdomain": "api", "subdomain": "www"}


def test_far_rules_are_left_out_and_limit_holds() -> None:
    url_map = _map(Rule("/login", endpoint="login"), Rule("/hooks", endpoint="hooks"))
    assert near_misses(url_map, "/nowhere", "GET") == []
    many = _map(*(Rule(f"/a/b{i}", endpoint=f"e{i}") for i in range(9)))
    assert len(near_misses(many, "/a/zz", "GET", limit=3)) == 3


def test_closest_first() -> None:
    url_map = _map(Rule("/shop/products", endpoint="list"),
                   Rule("/shop/products/<int:pid>", endpoint="detail"))
    misses = near_misses(url_map, "/shop/products/abc", "GET")
    assert [m["endpoint"] for m in misses] == ["detail", "list"]
    assert misses[0]["reason"] == "converter_rejected"


def test_flask_app_map() -> None:
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/items/<int:item_id>", "item", lambda item_id: "")
    [miss] = near_misses(app.url_map, "/items/abc", "GET")
    assert miss["endpoint"] == "item" and miss["detail"]["segment"] == "abc"


# -- the narrative ----------------------------------------------------------------------------


def test_not_found_narrative_with_near_misses() -> None:
    trace, _ = recorded("real_app", "GET", "/items/abc")
    text = plain(explain(trace), "en")
    head = item_with(text, "no rule matches '/items/abc'")
    assert "werkzeug raised `NotFound`" in head and "`request.routing_exception`" in head
    assert "2.1. '/items/<int:item_id>' (endpoint 'item'): the `int` converter refused 'abc' " \
           "for `item_id`: its pattern `\\d+` does not match it." in text
    assert "`_find_error_handler` chose `handle_not_found`" in text
    # A 404 goes through `handle_http_exception`, which looks the handler up.
    assert "`handle_user_exception` got `NotFound`, an HTTP exception, and passed it on: " \
           "`return self.handle_http_exception(e)`. `handle_http_exception` got `NotFound`; " \
           "`_find_error_handler` chose `handle_not_found`" in text
    zh = plain(explain(trace), "zh")
    assert "`int` 转换器拒绝把 'abc' 作为 `item_id`：它的模式 `\\d+` 不匹配这个值。" in zh
    assert "没有规则能匹配 '/items/abc'" in zh


def test_not_found_without_near_misses_says_so() -> None:
    trace, _ = recorded("real_app", "GET", "/items/abc")
    request = trace.requests[0]
    steps = tuple(
        dataclasses.replace(s, facts={k: v for k, v in s.facts.items() if k != "near_misses"})
        if s.role == Role.MATCH else s
        for s in request.steps
    )
    bare = dataclasses.replace(trace, requests=(dataclasses.replace(request, steps=steps),))
    text = plain(explain(bare), "en")
    assert "This trace does not record which rules came close" in text
    assert "converter refused" not in text


def test_an_empty_value_is_told_as_the_reason() -> None:
    trace, _ = recorded("real_app", "GET", "/items/abc")
    request = trace.requests[0]
    miss = {"rule": "/anything/<path:anything>", "endpoint": "anything",
            "reason": "converter_rejected",
            "detail": {"argument": "anything", "converter": "path", "segment": "", "empty": True}}
    steps = tuple(dataclasses.replace(s, facts={**s.facts, "near_misses": [miss]})
                  if s.role == Role.MATCH else s for s in request.steps)
    told = dataclasses.replace(trace, requests=(dataclasses.replace(request, steps=steps),))
    assert "'/anything/<path:anything>' (endpoint 'anything'): the path leaves `anything` " \
           "empty, and the `path` converter refused the empty value." in plain(explain(told), "en")
    assert "路径让 `anything` 为空，而 `path` 转换器拒绝了这个空值。" in plain(explain(told), "zh")
    assert "segment(s)" not in plain(explain(told), "en")


def test_nothing_close() -> None:
    trace, _ = recorded("real_app", "GET", "/nowhere")
    text = plain(explain(trace), "en")
    assert "No rule comes close to '/nowhere'" in text


def test_a_redirects_target_rule_is_found_without_running_the_apps_converters() -> None:
    calls: list[str] = []

    class SlugConverter(BaseConverter):
        def to_python(self, value: str) -> str:
            calls.append(value)
            return value

    url_map = _map(Rule("/posts/<slug:name>/", endpoint="post"), Rule("/about", endpoint="a"),
                   converters={"slug": SlugConverter})
    adapter = url_map.bind("example.com", script_name="/app")
    assert rule_reached(adapter, "/posts/hello/", "GET") == "/posts/<slug:name>/"
    assert rule_reached(adapter, "/about", "GET") == "/about"
    assert rule_reached(adapter, "/nowhere", "GET") is None
    assert calls == []


# -- why the converter refused ------------------------------------------------------------

UUID_PATTERN = (r"[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-"
                r"[A-Fa-f0-9]{12}")


@pytest.mark.parametrize(("rule", "path", "why"), [
    ("/n/<int:v>", "/n/abc", {"pattern": r"\d+", "refused_by": "pattern"}),
    ("/n/<int(min=1):v>", "/n/0",
     {"pattern": r"\d+", "refused_by": "to_python", "arguments": {"min": 1}}),
    ("/n/<int(max=10):v>", "/n/11",
     {"pattern": r"\d+", "refused_by": "to_python", "arguments": {"max": 10}}),
    ("/n/<int(fixed_digits=4):v>", "/n/12",
     {"pattern": r"\d+", "refused_by": "to_python", "arguments": {"fixed_digits": 4}}),
    ("/n/<int(signed=True):v>", "/n/-x",
     {"pattern": r"-?\d+", "refused_by": "pattern", "arguments": {"signed": True}}),
    ("/n/<any(a, b):v>", "/n/c",
     {"pattern": "(?:a|b)", "refused_by": "pattern", "arguments": {"items": ["a", "b"]}}),
    ("/n/<uuid:v>", "/n/abc", {"pattern": UUID_PATTERN, "refused_by": "pattern"}),
    ("/n/<float:v>", "/n/1", {"pattern": r"\d+\.\d+", "refused_by": "pattern"}),
    ("/n/<float(max=1.5):v>", "/n/2.5",
     {"pattern": r"\d+\.\d+", "refused_by": "to_python", "arguments": {"max": 1.5}}),
    ("/n/<string(length=2):v>", "/n/abc",
     {"pattern": "[^/]{2}", "refused_by": "pattern", "arguments": {"length": 2}}),
])
def test_the_converter_is_asked_why_it_refused(rule: str, path: str,
                                               why: dict[str, object]) -> None:
    """werkzeug's own converter, as the rule made it, says whether its pattern refused the
    segment or its `to_python` raised `ValidationError`."""
    [miss] = near_misses(_map(Rule(rule, endpoint="n")), path, "GET")
    converter = rule.split("<")[1].split(":")[0].split("(")[0]
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "v", "converter": converter,
                              "segment": path.rsplit("/", 1)[1], **why}
    json.dumps(miss)


@pytest.mark.parametrize(("rule", "converter", "pattern"), [
    ("/wiki/<title>", "default", "[^/]{1,}"),
    ("/wiki/<string:title>", "string", "[^/]{1,}"),
    ("/wiki/<path:title>", "path", "[^/].*?"),
])
def test_an_empty_value_is_refused_by_the_pattern(rule: str, converter: str,
                                                  pattern: str) -> None:
    [miss] = near_misses(_map(Rule(rule, endpoint="wiki")), "/wiki/", "GET")
    assert miss["detail"] == {"argument": "title", "converter": converter, "segment": "",
                              "empty": True, "pattern": pattern, "refused_by": "pattern"}


def test_a_slash_is_what_the_default_converter_refused() -> None:
    """`/wiki/a/b` for `/wiki/<title>`: the default converter takes one segment; the
    number of segments is not the reason, its pattern is."""
    url_map = _map(Rule("/wiki/<title>", endpoint="wiki"))
    [miss] = near_misses(url_map, "/wiki/a/b", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "title", "converter": "default", "segment": "a/b",
                              "pattern": "[^/]{1,}", "refused_by": "pattern"}


def test_a_pattern_the_apps_converter_set_in_init_is_read_not_run() -> None:
    """The pattern the app's converter set on itself is read from the instance the rule
    made; neither its `__init__` nor its `to_python` runs again."""
    calls: list[str] = []

    class CodeConverter(BaseConverter):
        def __init__(self, url_map: Map, length: str) -> None:
            calls.append("__init__")
            super().__init__(url_map)
            self.regex = f"[A-Z]{{{int(length)}}}"

        def to_python(self, value: str) -> str:
            calls.append(f"to_python({value})")
            return value

    url_map = _map(Rule("/codes/<code(3):value>", endpoint="code"),
                   converters={"code": CodeConverter})
    calls.clear()
    [miss] = near_misses(url_map, "/codes/ABCD", "GET")
    assert calls == []
    assert miss["detail"] == {"argument": "value", "converter": "code", "segment": "ABCD",
                              "own": True, "pattern": "[A-Z]{3}", "refused_by": "pattern"}


def test_a_hostile_segment_is_bounded_in_the_detail() -> None:
    url_map = _map(Rule("/n/<int:v>", endpoint="n"))
    [miss] = near_misses(url_map, "/n/" + "x" * 5000, "GET")
    assert miss["detail"]["refused_by"] == "pattern"
    assert len(miss["detail"]["segment"]) <= 200


CONVERTERS_APP = """
    from flask import Flask
    from werkzeug.routing import BaseConverter, ValidationError


    class UserConverter(BaseConverter):
        regex = "[a-z]+"

        def to_python(self, value):
            if value != "ann":
                raise ValidationError()
            return value


    app = Flask(__name__)
    app.url_map.converters["user"] = UserConverter


    @app.route("/pages/<int(min=1, max=50):page>")
    def page(page):
        return str(page)


    @app.route("/sizes/<any(small, large):size>")
    def size(size):
        return size


    @app.route("/users/<user:name>")
    def user(name):
        return name


    @app.route("/wiki/<title>")
    def wiki(title):
        return title
"""
PATHS = ("/pages/0", "/pages/abc", "/sizes/medium", "/users/bob", "/users/BOB", "/wiki/a/b",
         "/pages/\x1b[31m" + "9" * 300)


@pytest.fixture(scope="module")
def converters_trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return recorded_source(tmp_path_factory.mktemp("converters"), "converters_app",
                           CONVERTERS_APP, *(RequestSpec("GET", path) for path in PATHS))


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "'/pages/<int(min=1, max=50):page>' (endpoint 'page'): the `int` converter refused "
           "'0' for `page`: its pattern `\\d+` matches it, but its `to_python`, with `min=1`, "
           "`max=50`, raised `ValidationError`."),
    ("en", "'/pages/<int(min=1, max=50):page>' (endpoint 'page'): the `int` converter refused "
           "'abc' for `page`: its pattern `\\d+` does not match it."),
    ("en", "'/sizes/<any(small, large):size>' (endpoint 'size'): the `any` converter refused "
           "'medium' for `size`: its pattern `(?:small|large)` does not match it."),
    ("en", "'/users/<user:name>' (endpoint 'user'): 'bob' matches the pattern `[a-z]+` of the "
           "app's own `user` converter, so it was the converter's own `to_python` that "
           "refused it for `name` when werkzeug matched the path (flaskscope does not run the "
           "app's converters again)."),
    ("en", "'/users/<user:name>' (endpoint 'user'): the app's own `user` converter refused "
           "'BOB' for `name`: its pattern `[a-z]+` does not match it."),
    ("en", "'/wiki/<title>' (endpoint 'wiki'): the `default` converter refused 'a/b' for "
           "`title`: its pattern `[^/]{1,}` takes one segment, without a slash "
           "(`<path:title>` takes slashes)."),
    ("zh", "'/pages/<int(min=1, max=50):page>'（endpoint 'page'）：`int` 转换器拒绝把 '0' 作为 "
           "`page`：它的模式 `\\d+` 匹配这个值，但它的 `to_python`（参数 `min=1`、`max=50`）抛出了 "
           "`ValidationError`。"),
    ("zh", "'/pages/<int(min=1, max=50):page>'（endpoint 'page'）：`int` 转换器拒绝把 'abc' 作为 "
           "`page`：它的模式 `\\d+` 不匹配这个值。"),
    ("zh", "'/users/<user:name>'（endpoint 'user'）：'bob' 匹配应用自己的 `user` 转换器的模式 "
           "`[a-z]+`，所以是这个转换器自己的 `to_python` 在 werkzeug 匹配路径时拒绝了它作为 "
           "`name`（flaskscope 不会再次运行应用的转换器）。"),
    ("zh", "'/users/<user:name>'（endpoint 'user'）：应用自己的 `user` 转换器拒绝把 'BOB' 作为 "
           "`name`：它的模式 `[a-z]+` 不匹配这个值。"),
    ("zh", "'/wiki/<title>'（endpoint 'wiki'）：`default` 转换器拒绝把 'a/b' 作为 `title`：它的"
           "模式 `[^/]{1,}` 只接受一个路径段，不能含斜杠（`<path:title>` 才接受斜杠）。"),
])
def test_the_narrative_says_why_the_converter_refused(converters_trace: Trace, lang: str,
                                                      told: str) -> None:
    assert told in plain(explain(converters_trace), lang)


def test_a_hostile_segment_is_escaped_and_clipped_in_the_narrative(
        converters_trace: Trace) -> None:
    text = plain(explain(converters_trace, request_id=converters_trace.requests[-1].id), "en")
    line = item_with(text, "'/pages/<int(min=1, max=50):page>' (endpoint 'page')")
    assert "\x1b" not in line and "\\x1b[31m" in line
    assert "9" * 100 not in line and "…" in line


def test_an_empty_value_with_its_pattern_is_told() -> None:
    trace, _ = recorded("real_app", "GET", "/items/abc")
    request = trace.requests[0]
    miss = {"rule": "/anything/<path:anything>", "endpoint": "anything",
            "reason": "converter_rejected",
            "detail": {"argument": "anything", "converter": "path", "segment": "", "empty": True,
                       "pattern": "[^/].*?", "refused_by": "pattern"}}
    steps = tuple(dataclasses.replace(s, facts={**s.facts, "near_misses": [miss]})
                  if s.role == Role.MATCH else s for s in request.steps)
    told = dataclasses.replace(trace, requests=(dataclasses.replace(request, steps=steps),))
    assert "'/anything/<path:anything>' (endpoint 'anything'): the path leaves `anything` " \
           "empty, and the `path` converter refused the empty value: its pattern `[^/].*?` " \
           "does not match an empty string." in plain(explain(told), "en")
    assert "路径让 `anything` 为空，而 `path` 转换器拒绝了这个空值：它的模式 `[^/].*?` 不匹配" \
           "空字符串。" in plain(explain(told), "zh")
