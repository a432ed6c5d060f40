"""Everything flaskscope knows about Werkzeug on its own (Werkzeug 3.1), beneath any framework.

Registration, recorded wherever it happens (Flask's own rules included):

- `Map.add` (`Role.RULE_ADDED`): the rule, its endpoint, methods, strict slashes and
  arguments. The rule is also left in `rule_added`, the context variable adapters of
  frameworks built on Werkzeug read right after their own registration call (Flask's
  `add_url_rule` does). A map filled by app code directly (no other adapter's step open)
  is the app's own: its rules become the trace's routes.
- `Request.application` (`Role.WSGI_APP`): a function `f(request)` made into a whole WSGI
  app; `f` is then caught as the view (`Role.VIEW`) when it runs.

Requests, recorded only while the plain WSGI wrapper (`tracer.frameworks.wsgi.hooks`) runs an
app, so a Flask request never gains a step from here:

- `Request(environ)` creation (the method and path it read),
- `Map.bind` (server name, script name, path, method; reached from `bind_to_environ`),
- `MapAdapter.match` (`Role.MATCH`): the rule and endpoint matched and the view
  arguments, or `NotFound`, `MethodNotAllowed` (the allowed methods) or `RequestRedirect`
  (its target, and whether strict slashes caused it) — the facts Flask's match carries;
- `MapAdapter.dispatch` (`Role.DISPATCH`): the endpoint and the function it maps to;
- the endpoint's function (`Role.VIEW`, caught by code object): Werkzeug keeps no
  endpoint → function table, so it is looked up the way apps do it — the endpoint itself
  when callable, a dict in the app's module mapping endpoints to functions, a function
  named like the endpoint or ``on_<endpoint>`` (in the module or on the app object that
  bound the map);
- `Response(...)` (`Role.MAKE_RESPONSE`), `Response.__call__` (`Role.FINALIZE`, which calls
  `start_response`) and `HTTPException.__call__` (`Role.ERROR_HANDLING`).

Inside a Flask request `MapAdapter.match` stays a plain call step with no facts: Flask's
own `match_request` step carries them.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import FrameType, MethodType
from typing import Any, cast

import werkzeug
import werkzeug.routing
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, MapAdapter, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from tracer.frameworks.hooking import (
    AdapterHooks,
    Facts,
    argument,
    arguments,
    chain_links,
    qualname,
)
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint
from tracer.frameworks.wsgi.hooks import serving
from tracer.model import Role, Route
from tracer.paths import OWN_DIRS
from tracer.recorder import current_request, muted
from tracer.unwrap import code_of

#: The last rule `Map.add` received in this context (None once a reader took it).
rule_added: ContextVar[Rule | None] = ContextVar("flaskscope_rule_added", default=None)

_WERKZEUG_DIR = os.path.dirname(werkzeug.__file__) + os.sep
_APPLICATION_CODES = frozenset(
    const for const in cast(MethodType, Request.application).__func__.__code__.co_consts
    if hasattr(const, "co_qualname") and const.co_name == "application"
)


def available() -> bool:
    """Werkzeug is always there: Flask and flaskscope depend on it."""
    return True


def versions() -> dict[str, str]:
    """The version the trace's `meta` names."""
    from importlib.metadata import version

    return {"werkzeug": version("werkzeug")}


def scope_roots() -> tuple[str, ...]:
    """Werkzeug's directory: traced line by line in line mode."""
    return (os.path.dirname(werkzeug.__file__),)


def owns(app: Any) -> bool:
    """A WSGI app Werkzeug made: `Request.application` or a Werkzeug class's instance."""
    code = code_of(app)
    if code is not None:
        return code in _APPLICATION_CODES or code.co_filename.startswith(_WERKZEUG_DIR)
    module = getattr(type(app), "__module__", "") or ""
    return module == "werkzeug" or module.startswith("werkzeug.")


def rule_facts(rule: Rule) -> Facts:
    """What a rule says, as plain values."""
    return {
        "rule": rule.rule,
        "endpoint": _endpoint_name(rule.endpoint),
        "methods": sorted(rule.methods or ()),
        "strict_slashes": bool(rule.strict_slashes),
        "arguments": sorted(rule.arguments),
    }


def _endpoint_name(endpoint: Any) -> Any:
    if endpoint is None or isinstance(endpoint, str | int | float | bool):
        return endpoint
    return qualname(endpoint)


def _app_frame() -> FrameType | None:
    """The innermost frame of the app's own code (neither Werkzeug's nor flaskscope's)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_WERKZEUG_DIR, *OWN_DIRS)):
            return frame
        frame = frame.f_back
    return None


class _Home:
    """Where an app keeps the functions its endpoints name: module globals, an object."""

    __slots__ = ("namespaces", "instances", "module")

    def __init__(self) -> None:
        self.namespaces: list[dict[str, Any]] = []
        self.instances: list[weakref.ref] = []
        self.module: str | None = None

    def learn(self, frame: FrameType | None) -> None:
        if frame is None:
            return
        namespace = frame.f_globals
        if not any(n is namespace for n in self.namespaces):
            self.namespaces.append(namespace)
        self.module = self.module or namespace.get("__name__")
        instance = frame.f_locals.get("self") if frame.f_code.co_argcount else None
        if instance is not None and not any(r() is instance for r in self.instances):
            try:
                self.instances.append(weakref.ref(instance))
            except TypeError:
                pass

    def function_for(self, endpoint: Any) -> Any | None:
        """The function an endpoint names, found the way Werkzeug apps map them."""
        if callable(endpoint) and not isinstance(endpoint, str):
            return endpoint
        if not isinstance(endpoint, str):
            return None
        for ref in self.instances:
            instance = ref()
            for name in (f"on_{endpoint}", endpoint):
                found = inspect.getattr_static(instance, name, None) if instance else None
                if found is not None and callable(found):
                    return getattr(instance, name)
        for namespace in self.namespaces:
            for name, value in list(namespace.items()):
                try:
                    if name.startswith("__") or not isinstance(value, dict):
                        continue
                    found = value.get(endpoint)
                except Exception:
                    continue
                if callable(found) and not isinstance(found, type):
                    return found
            for name in (f"on_{endpoint}", endpoint):
                found = namespace.get(name)
                if callable(found) and not isinstance(found, type):
                    return found
        return None


class WerkzeugHooks(AdapterHooks):
    """Installs and removes every Werkzeug patch for one recorder."""

    name = "werkzeug"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._homes: weakref.WeakKeyDictionary[Map, _Home] = weakref.WeakKeyDictionary()
        self._direct: ContextVar[bool] = ContextVar("flaskscope_direct_map_add",
                                                    default=False)

    def versions(self) -> dict[str, str]:
        return versions()

    def _install(self) -> None:
        self.patch(Map, "add", Role.RULE_ADDED, describe=self._before_map_add,
                   after=self._after_map_add)
        self.patches.replace(Request, "application", self._application)
        self.patches.replace(MapAdapter, "match", self._match)
        # `Map.bind`, not `bind_to_environ`: the latter warns with stacklevel=2 about server
        # names, and a wrapper frame there would change which module the warning names.
        self.patch(Map, "bind", None, when=self._serving,
                   describe=self._describe_bind, after=self._after_bind)
        self.patch(MapAdapter, "dispatch", Role.DISPATCH, when=self._serving,
                   after=self._after_dispatch)
        self.patch(Request, "__init__", None, when=self._serving, after=self._after_request)
        self.patch(Response, "__init__", Role.MAKE_RESPONSE, when=self._serving,
                   after=self._after_response)
        self.patch(Response, "__call__", Role.FINALIZE, when=self._serving,
                   after=self._after_finalize)
        self.patch(HTTPException, "__call__", Role.ERROR_HANDLING, when=self._serving,
                   describe=_describe_http_exception)

    @staticmethod
    def _serving(*_: Any) -> bool:
        """Whether the plain WSGI wrapper is running an app in this context right now."""
        return serving() is not None and current_request() is not None

    # -- registration ---------------------------------------------------------------------

    def _before_map_add(self, args: tuple, kwargs: dict) -> None:
        """Note whether app code adds the rule directly (no other adapter's step open)."""
        self._direct.set(self.recorder.open_role() is None or self._serving())

    def _after_map_add(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        url_map = args[0]
        rule = argument(args, kwargs, 1, "rulefactory")
        if isinstance(rule, Rule):
            rule_added.set(rule)
            self.recorder.annotate(step, rule_facts(rule))
        if self._direct.get():
            self._adopt(url_map, _app_frame())

    def _adopt(self, url_map: Map, frame: FrameType | None) -> None:
        """Make `url_map` one of the trace's subjects: its rules become routes."""
        home = self._homes.get(url_map)
        if home is None:
            home = self._homes[url_map] = _Home()
        home.learn(frame)
        self.recorder.add_subject(url_map, self.routes_of)

    def _application(self, original: Callable) -> Callable:
        hooks = self
        recorder = self.recorder
        code = code_of(original)

        @functools.wraps(original)
        def application(cls: Any, f: Callable) -> Any:
            if not hooks.active or muted():
                return original(cls, f)
            step = None
            with recorder.guard():
                step = recorder.call(code, recorder.named({"f": f}), role=Role.WSGI_APP,
                                     facts={"view": qualname(f), "request_class": qualname(cls)})
            result = hooks.run_then_leave(step, original, cls, f)
            with recorder.guard():
                recorder.annotate(step, {"wsgi_app": qualname(result)})
                hooks.watch_chain(chain_links(f), Role.LAYER, Role.VIEW)
            return result

        return application

    # -- requests -------------------------------------------------------------------------

    def _describe_bind(self, args: tuple, kwargs: dict) -> Facts:
        return {
            "path": argument(args, kwargs, 6, "path_info") or "/",
            "method": argument(args, kwargs, 5, "default_method") or "GET",
        }

    def _after_bind(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        self._adopt(args[0], _app_frame())
        self.recorder.annotate(step, {
            "server_name": getattr(result, "server_name", None),
            "script_name": getattr(result, "script_name", None),
            "rules": len(list(args[0].iter_rules())),
        })

    def _match(self, original: Callable) -> Callable:
        """`MapAdapter.match`: the MATCH step in a plain WSGI request, a bare call elsewhere."""
        plain = self.traced(original, None)
        hooks = self
        recorder = self.recorder
        code = code_of(original)
        signature = inspect.signature(original)

        @functools.wraps(original)
        def match(*args: Any, **kwargs: Any) -> Any:
            if not hooks.active or muted() or not hooks._serving():
                return plain(*args, **kwargs)
            step = bound = None
            with recorder.guard():
                bound = signature.bind(*args, **kwargs)
                step = recorder.call(code, arguments(recorder, code, args, kwargs),
                                     role=Role.MATCH)
            if bound is None:
                return original(*args, **kwargs)
            wanted_rule = bool(bound.arguments.get("return_rule", False))
            bound.arguments["return_rule"] = True
            try:
                rule, values = original(*bound.args, **bound.kwargs)
            except BaseException as error:
                with recorder.guard():
                    hooks._match_failed(step, args[0], bound, error)
                    recorder.leave(step, error=error)
                raise
            result = (rule, values) if wanted_rule else (rule.endpoint, values)
            with recorder.guard():
                hooks._matched(step, args[0], bound, rule, values)
                recorder.leave(step, result=result)
            return result

        return match

    def _where(self, adapter: MapAdapter, bound: inspect.BoundArguments) -> Facts:
        path = bound.arguments.get("path_info") or adapter.path_info
        method = bound.arguments.get("method") or adapter.default_method
        return {"path": path, "method": str(method).upper()}

    def _matched(self, step: int | None, adapter: MapAdapter, bound: inspect.BoundArguments,
                 rule: Rule, values: Mapping[str, Any]) -> None:
        facts = self._where(adapter, bound)
        view_args = self.recorder.view_args(dict(values))
        endpoint = _endpoint_name(rule.endpoint)
        facts.update(matched=True, rule=rule.rule, endpoint=endpoint, view_args=view_args,
                     methods=sorted(rule.methods or ()))
        view = self._view_for(adapter.map, rule.endpoint)
        if view is not None:
            facts["view"] = qualname(view)
        self.recorder.annotate(step, facts)
        record = current_request()
        if record is not None:
            record.info.update(rule=rule.rule, endpoint=endpoint, view_args=view_args)

    def _match_failed(self, step: int | None, adapter: MapAdapter,
                      bound: inspect.BoundArguments, error: BaseException) -> None:
        facts = self._where(adapter, bound)
        facts["matched"] = False
        info: Facts = {"outcome": "error"}
        if isinstance(error, RequestRedirect):
            path = facts["path"] or "/"
            reason = "strict_slashes" if error.new_url.split("?")[0].endswith(
                path.rstrip("/") + "/") else "redirect"
            facts.update(outcome="redirect", redirect_to=error.new_url, reason=reason,
                         status=error.code)
            info = {"outcome": "redirect", "redirect_to": error.new_url}
        elif isinstance(error, MethodNotAllowed):
            allowed = sorted(error.valid_methods or ())
            facts.update(outcome="method_not_allowed", allowed_methods=allowed, status=405)
            info = {"outcome": "method_not_allowed", "allowed_methods": allowed}
        elif isinstance(error, NotFound):
            facts.update(outcome="not_found", status=404)
            info = {"outcome": "not_found"}
        facts["exception"] = self.recorder.repr(error)
        self.recorder.annotate(step, facts)
        record = current_request()
        if record is not None:
            record.info.update(info)

    def _view_for(self, url_map: Map, endpoint: Any) -> Any | None:
        """The endpoint's function, watched so its call is recorded when it runs."""
        home = self._homes.get(url_map)
        view = home.function_for(endpoint) if home is not None else None
        if view is None and callable(endpoint) and not isinstance(endpoint, str):
            view = endpoint
        if view is not None:
            self.watch_chain(chain_links(view), Role.LAYER, Role.VIEW)
        return view

    def _after_dispatch(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        record = current_request()
        endpoint = record.info.get("endpoint") if record is not None else None
        facts: Facts = {"endpoint": endpoint, "returned": qualname(type(result))}
        view_func = argument(args, kwargs, 1, "view_func")
        if view_func is not None:
            facts["view_func"] = qualname(view_func)
        home = self._homes.get(args[0].map)
        view = home.function_for(endpoint) if home is not None and endpoint else None
        if view is not None:
            facts["view"] = qualname(view)
        if isinstance(result, HTTPException):
            facts["http_exception"] = type(result).__qualname__
        self.recorder.annotate(step, facts)

    def _after_request(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        request = args[0]
        self.recorder.annotate(step, {
            "request_class": qualname(type(request)),
            "method": getattr(request, "method", None),
            "path": getattr(request, "path", None),
        })

    def _after_response(self, step: int | None, args: tuple, kwargs: dict,
                        result: Any) -> None:
        response = args[0]
        body = argument(args, kwargs, 1, "response")
        self.recorder.annotate(step, {
            "from_type": type(body).__name__,
            "status": getattr(response, "status_code", None),
            "mimetype": getattr(response, "mimetype", None),
        })

    def _after_finalize(self, step: int | None, args: tuple, kwargs: dict,
                        result: Any) -> None:
        self.recorder.annotate(step, {"status": getattr(args[0], "status_code", None)})

    # -- routes ---------------------------------------------------------------------------

    def routes_of(self, url_map: Map) -> list[Route]:
        """The rules of a map the app built itself, each with its endpoint's function."""
        home = self._homes.get(url_map)
        routes = []
        for rule in rules_by_endpoint(url_map):
            view = home.function_for(rule.endpoint) if home is not None else None
            methods = tuple(sorted(rule.methods or ()))
            automatic = ("HEAD",) if "HEAD" in methods and "GET" in methods else ()
            redirect = rule.redirect_to if isinstance(rule.redirect_to, str) else None
            routes.append(Route(
                rule=rule.rule,
                endpoint=str(_endpoint_name(rule.endpoint)),
                methods=methods,
                blueprint=None,
                chain=tuple(link for _, link in chain_links(view)) if view else (),
                automatic_methods=automatic,
                app=home.module if home is not None else None,
                strict_slashes=bool(rule.strict_slashes),
                redirect_to=redirect,
            ))
        return routes


def _describe_http_exception(args: tuple, kwargs: dict) -> Facts:
    error = args[0]
    return {
        "exception": type(error).__qualname__,
        "http": True,
        "code": getattr(error, "code", None),
    }
