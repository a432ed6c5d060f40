"""Decorators written above the route decorator, found on the live app.

`@decorator` above `@app.route` wraps what `route` returned: the function it had already
registered. The module ends up with the wrapper, `view_functions` with the bare view, and
no request runs the decorator. Python's own objects say so: a module name bound to a
wrapper around a registered view that is not registered itself. `flaskscope check` reports
it from here, and the trace records it with the endpoint's routes (`decorators_of`), so
that the request narrative, which reads only the trace, can say the decorator did not run.
"""

from __future__ import annotations

import linecache
import re
import sys
from dataclasses import dataclass
from types import CodeType, ModuleType
from typing import Any

from flask import Flask

from tracer.frameworks.hooking import qualname
from tracer.frameworks.narration.steps import maker
from tracer.model import DecoratorAboveRoute
from tracer.unwrap import code_of, layers

#: A decorator block is read down to its `def`, but never further than this many lines.
_MAX_DECORATOR_LINES = 200
_DEF = re.compile(r"\s*(?:async\s+)?def\b")
_DECORATOR = re.compile(r"\s*@")


@dataclass(frozen=True, slots=True)
class WrappedAboveRoute:
    """A module name bound to wrappers around a registered view.

    Attributes:
        name: the module's name for the outermost wrapper (the view's own name).
        endpoint: the endpoint the view is registered under.
        wrappers: the wrappers no request runs, outermost first.
        view: the function the route registered.
    """

    name: str
    endpoint: str
    wrappers: tuple[Any, ...]
    view: Any


def wrapped_above_route(app: Flask) -> list[WrappedAboveRoute]:
    """Every module name of the app's view modules bound to a wrapper around a registered
    view that is not itself registered, one per view."""
    registered = {id(view): endpoint for endpoint, view in app.view_functions.items()}
    found = []
    seen: set[int] = set()
    for module in _view_modules(app):
        for name, obj in list(vars(module).items()):
            if id(obj) in registered or isinstance(obj, type) or not callable(obj):
                continue
            chain = list(layers(obj))
            for index, inner in enumerate(chain[1:], start=1):
                endpoint = registered.get(id(inner))
                if endpoint is None or id(inner) in seen:
                    continue
                seen.add(id(inner))
                found.append(WrappedAboveRoute(name, endpoint, tuple(chain[:index]), inner))
                break
    return found


def decorator_name(wrapper: Any) -> str:
    """The decorator that made `wrapper`: `login_required.<locals>.guarded` →
    `login_required` (the wrapper's own name when it was not made inside a function)."""
    name = qualname(wrapper)
    return maker(name) or name


def decorators_of(found: WrappedAboveRoute) -> tuple[DecoratorAboveRoute, ...]:
    """The trace's record of each wrapper, with the line its `@decorator` is written on."""
    code = code_of(found.view)
    lines = _decorator_lines(code) if code is not None else []
    records = []
    taken: set[int] = set()
    for position, wrapper in enumerate(found.wrappers):
        decorator = decorator_name(wrapper)
        line = _written_at(decorator, position, lines, taken)
        if line is not None:
            taken.add(line)
        records.append(DecoratorAboveRoute(
            decorator=decorator,
            qualname=qualname(wrapper),
            file=code.co_filename if code is not None else None,
            line=line if line is not None else (code.co_firstlineno if code else None),
        ))
    return tuple(records)


def decorators_above_route(app: Flask) -> dict[str, tuple[DecoratorAboveRoute, ...]]:
    """The trace's records of the decorators above each endpoint's route, by endpoint."""
    return {found.endpoint: decorators_of(found) for found in wrapped_above_route(app)}


class AboveRouteMemo:
    """`decorators_above_route` of one app, worked out again only when what it reads
    changed: the registered views, the names and objects of the view modules, the source
    lines it quoted. A live server builds a trace for every few requests it writes, and
    reading every name of the app's modules each time cost more than the rest of the
    routes together.

    Objects are compared by identity (`id`), never by `==` (an app's objects may compare
    in any way); the memo holds them, so no id is taken by another object meanwhile (not
    the app itself: the answer depends only on what it reads, whichever app it is). What
    each object wraps (`__wrapped__`) is taken to stay what it was made with.
    """

    def __init__(self) -> None:
        #: (key, answer, the objects read): one tuple, replaced whole, so that two threads
        #: building traces at once never pair one answer with another's key.
        self._last: tuple[tuple[Any, ...] | None, dict[str, tuple[DecoratorAboveRoute, ...]],
                          tuple[Any, ...]] = (None, {}, ())

    def __call__(self, app: Flask) -> dict[str, tuple[DecoratorAboveRoute, ...]]:
        last_key, last_answer, _ = self._last
        if self._reads(app, last_answer)[1] == last_key:
            return last_answer
        answer = decorators_above_route(app)
        held, key = self._reads(app, answer)
        self._last = (key, answer, held)
        return answer

    @staticmethod
    def _reads(app: Flask, answer: dict[str, tuple[DecoratorAboveRoute, ...]]
               ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(the objects read, their identities): the views, each view module's names and
        objects, and the `linecache` entry of each file `answer` quotes."""
        views = tuple(app.view_functions.items())
        modules = tuple(_view_modules(app))
        namespaces = tuple(tuple(vars(module).items()) for module in modules)
        files = sorted({above.file for found in answer.values() for above in found
                        if above.file})
        sources = tuple(linecache.cache.get(file) for file in files)
        held = (views, modules, namespaces, sources)
        key = (tuple(endpoint for endpoint, _ in views),
               tuple(id(view) for _, view in views), tuple(map(id, modules)),
               tuple(tuple(name for name, _ in namespace) for namespace in namespaces),
               tuple(tuple(id(value) for _, value in namespace) for namespace in namespaces),
               tuple(files), tuple(map(id, sources)))
        return held, key


def _view_modules(app: Flask) -> list[ModuleType]:
    names = {app.import_name}
    names.update(getattr(view, "__module__", None) or "" for view in app.view_functions.values())
    modules = []
    for name in sorted(n for n in names if n):
        module = sys.modules.get(name)
        if module is not None and name.partition(".")[0] not in ("flask", "werkzeug"):
            modules.append(module)
    return modules


def _decorator_lines(code: CodeType) -> list[tuple[int, str]]:
    """(number, text) of each line that starts a decorator of the function, top first:
    its first line is its top decorator's (Python 3.8 on), its `def` ends them."""
    source = linecache.getlines(code.co_filename)
    found = []
    first = code.co_firstlineno
    for number in range(first, min(len(source), first + _MAX_DECORATOR_LINES) + 1):
        text = source[number - 1]
        if _DEF.match(text):
            break
        if _DECORATOR.match(text):
            found.append((number, text))
    return found


def _written_at(decorator: str, position: int, lines: list[tuple[int, str]],
                taken: set[int]) -> int | None:
    """The line `@decorator` is written on: the first decorator line not `taken` that names
    it (`@login_required`, `@auth.login_required`), else the one at its place from the top."""
    named = re.compile(rf"\s*@\s*(?:[\w.]+\.)?{re.escape(decorator.rpartition('.')[2])}\b")
    for number, text in lines:
        if number not in taken and named.match(text):
            return number
    return lines[position][0] if position < len(lines) else None
