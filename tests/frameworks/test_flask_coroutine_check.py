"""The Flask hooks tell a coroutine function from a plain one as `inspect` does (their fast
path for plain functions and bound methods must never answer otherwise): the answer
decides whether a function Flask runs is recorded where its coroutine runs."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import pytest

from tracer.frameworks.flask.hooks import _is_coroutine_function


def plain() -> int:
    return 1


async def coroutine() -> int:
    return 1


def generator():  # noqa: ANN201
    yield 1


async def async_generator():  # noqa: ANN201
    yield 1


def marked() -> Any:
    return coroutine()


if hasattr(inspect, "markcoroutinefunction"):  # 3.12+
    inspect.markcoroutinefunction(marked)


class View:
    def get(self) -> int:
        return 1

    async def post(self) -> int:
        return 1

    put = functools.partialmethod(post)
    patch = functools.partialmethod(get)

    def __call__(self) -> int:
        return 1


class Callable:
    async def __call__(self) -> int:
        return 1


def with_marker_attribute() -> int:
    return 1


with_marker_attribute._is_coroutine_marker = object()  # type: ignore[attr-defined]

CANDIDATES = {
    "plain": plain, "coroutine": coroutine, "generator": generator,
    "async generator": async_generator, "marked": marked, "lambda": lambda: 1,
    "bound method": View().get, "bound coroutine method": View().post,
    "partial method of a coroutine": View().put, "partial method": View().patch,
    "partial of a coroutine": functools.partial(coroutine),
    "partial of a bound coroutine method": functools.partial(View().post),
    "class": View, "instance": View(), "coroutine __call__": Callable(),
    "builtin": len, "bound builtin": [].append, "foreign marker": with_marker_attribute,
    "method of a method": View().get.__get__(View()),
}


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_the_answer_is_inspect_s(name: str) -> None:
    func = CANDIDATES[name]
    assert _is_coroutine_function(func) is inspect.iscoroutinefunction(func)


def test_the_cases_that_matter_are_told_apart() -> None:
    assert _is_coroutine_function(View().post) and not _is_coroutine_function(View().get)
    assert _is_coroutine_function(coroutine) and not _is_coroutine_function(plain)
    if hasattr(inspect, "markcoroutinefunction"):  # 3.12+: a function marked as one
        assert _is_coroutine_function(marked)
