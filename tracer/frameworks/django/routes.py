"""Django's URL tree as flaskscope's routes: one `Route` per `URLPattern`, its rule the
route `ResolverMatch.route` gives (the patterns' strings joined, as Django joins them),
its endpoint the `view_name` Django gives it (`namespace:name`, or the view's dotted path
when the pattern has no name), its chain the decorators around the view, outermost first,
and for a class view the class and its handler methods.

Everything here reads the objects Django built; nothing is called that runs app code.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tracer.frameworks.hooking import chain_links, link, qualname
from tracer.model import ChainLink, Route
from tracer.unwrap import code_of, is_stand_in, layers


@dataclass(frozen=True)
class Leaf:
    """One `URLPattern` of the tree and where it is."""

    pattern: Any
    route: str  # the joined route, as `ResolverMatch.route`
    endpoint: str  # as `ResolverMatch.view_name`
    namespaces: tuple[str, ...]
    stored_in: str  # `urlpatterns[2] → include('blog.urls') → urlpatterns[0]`


def join_route(first: str, second: str) -> str:
    """`URLResolver._join_route`: the second route without its leading `^`."""
    if not first:
        return second
    return first + second.removeprefix("^")


def func_path(callback: Any) -> str:
    """`ResolverMatch._func_path`: the view's dotted path (a class view's class)."""
    func = callback.func if isinstance(callback, functools.partial) else callback
    func = getattr(func, "view_class", func)
    module = getattr(func, "__module__", None) or type(func).__module__
    if not hasattr(func, "__name__"):  # an instance (or no view at all, which path() refuses)
        return f"{module}.{type(func).__name__}"
    return f"{module}.{func.__qualname__}"


def view_name(pattern: Any, namespaces: tuple[str, ...]) -> str:
    """`ResolverMatch.view_name` for a pattern reached through `namespaces`."""
    return ":".join([*(n for n in namespaces if n), pattern.name or func_path(pattern.callback)])


def leaves(resolver: Any) -> Iterator[Leaf]:
    """Every `URLPattern` under `resolver`, in the order `resolve` tries them."""
    yield from _walk(resolver, "", (), "urlpatterns", set())


def _walk(resolver: Any, route: str, namespaces: tuple[str, ...], where: str,
          seen: set[int]) -> Iterator[Leaf]:
    if id(resolver) in seen:
        return
    seen.add(id(resolver))
    for index, each in enumerate(resolver.url_patterns):
        here = f"{where}[{index}]"
        if hasattr(each, "url_patterns"):
            conf = each.urlconf_name if isinstance(each.urlconf_name, str) else "[...]"
            yield from _walk(each, join_route(route, str(each.pattern)),
                             (*namespaces, each.namespace or ""),
                             f"{here} → include({conf!r}) → urlpatterns", seen)
        else:
            yield Leaf(each, join_route(route, str(each.pattern)),
                       view_name(each, namespaces), namespaces, here)


def routes_of(resolver: Any, app: str | None = None) -> list[Route]:
    """One route per `URLPattern`, in the order Django tries them."""
    return [Route(rule=leaf.route, endpoint=leaf.endpoint,
                  methods=allowed_methods(leaf.pattern.callback),
                  blueprint=":".join(n for n in leaf.namespaces if n) or None,
                  chain=tuple(chain(leaf.pattern.callback)), app=app)
            for leaf in leaves(resolver)]


def view_class(callback: Any) -> type | None:
    """The class `as_view()` made `callback` for (innermost, through decorators)."""
    for each in layers(callback):
        found = getattr(each, "view_class", None)
        if isinstance(found, type):
            return found
    return None


def allowed_methods(callback: Any) -> tuple[str, ...]:
    """What a class view answers (`View._allowed_methods()` on an instance after `setup()`,
    which adds `head` where there is `get`); () for a function view: any method reaches it."""
    cls = view_class(callback)
    if cls is None:
        return ()
    names = getattr(cls, "http_method_names", ())
    return tuple(m.upper() for m in names
                 if hasattr(cls, m) or (m == "head" and hasattr(cls, "get")))


def outer_pairs(callback: Any) -> list[tuple[Any, ChainLink]]:
    """The URL pattern's callback and the decorators around it, outermost first, down to
    the function `as_view()` made (whose `__wrapped__` points at `dispatch`)."""
    return chain_links(callback, stop=made_by_as_view)


def made_by_as_view(obj: Any) -> bool:
    """The function `as_view()` made (a decorator made with `functools.wraps` copies its
    `view_class` too, so the attribute alone does not tell)."""
    code = code_of(obj)
    return code is not None and code.co_qualname.endswith("as_view.<locals>.view") and (
        hasattr(obj, "view_class"))


def method_decorator_layer(obj: Any) -> bool:
    """The `_wrapper` `method_decorator` puts in a class in place of the method."""
    code = code_of(obj)
    return code is not None and code.co_qualname.startswith("_multi_decorate.")


def djangos_dispatch(obj: Any) -> bool:
    """`View.dispatch` itself (Django's lookup, told by its own step, not a layer)."""
    code = code_of(obj)
    return code is not None and code.co_qualname == "View.dispatch" and (
        code.co_filename.startswith(_django_root()))


def method_pairs(method: Any, name: str) -> list[tuple[Any, ChainLink]]:
    """A class's method and the decorators on it (`method_decorator`'s `_wrapper`),
    outermost first; flaskscope's own stand-ins left out."""
    found = [each for each in layers(method)
             if not is_stand_in(each) and not djangos_dispatch(each)]
    pairs = []
    for index, each in enumerate(found):
        if index == len(found) - 1 and not method_decorator_layer(each):
            pairs.append((each, _method_link(each, name)))
        else:
            pairs.append((each, link(each, "decorator", decorator=_decorator_name(each))))
    return pairs


def chain(callback: Any) -> list[ChainLink]:
    """The route's chain: outer decorators, the view; for a class view the class, then
    `dispatch` when the class decorates or overrides it, then each handler method."""
    found = [each for _, each in outer_pairs(callback)]
    cls = view_class(callback)
    if cls is None:
        return found
    found.append(ChainLink(kind="view_class", name=cls.__name__, qualname=cls.__qualname__,
                           file=_source_file(cls), line=_class_line(cls)))
    dispatch = getattr(cls, "dispatch", None)
    if dispatch is not None and not is_stand_in(dispatch):
        found.extend(each for _, each in method_pairs(dispatch, "dispatch"))
    for name in getattr(cls, "http_method_names", ()):
        method = getattr(cls, name, None)
        if method is None or (name == "options" and _is_django_function(method)):
            continue  # `View.options` answers OPTIONS for every class view
        found.extend(each for _, each in method_pairs(method, name))
    return found


def _method_link(obj: Any, name: str) -> ChainLink:
    made = link(obj, "view")
    return ChainLink(kind="method", name=name, qualname=made.qualname, file=made.file,
                     line=made.line)


def _decorator_name(obj: Any) -> str | None:
    """`method_decorator(login_required)` for the `_wrapper` method_decorator made."""
    if method_decorator_layer(obj):
        closure = dict(zip(obj.__code__.co_freevars, obj.__closure__ or (), strict=False))
        cell = closure.get("decorators")
        decorators = cell.cell_contents if cell is not None else []
        names = ", ".join(getattr(d, "__qualname__", None) or qualname(d)
                          for d in decorators)
        return f"method_decorator({names})"
    return None


def _is_django_function(obj: Any) -> bool:
    code = code_of(obj)
    return code is not None and code.co_filename.startswith(_django_root())


def _django_root() -> str:
    import django

    return os.path.dirname(django.__file__) + os.sep


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return None


def _class_line(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None
