"""Which lines of Flask's own functions are recorded as they run, in hook mode.

`flaskscope explain --source` quotes statements of Flask's source (`source_lines`), and
must quote only those that ran. Line tracing records every line; hook mode records just
these: in every function of the Flask modules below (nested ones included, as the `view`
`as_view` defines), the lines containing one of the quoted statements. The watcher turns
every other line of those functions off at its first event, so the cost is a few events
per hooked call.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import linecache
from collections.abc import Iterator
from types import CodeType, FunctionType, ModuleType

from tracer.frameworks.flask import anatomy, source_lines
from tracer.unwrap import is_stand_in


def needles() -> tuple[str, ...]:
    """Every statement text `source_lines` quotes (a signal's `send` by its common part)."""
    found: list[str] = []
    for name, value in vars(source_lines).items():
        if name.isupper() and isinstance(value, tuple):
            found.extend(text for text in value if isinstance(text, str))
    found.append(".send(")
    return tuple(dict.fromkeys(found))


@functools.cache
def quotable_lines() -> dict[CodeType, frozenset[int]]:
    """Code object -> its lines that contain a quoted statement, for every Flask function
    that has one (read once: Flask's functions do not change while it is imported)."""
    wanted = needles()
    found: dict[CodeType, frozenset[int]] = {}
    for code in _codes():
        lines = frozenset(line for line in _line_numbers(code)
                          if any(text in linecache.getline(code.co_filename, line)
                                 for text in wanted))
        if lines:
            found[code] = lines
    return found


def _codes() -> Iterator[CodeType]:
    seen: set[int] = set()
    for name in anatomy.QUOTED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for function in _functions(module):
            for code in _nested(function.__code__):
                if id(code) not in seen:
                    seen.add(id(code))
                    yield code


def _functions(module: ModuleType) -> Iterator[FunctionType]:
    """Functions defined in `module`, at module level and in its classes (unwrapped)."""
    for value in vars(module).values():
        # `type()`, not `isinstance`: a module global may be a proxy (`current_app`).
        is_class = issubclass(type(value), type)
        if is_class and value.__module__ != module.__name__:
            continue
        for member in (vars(value).values() if is_class else (value,)):
            if type(member) in (classmethod, staticmethod):
                member = member.__func__
            elif type(member) is property:
                member = member.fget
            if type(member) is not FunctionType and not is_stand_in(member):
                continue
            for layer in (member, inspect.unwrap(member)):
                if isinstance(layer, FunctionType) and layer.__module__ == module.__name__:
                    yield layer


def _nested(code: CodeType) -> Iterator[CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _nested(constant)


def _line_numbers(code: CodeType) -> set[int]:
    return {line for _, _, line in code.co_lines() if line is not None}
