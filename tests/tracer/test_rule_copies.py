"""The rule copies flaskscope matches against compile no URL builder until one builds."""

from __future__ import annotations

import warnings

import pytest
from werkzeug.routing import BaseConverter, Map, Rule

from tracer.frameworks.werkzeug.nomatch import near_misses, rule_reached
from tracer.frameworks.werkzeug.rule_copies import copy_rule


class CountingRule(Rule):
    """A rule of the app's own class, counting the builders it compiles."""

    compiled = 0

    def _compile_builder(self, append_unknown=True):
        CountingRule.compiled += 1
        return super()._compile_builder(append_unknown)


def test_a_copy_is_of_the_rule_s_class_and_matches_and_builds_like_it() -> None:
    original = CountingRule("/items/<int:item_id>", endpoint="item", methods=["GET"])
    copy = copy_rule(original)
    assert isinstance(copy, CountingRule)
    assert type(copy).__name__ == "CountingRule"
    assert (copy.rule, copy.endpoint, copy.methods) == (original.rule, "item", {"GET", "HEAD"})
    CountingRule.compiled = 0
    adapter = Map([copy]).bind("localhost")
    assert CountingRule.compiled >= 1  # through the class's own `_compile_builder`
    assert adapter.match("/items/7") == ("item", {"item_id": 7})
    assert adapter.build("item", {"item_id": 9, "q": "x"}) == "/items/9?q=x"


def test_a_copy_with_another_rule_string() -> None:
    copy = copy_rule(Rule("/a/<int:x>", endpoint="a", defaults=None), "/a/<x>")
    assert copy.rule == "/a/<x>"
    assert Map([copy]).bind("localhost").match("/a/b") == ("a", {"x": "b"})


@pytest.fixture
def builders_that_warn(monkeypatch):
    """Werkzeug before 2.3 on Python 3.12+: compiling a builder warns (`ast.Str`), with
    the warning attributed to werkzeug's router."""
    compile_builder = Rule._compile_builder

    def warning_compile_builder(self, append_unknown=True):
        warnings.warn_explicit("ast.Str is deprecated", DeprecationWarning, "routing.py", 1,
                               module="werkzeug.routing")
        warnings.warn_explicit("Attribute s is deprecated", DeprecationWarning, "ast.py", 1,
                               module="ast")
        return compile_builder(self, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", warning_compile_builder)


class SlugConverter(BaseConverter):
    """One of the app's own: `rule_reached` matches against copies with a stand-in."""

    regex = "[a-z-]+"


def test_explaining_a_404_adds_no_warning_to_the_app(builders_that_warn) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        url_map = Map([Rule("/items/<int:item_id>", endpoint="item"),
                       Rule("/items/", endpoint="items"),
                       Rule("/tags/<slug:tag>", endpoint="tag"),
                       Rule("/about", endpoint="about", methods=["POST"])],
                      converters={"slug": SlugConverter})
        adapter = url_map.bind("localhost")
        made = len(seen)
        misses = near_misses(url_map, "/items/abc", "GET")
        misses += near_misses(url_map, "/about", "GET")
        assert rule_reached(adapter, "/tags/a-b", "GET") == "/tags/<slug:tag>"
        warnings.warn("the app's own", DeprecationWarning, stacklevel=1)
        assert made >= 16  # the app's own rules compile two builders each (and, on
        # Werkzeug before 2.3 on Python 3.12+, the real compiler warns as well)
    assert {miss["reason"] for miss in misses} >= {"converter_rejected", "method_not_allowed"}
    assert len(seen) == made + 1
    assert str(seen[-1].message) == "the app's own"
