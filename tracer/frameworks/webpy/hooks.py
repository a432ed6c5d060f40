"""What flaskscope knows of web.py's internals (web.py 0.62+): its URL mapping and how a
request finds the class that handles it.

Registration: `application(mapping, fvars)` keeps `mapping` as (regex, class name) pairs
(`init_mapping`) and `add_mapping` appends one; each pair is a route, its endpoint the
class (named, and found in `fvars` when a request comes). Requests run inside the plain
WSGI recorder (`tracer.frameworks.wsgi`, which begins the request record around the
app): `application._match(mapping, path)` tries each regex in order (`Role.MATCH`: the
rule, the class, the groups passed as arguments, or no match), `application._delegate`
(`Role.DISPATCH`) looks the handler up by reflection, as Flask's `MethodView` does:
`getattr(cls(), web.ctx.method)`, HEAD falling back to GET, `web.nomethod` (405) when the
class has neither; the handler method it calls is a step of its own (`Role.HANDLER`).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from typing import Any

from tracer.frameworks.hooking import AdapterHooks, Facts, argument, qualname
from tracer.frameworks.wsgi.hooks import serving
from tracer.model import ChainKind, ChainLink, Role, Route
from tracer.recorder import current_request
from tracer.unwrap import code_of

#: The HTTP methods web.py dispatches to (a handler class defines them by these names).
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


def available() -> bool:
    """web.py is not a dependency: recorded only when it is installed."""
    return "web" in sys.modules or importlib.util.find_spec("web") is not None


def _web() -> Any:
    import web

    return web


def versions() -> dict[str, str]:
    """The version the trace's `meta` names."""
    return {"web.py": str(getattr(_web(), "__version__", "?"))}


def scope_roots() -> tuple[str, ...]:
    """web.py's directory: traced line by line in line mode."""
    return (os.path.dirname(_web().__file__),)


def owns(app: Any) -> bool:
    """A web.py application object, or the WSGI function its `wsgifunc()` made."""
    web = sys.modules.get("web")
    application = getattr(web, "application", None)
    if not isinstance(application, type):
        return False
    if isinstance(app, application):
        return True
    code = code_of(app)
    made = code_of(vars(application).get("wsgifunc"))
    return code is not None and made is not None and code in made.co_consts


def wsgi_callable(app: Any) -> Any:
    """What a server calls: an application object's `wsgifunc()` (it is no WSGI callable
    itself); the function it made, as it is."""
    return app.wsgifunc() if owns(app) and not callable(app) else app


class WebpyHooks(AdapterHooks):
    """Installs and removes every web.py patch for one recorder."""

    name = "webpy"

    def versions(self) -> dict[str, str]:
        return versions()

    def _install(self) -> None:
        application = _web().application
        self.patch(application, "init_mapping", Role.ADD_URL_RULE,
                   describe=_describe_mapping, after=self._adopt)
        self.patch(application, "add_mapping", Role.ADD_URL_RULE,
                   describe=_describe_add_mapping, after=self._adopt)
        self.patch(application, "_match", Role.MATCH, when=_serving,
                   describe=_describe_match, after=self._after_match)
        self.patch(application, "_delegate", Role.DISPATCH, when=_serving,
                   describe=_describe_delegate)

    # -- registration ---------------------------------------------------------------------

    def _adopt(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        """The app's mapping is a subject of the trace: its pairs become routes."""
        self.recorder.add_subject(args[0], self.routes_of)

    def routes_of(self, app: Any) -> list[Route]:
        """One route per (regex, class) pair, in the order web.py tries them."""
        routes = []
        for pattern, what in list(getattr(app, "mapping", ())):
            handler = _handler_class(app, what)
            methods = tuple(m for m in _METHODS if handler is not None and hasattr(handler, m))
            chain = () if handler is None else (
                _link(handler, "view_class", handler.__name__),
                *(_link(getattr(handler, method), "method", method) for method in methods))
            routes.append(Route(rule=str(pattern), endpoint=_endpoint(what),
                                methods=methods, blueprint=None, chain=chain,
                                app=getattr(app, "fvars", {}).get("__name__")))
        return routes

    # -- requests -------------------------------------------------------------------------

    def _after_match(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        what, groups = result if isinstance(result, tuple) else (None, None)
        app = args[0]
        path = argument(args, kwargs, 2, "value")
        facts: Facts = {"path": path, "matched": what is not None}
        record = current_request()
        if what is None:
            facts.update(outcome="not_found", status=404)
            if record is not None:
                record.info.update(outcome="not_found")
        else:
            rule = next((str(pattern) for pattern, each in getattr(app, "mapping", ())
                         if each is what or each == what), None)
            view_args = self.recorder.view_args(
                {str(number): value for number, value in enumerate(groups or (), 1)})
            facts.update(rule=rule, endpoint=_endpoint(what), view_args=view_args)
            handler = _handler_class(app, what)
            if handler is not None:
                self._watch_handlers(handler)
            if record is not None:
                record.info.update(rule=rule, endpoint=_endpoint(what), view_args=view_args)
        self.recorder.annotate(step, facts)

    def _watch_handlers(self, handler: type) -> None:
        """Catch the call of whichever of the class's methods `_delegate` picks."""
        for method in _METHODS:
            code = code_of(vars(handler).get(method))
            if code is not None:
                self.watcher.watch(code, Role.HANDLER)


def _serving(*_: Any) -> bool:
    """Inside a request the plain WSGI recorder runs (web.py's own `_match` calls from
    outside a request, as its sub-applications' set-up, are no steps)."""
    return serving() is not None and current_request() is not None


def _handler_class(app: Any, what: Any) -> type | None:
    """The class a mapping entry names, as `_delegate` finds it (no import is made)."""
    if inspect.isclass(what):
        return what
    if isinstance(what, str) and not what.startswith("redirect ") and "." not in what:
        found = getattr(app, "fvars", {}).get(what)
        return found if inspect.isclass(found) else None
    return None


def _endpoint(what: Any) -> str:
    return what if isinstance(what, str) else qualname(what)


def _link(obj: Any, kind: ChainKind, name: str) -> ChainLink:
    """A link of a route's chain: the handler class, or one of its methods."""
    code = code_of(obj) if kind == "method" else None
    file = code.co_filename if code else inspect.getsourcefile(obj) if kind == "view_class" \
        else None
    line = code.co_firstlineno if code else _class_line(obj) if kind == "view_class" else None
    return ChainLink(kind=kind, name=name, qualname=qualname(obj), file=file, line=line)


def _class_line(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def _describe_mapping(args: tuple, kwargs: dict) -> Facts:
    mapping = argument(args, kwargs, 1, "mapping") or ()
    pairs = list(zip(mapping[::2], mapping[1::2], strict=False))
    return {"rules": [str(pattern) for pattern, _ in pairs],
            "endpoints": [_endpoint(what) for _, what in pairs]}


def _describe_add_mapping(args: tuple, kwargs: dict) -> Facts:
    return {"rule": str(argument(args, kwargs, 1, "pattern")),
            "endpoint": _endpoint(argument(args, kwargs, 2, "classname"))}


def _describe_match(args: tuple, kwargs: dict) -> Facts:
    return {"rules": len(argument(args, kwargs, 1, "mapping") or ())}


def _describe_delegate(args: tuple, kwargs: dict) -> Facts:
    what = argument(args, kwargs, 1, "f")
    return {} if what is None else {"endpoint": _endpoint(what)}
