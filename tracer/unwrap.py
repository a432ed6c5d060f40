"""Find the layers of a decorated callable, outermost first, without calling anything.

`functools.wraps` leaves `__wrapped__`; a wrapper without it still closes over the
function it wraps. Both are followed here, so a registered view can be traced back to
the function its author wrote.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Iterator
from types import CodeType, FunctionType, MethodType
from typing import Any

from tracer.paths import OWN_DIRS

#: Closure variable names that usually hold the wrapped function, tried first.
_LIKELY_NAMES = ("f", "fn", "func", "function", "view", "view_func", "wrapped", "callback",
                 "original")
_MAX_DEPTH = 64


def code_of(obj: Any) -> CodeType | None:
    """The code object that runs when `obj` is called, if it is a Python function."""
    if isinstance(obj, MethodType):
        obj = obj.__func__
    code = getattr(obj, "__code__", None)
    return code if isinstance(code, CodeType) else None


def is_stand_in(obj: Any) -> bool:
    """Whether `obj` is one of flaskscope's stand-ins for a hooked function: the compiled
    core's `Hook`, or a Python function of flaskscope's own. By type alone: `obj` may be
    a proxy whose every attribute raises (`current_app` outside a request)."""
    if type(obj) is MethodType:
        obj = obj.__func__
    if type(obj) is compiled_stand_in_type():
        return True
    return type(obj) is FunctionType and obj.__code__.co_filename.startswith(OWN_DIRS)


@functools.cache
def compiled_stand_in_type() -> type | None:
    """`tracer._stepcore.Hook`, when the compiled core is built."""
    try:
        core = importlib.import_module("tracer._stepcore")
    except ImportError:  # not built
        return None
    return getattr(core, "Hook", None)  # None when built from older sources


def inner_callable(obj: Any) -> Any | None:
    """What `obj` wraps: `__wrapped__`, then a function in its closure, then `.func`."""
    wrapped = _static_attr(obj, "__wrapped__")
    if wrapped is not None and callable(wrapped):
        return wrapped
    if type(obj) is compiled_stand_in_type():  # a stand-in whose `__wrapped__` was removed
        stand_in: Any = obj
        return stand_in.original
    if isinstance(obj, FunctionType) and obj.__closure__:
        candidates: dict[str, Any] = {}
        for name, cell in zip(obj.__code__.co_freevars, obj.__closure__, strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if value is not obj and _is_function_like(value):
                candidates[name] = value
        for name in _LIKELY_NAMES:
            if name in candidates:
                return candidates[name]
        if candidates:
            return next(iter(candidates.values()))
    func = _static_attr(obj, "func")
    if func is not None and _is_function_like(func):
        return func
    return None


def layers(obj: Any, stop: Callable[[Any], bool] = lambda _: False) -> Iterator[Any]:
    """Yield `obj` and each callable it wraps, outermost first, until `stop` says so."""
    seen: set[int] = set()
    current = obj
    while current is not None and id(current) not in seen and len(seen) < _MAX_DEPTH:
        seen.add(id(current))
        yield current
        if stop(current):
            return
        current = inner_callable(current)


def _is_function_like(value: Any) -> bool:
    return isinstance(value, FunctionType | MethodType) or (
        callable(value) and not isinstance(value, type) and code_of(value) is not None
    )


def _static_attr(obj: Any, name: str) -> Any | None:
    """An attribute read without running properties or `__getattr__`."""
    if type(obj) is FunctionType:  # a plain function's own attributes: nothing to run
        value = obj.__dict__.get(name)
    else:
        try:
            value = inspect.getattr_static(obj, name)
        except AttributeError:
            return None
    if isinstance(value, property | classmethod | staticmethod):
        return None
    return value
