"""`near_misses` against real werkzeug maps, and the 404 narrative built from it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from explain_helpers import item_with, recorded
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError

from tracer.frameworks.narration.narrative import explain
from tracer.frameworks.werkzeug.nomatch import near_misses, rule_reached
from tracer.model import Role
from viewer.explain.render import plain


def _map(*rules: Rule, **options: object) -> Map:
    return Map(list(rules), **options)  # type: ignore[arg-type]


def test_int_converter_refuses_a_segment() -> None:
    url_map = _map(Rule("/items/<int:item_id>", endpoint="item"), Rule("/about", endpoint="a"))
    misses = near_misses(url_map, "/items/abc", "GET")
    assert misses == [{"rule": "/items/<int:item_id>", "endpoint": "item",
                       "reason": "converter_rejected",
                       "detail": {"argument": "item_id", "converter": "int", "segment": "abc"}}]
    json.dumps(misses)


def test_names_the_converter_that_refused_among_several() -> None:
    url_map = _map(Rule("/shop/<name>/<int:page>", endpoint="shop"))
    [miss] = near_misses(url_map, "/shop/books/two", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "page", "converter": "int", "segment": "two"}


def test_custom_converter_of_the_original_map_is_used() -> None:
    class HexConverter(BaseConverter):
        regex = "[0-9a-f]+"

    url_map = _map(Rule("/color/<hex:value>", endpoint="color"), converters={"hex": HexConverter})
    [miss] = near_misses(url_map, "/color/zz", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "value", "converter": "hex", "segment": "zz"}


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
                                 "own": True}
    assert by_pattern["detail"] == {"argument": "name", "converter": "user", "segment": "BOB"}


def test_an_empty_value_is_what_the_converter_refused() -> None:
    """`/anything/` has all the static text of `/anything/<path:anything>`: the `path`
    converter refused the empty value; the segment count is not the reason."""
    url_map = _map(Rule("/anything/<path:anything>", endpoint="anything"))
    [miss] = near_misses(url_map, "/anything/", "GET")
    assert miss["reason"] == "converter_rejected"
    assert miss["detail"] == {"argument": "anything", "converter": "path", "segment": "",
                              "empty": True}


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
           "for `item_id`." in text
    assert "`_find_error_handler` chose `handle_not_found`" in text
    # A 404 goes through `handle_http_exception`, which looks the handler up.
    assert "`handle_user_exception` got `NotFound`, an HTTP exception, and passed it on: " \
           "`return self.handle_http_exception(e)`. `handle_http_exception` got `NotFound`; " \
           "`_find_error_handler` chose `handle_not_found`" in text
    zh = plain(explain(trace), "zh")
    assert "`int` 转换器拒绝把 'abc' 作为 `item_id`" in zh
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
