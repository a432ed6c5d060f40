"""`stream_with_context` told as it ran: given an iterable (whose own `__iter__` runs at
once, inside the request) or a generator function (which it decorates), recorded with hooks
and line by line, in English and Chinese; and what it was given, found without running it."""

from __future__ import annotations

import functools

import pytest
from explain_helpers import fixture, forget_fixtures, item_with

from tracer.frameworks.flask.hooks import _describe_streamed
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Trace
from tracer.session import record_app
from viewer.explain.render import plain


@functools.cache
def _trace(path: str, lines: bool) -> Trace:
    forget_fixtures()
    try:
        return record_app(fixture("streamed"), [RequestSpec("GET", path)], lines=lines).trace
    finally:
        forget_fixtures()


def _told(path: str, lines: bool, lang: str = "en") -> str:
    return plain(explain(_trace(path, lines)), lang)


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_an_iterable_of_the_apps_own_is_iterated_inside_the_request(lines: bool) -> None:
    text = _told("/countdown/3", lines)
    given = item_with(text, "`stream_with_context` (flask/helpers.py:")
    assert "While `countdown` ran" in given and "was given an iterable (`Countdown`)" in given
    own = item_with(text, "its own `__iter__`, `Countdown.__iter__` (fixtures/streamed.py:25)")
    assert "It returned <list_iterator object" in own
    order = text.splitlines()
    assert order.index(given) < order.index(own)  # as they ran: the wrap, then `iter()`


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_a_generator_function_is_decorated_then_its_generator_wrapped(lines: bool) -> None:
    text = _told("/lines", lines)
    decorated = item_with(text, "was given the function `lines.<locals>.generate`")
    assert "`iter()` refused it, so it returned `decorator`" in decorated
    wrapped = item_with(text, "was given an iterable (`lines.<locals>.generate`)")
    order = text.splitlines()
    assert order.index(decorated) < order.index(wrapped)
    steps = _trace("/lines", lines).requests[0].steps
    assert not [s for s in steps if s.role == Role.RESPONSE_ITERABLE]  # a generator's own


def test_told_in_chinese() -> None:
    text = _told("/countdown/3", False, "zh")
    assert "`stream_with_context`（flask/helpers.py:" in text
    assert "收到了一个可迭代对象（`Countdown`）" in text
    assert "`Countdown.__iter__`（fixtures/streamed.py:25），就在那里、在请求之内运行了" in text


def test_what_it_was_given_is_asked_of_the_class_never_run() -> None:
    """`iter()` decides in Flask: a callable that is iterable too is iterated, and a
    generator is named after its function; none of their code runs to find out."""
    ran: list[str] = []

    class CallableIterable:
        def __call__(self) -> None:
            ran.append("call")

        def __iter__(self):  # type: ignore[no-untyped-def]
            ran.append("iter")
            return iter(())

    def numbers():  # type: ignore[no-untyped-def]
        yield 1

    assert _describe_streamed((CallableIterable(),), {}) == {
        "wraps": f"{CallableIterable.__qualname__}", "given": "iterable"}
    assert _describe_streamed((numbers(),), {})["wraps"].endswith("<locals>.numbers")
    assert _describe_streamed((numbers,), {})["given"] == "function"
    assert ran == []
