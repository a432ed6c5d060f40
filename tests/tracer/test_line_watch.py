"""The code watcher's compiled LINE callback (`tracer._stepcore.LineWatch`) answers as
`CodeWatcher._on_line` does: a quotable line is told to `ran_line`, any other line is
disabled, and a failure of the bookkeeping is counted, never raised into the app."""

from __future__ import annotations

import pytest

from tracer.engine import compiled_steps

DISABLE = object()


def _function() -> int:
    first = 1
    return first + 1


CODE = _function.__code__
QUOTABLE = CODE.co_firstlineno + 1


def _watch(ran_line, failed):
    core = compiled_steps()
    if core is None:
        pytest.skip("the compiled step core is not built")
    return core.LineWatch({id(CODE): frozenset({QUOTABLE})}, ran_line, DISABLE, failed)


def test_a_quotable_line_is_told_and_any_other_disabled() -> None:
    told, failures = [], []
    watch = _watch(lambda code, line: told.append((code, line)), failures.append)
    assert watch(CODE, QUOTABLE) is None
    assert told == [(CODE, QUOTABLE)]
    assert watch(CODE, QUOTABLE + 1) is DISABLE
    assert watch(test_a_quotable_line_is_told_and_any_other_disabled.__code__, 1) is DISABLE
    assert told == [(CODE, QUOTABLE)] and failures == []


def test_a_failing_ran_line_is_counted_not_raised() -> None:
    failures: list[BaseException] = []

    def failing(code, line):
        raise ValueError("bookkeeping broke")

    assert _watch(failing, failures.append)(CODE, QUOTABLE) is None
    assert [str(failure) for failure in failures] == ["bookkeeping broke"]


def test_an_interrupt_reaches_the_app() -> None:
    def interrupted(code, line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _watch(interrupted, lambda error: None)(CODE, QUOTABLE)


def test_it_is_called_with_the_callback_s_two_arguments_only() -> None:
    watch = _watch(lambda code, line: None, lambda error: None)
    with pytest.raises(TypeError):
        watch(CODE)
    with pytest.raises(TypeError):
        watch(CODE, QUOTABLE, line=QUOTABLE)
