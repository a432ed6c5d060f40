"""What a Tornado rule is, read from the objects Tornado keeps (nothing is called): its
regex as compiled (a `$` added), its endpoint (the rule's `name`, else the handler class's),
the methods the handler class defines and the decorators on each, and the order
`find_handler` tries the rules in (a host's rules before the wildcard router's)."""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
import sys
from typing import Any

from tracer.frameworks.hooking import link, qualname
from tracer.model import ChainKind, ChainLink
from tracer.unwrap import code_of, layers

#: The request methods a handler class answers by defining a method of that name, lowered.
METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")


def _web() -> Any:
    import tornado.web

    return tornado.web


def app_router(router: Any) -> bool:
    """An application's router (`_ApplicationRouter`), not any other `RuleRouter`."""
    web = sys.modules.get("tornado.web")
    router_class = getattr(web, "_ApplicationRouter", None)
    return isinstance(router_class, type) and isinstance(router, router_class)


def rules_of(app: Any) -> list[Any]:
    """The rules whose target is a handler class, in the order `find_handler` tries them."""
    found: list[Any] = []

    def walk(router: Any) -> None:
        for rule in list(getattr(router, "rules", ())):
            if app_router(rule.target):
                walk(rule.target)
            elif inspect.isclass(rule.target) and pattern(rule) is not None:
                found.append(rule)

    walk(getattr(app, "default_router", None))
    return found


def pattern(rule: Any) -> str | None:
    """The regex of a rule's `PathMatches`, as compiled; None for any other matcher (a
    host's, or Tornado's catch-all `AnyMatches`)."""
    compiled = getattr(getattr(rule, "matcher", None), "regex", None)
    text = getattr(compiled, "pattern", None)
    if text is None or type(rule.matcher).__name__ != "PathMatches":
        return None
    return str(text)


def endpoint(rule: Any) -> str:
    """A rule's `name` (what `reverse_url` takes), else its handler class's name."""
    return str(rule.name) if rule.name else class_name(rule.target) or "?"


def class_name(cls: Any) -> str | None:
    """A handler class's qualified name (None for anything else)."""
    return cls.__qualname__ if inspect.isclass(cls) else None


def router_name(router: Any) -> str:
    """The application's `wildcard_router` (the one `Application.__init__` is making, when
    it has none yet), or the router `add_handlers` made for a host."""
    app = getattr(router, "application", None)
    return "app.wildcard_router" if getattr(app, "wildcard_router", router) is router else (
        "a host's router")


def defines(cls: type, attribute: str) -> bool:
    """Whether the class (or a base of its own) defines the method `_execute` looks up,
    rather than inheriting `RequestHandler`'s `_unimplemented_method`."""
    found = getattr(cls, attribute, None)
    base = getattr(_web().RequestHandler, attribute, None)
    return found is not None and found is not base


def defined_methods(cls: Any) -> tuple[str, ...]:
    if not inspect.isclass(cls):
        return ()
    return tuple(m for m in METHODS if defines(cls, m.lower()))


def method_links(method: Any, name: str) -> list[ChainLink]:
    """A handler method's links: each decorator on it, outermost first, then the method
    its author wrote (named after the request method it answers)."""
    wrapped = list(layers(method))
    found = [link(each, "decorator") for each in wrapped[:-1]]
    return [*found, link_of(wrapped[-1], "method", name)]


def link_of(obj: Any, kind: ChainKind, name: str) -> ChainLink:
    """A link of a route's chain: the handler class, or one of its methods."""
    code = code_of(obj) if kind == "method" else None
    file = code.co_filename if code else _source_file(obj) if kind == "view_class" else None
    line = code.co_firstlineno if code else _class_line(obj) if kind == "view_class" else None
    return ChainLink(kind=kind, name=name, qualname=qualname(obj), file=file, line=line)


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:
        return None


def _class_line(cls: type) -> int | None:
    """Where the class statement is: found by qualified name in its file, parsed once per
    file (`inspect.getsourcelines` parses the whole file again for every class)."""
    file = _source_file(cls)
    return _class_lines(file).get(cls.__qualname__) if file else None


@functools.lru_cache(maxsize=64)
def _class_lines(file: str) -> dict[str, int]:
    """Qualified name → first line (its first decorator's) of every class in a file."""
    try:
        tree = ast.parse("".join(linecache.getlines(file)))
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, int] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = prefix + child.name
                lines = [d.lineno for d in child.decorator_list] + [child.lineno]
                found.setdefault(name, min(lines))
                walk(child, name + ".")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(child, f"{prefix}{child.name}.<locals>.")
            else:
                walk(child, prefix)

    walk(tree, "")
    return found
