"""What flaskscope knows of web.py's internals (web.py 0.40 to 0.76): its URL mapping and how a
request finds the class that handles it.

Registration: `application(mapping, fvars)` keeps `mapping` as (regex, class name) pairs
(`init_mapping`) and `add_mapping` appends one; each pair is a route, its endpoint the
class (named, and found in `fvars` when a request comes). Requests run inside the plain
WSGI recorder (`tracer.frameworks.wsgi`, which begins the request record around the
app): `application._match(mapping, path)` tries each regex in order (`Role.MATCH`: the
rule, the class, the groups passed as arguments, or no match), `application._delegate`
(`Role.DISPATCH`) looks the handler up by reflection, as Flask's `MethodView` does:
`getattr(cls(), web.ctx.method)`, HEAD falling back to GET, `web.nomethod` (405, `Allow`
naming the methods the class has) when the class has neither; the handler method it
calls is a step of its own (`Role.HANDLER`), and each decorator on that method a layer
around it (`Role.LAYER`).

With `web.config.debug` on (web.py's default), `application.__init__` turns on its
reloader: `reload_mapping` imports the app's module again and calls `init_mapping` once
more at start-up, then before every request, as a load hook. Those calls are recorded with
`reloaded` among their facts, so they are not told as a second mapping.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import sys
from types import FrameType
from typing import Any

from tracer.frameworks import active_hooks
from tracer.frameworks.hooking import AdapterHooks, Facts, argument, link, qualname
from tracer.frameworks.wsgi.hooks import serving
from tracer.model import ChainKind, ChainLink, Role, Route
from tracer.recorder import current_request
from tracer.unwrap import code_of, layers

#: flaskscope's own directory: its frames are skipped when looking for who called.
_OWN_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep

#: The HTTP methods web.py dispatches to (a handler class defines them by these names).
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
#: The methods `web.nomethod` names in a 405's `Allow` header, when the class has them.
_ALLOW_LISTED = ("GET", "HEAD", "POST", "PUT", "DELETE")
#: The function of web.py's `application.__init__` that re-reads the mapping.
_RELOADER = "reload_mapping"


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
        self.patches.replace(application, "wsgifunc", self._recording_wsgifunc)
        self.patch(application, "init_mapping", Role.ADD_URL_RULE,
                   describe=_describe_mapping, after=self._mapping_kept)
        self.patch(application, "add_mapping", Role.ADD_URL_RULE,
                   describe=_describe_add_mapping, after=self._pair_added)
        self.patch(application, "_match", Role.MATCH, when=_serving,
                   describe=_describe_match, after=self._after_match)
        self.patch(application, "_delegate", Role.DISPATCH, when=_serving,
                   describe=_describe_delegate, enter=self._note_lookup,
                   on_error=self._delegate_failed)

    def _recording_wsgifunc(self, original: Any) -> Any:
        """`wsgifunc()` handing back its WSGI function inside the plain WSGI recorder, so a
        web.py app records wherever it is served from (its own `app.request()` in tests,
        `app.run()`), not only when flaskscope loads it. Inside a request already recorded
        (flaskscope's own loading wraps the same function) the recorder passes through."""
        hooks = self

        @functools.wraps(original)
        def wsgifunc(app: Any, *middleware: Any) -> Any:
            made = original(app, *middleware)
            wsgi = active_hooks("wsgi")
            if not hooks.active or wsgi is None:
                return made
            return wsgi.wrap(made, "webpy")

        return wsgifunc

    # -- registration ---------------------------------------------------------------------

    def _mapping_kept(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        """The app's mapping is a subject of the trace: its pairs become routes. Where each
        pair went is noted once, not again for each of the reloader's copies."""
        app = args[0]
        self.recorder.add_subject(app, self.routes_of)
        if not _called_by_reloader():
            for index in range(len(getattr(app, "mapping", ()))):
                self._note_pair(app, index, "application.init_mapping")

    def _pair_added(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        app = args[0]
        self.recorder.add_subject(app, self.routes_of)
        self._note_pair(app, len(getattr(app, "mapping", ())) - 1, "application.add_mapping")

    def _note_pair(self, app: Any, index: int, by: str) -> None:
        """`Role.RULE_ADDED`: the pair at `app.mapping[index]`; web.py matches any method
        there and keeps the class's name, found among the app's globals at each request."""
        try:
            pattern, what = app.mapping[index]
        except (IndexError, TypeError, ValueError):
            return
        self.recorder.note(Role.RULE_ADDED, by, {
            "rule": str(pattern), "endpoint": _endpoint(what), "methods": [],
            "stored_in": f"app.mapping[{index}]", "index": index,
            "storage": "ordered",  # the pairs are tried in order
            "target": _endpoint(what), "target_is_name": isinstance(what, str)})

    def routes_of(self, app: Any) -> list[Route]:
        """One route per (regex, class) pair, in the order web.py tries them."""
        routes = []
        for pattern, what in list(getattr(app, "mapping", ())):
            handler = _handler_class(app, what)
            methods = tuple(m for m in _METHODS if handler is not None and hasattr(handler, m))
            chain = () if handler is None else (
                _link(handler, "view_class", handler.__name__),
                *(each for method in methods
                  for each in _method_links(getattr(handler, method), method)))
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
        """Catch the call of whichever of the class's methods `_delegate` picks, and of
        each decorator layer around it."""
        for method in _METHODS:
            found = getattr(handler, method, None)
            wrapped = list(layers(found)) if found is not None else []
            for index, each in enumerate(wrapped):
                code = code_of(each)
                if code is not None:
                    role = Role.HANDLER if index == len(wrapped) - 1 else Role.LAYER
                    self.watcher.watch(code, role)

    def _note_lookup(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """`Role.HANDLER_LOOKUP`, as `handle_class` will do it: `hasattr(cls, method)`,
        HEAD falling back to GET, then `getattr(cls(), method)` or `web.nomethod`."""
        what = argument(args, kwargs, 1, "f")
        handler = _handler_class(argument(args, kwargs, 2, "fvars"), what)
        method = str(getattr(_web().ctx, "method", "") or "")
        if handler is None or not method:
            return
        found = hasattr(handler, method)
        used = "GET" if method == "HEAD" and not found else method
        attribute = getattr(handler, used, None)
        self.recorder.note(Role.HANDLER_LOOKUP, "getattr", {
            "method": method, "tried": method, "found": found,
            "fallback": used if used != method else None,
            "handler": getattr(attribute, "__qualname__", None) if attribute else None,
            **({} if attribute is not None else {"error": "web.nomethod(cls): 405"}),
        })

    def _delegate_failed(self, step: int | None, args: tuple, kwargs: dict,
                         error: BaseException) -> None:
        """`web.nomethod`: the 405 and the methods its `Allow` header names."""
        nomethod = getattr(_web(), "NoMethod", None)
        if nomethod is None or not isinstance(error, nomethod):
            return
        handler = _handler_class(argument(args, kwargs, 2, "fvars"),
                                 argument(args, kwargs, 1, "f"))
        allowed = [m for m in _ALLOW_LISTED if handler is not None and hasattr(handler, m)]
        self.recorder.annotate(step, {"outcome": "method_not_allowed", "status": 405,
                                      "allowed_methods": allowed})
        record = current_request()
        if record is not None:
            record.info.update(outcome="method_not_allowed")


def _serving(*_: Any) -> bool:
    """Inside a request the plain WSGI recorder runs (web.py's own `_match` calls from
    outside a request, as its sub-applications' set-up, are no steps)."""
    return serving() is not None and current_request() is not None


def _handler_class(app_or_fvars: Any, what: Any) -> type | None:
    """The class a mapping entry names, as `_delegate` finds it (no import is made), in
    an app's `fvars` or in the `fvars` dict itself."""
    if inspect.isclass(what):
        return what
    if isinstance(what, str) and not what.startswith("redirect ") and "." not in what:
        fvars = app_or_fvars if isinstance(app_or_fvars, dict) else getattr(
            app_or_fvars, "fvars", {})
        found = fvars.get(what) if isinstance(fvars, dict) else None
        return found if inspect.isclass(found) else None
    return None


def _method_links(method: Any, name: str) -> list[ChainLink]:
    """A handler method's links: each decorator on it, outermost first, then the method
    its author wrote (named after the HTTP method it answers)."""
    wrapped = list(layers(method))
    found = [link(each, "decorator") for each in wrapped[:-1]]
    return [*found, _link(wrapped[-1], "method", name)]


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
    facts: Facts = {"rules": [str(pattern) for pattern, _ in pairs],
                    "endpoints": [_endpoint(what) for _, what in pairs]}
    if _called_by_reloader():
        facts["reloaded"] = True
    return facts


def _called_by_reloader() -> bool:
    """Whether web.py's own `reload_mapping` (its debug-mode reloader) made this call: the
    first frame outside flaskscope is that function, in web.py's `application` module."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_ROOT):
        frame = frame.f_back
    return frame is not None and frame.f_code.co_name == _RELOADER and (
        frame.f_globals.get("__name__") == "web.application")


def _describe_add_mapping(args: tuple, kwargs: dict) -> Facts:
    return {"rule": str(argument(args, kwargs, 1, "pattern")),
            "endpoint": _endpoint(argument(args, kwargs, 2, "classname"))}


def _describe_match(args: tuple, kwargs: dict) -> Facts:
    return {"rules": len(argument(args, kwargs, 1, "mapping") or ())}


def _describe_delegate(args: tuple, kwargs: dict) -> Facts:
    """The class, and the method `handle_class` will look up: the request's, or GET for a
    HEAD the class has no `HEAD` for."""
    what = argument(args, kwargs, 1, "f")
    if what is None:
        return {}
    facts: Facts = {"endpoint": _endpoint(what)}
    handler = _handler_class(argument(args, kwargs, 2, "fvars"), what)
    method = str(getattr(_web().ctx, "method", "") or "")
    if handler is not None and method:
        looked_up = "GET" if method == "HEAD" and not hasattr(handler, "HEAD") else method
        facts.update(method=method, looked_up=looked_up)
    return facts
