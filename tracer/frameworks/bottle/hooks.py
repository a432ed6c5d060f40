"""Everything flaskscope knows about Bottle's internals (Bottle 0.12 and 0.13).

Bottle is a single module, and apps ship copies of it under other names (pypiserver's
`pypiserver.bottle_wrapper.bottle`). A copy is recognised by what it holds, not by its
name (`copy_version`): it defines the classes `Bottle`, `Router` and `Route` itself (their
`__init__` runs in its globals) with every method patched below, `HTTPError` and
`response`, and its `__version__` is 0.12 or 0.13. Each copy gets its own patches: the
installed `bottle` and every copy already imported when recording starts, and a copy
imported later the moment its module has run (the file loaders' `exec_module`, so before
the app registers a route on it). The trace's `meta` names the installed Bottle's version
as `bottle` and each other copy's as `vendored_bottle[module name]`.

Registration:

- `Bottle.route` (`Role.ROUTE_DECORATOR`; `get/post/put/delete/patch` too) and the
  decorator it returns (`Role.ROUTE_DECORATOR_CALL`): rule(s), method(s), `name`, the
  route's own plugins (`apply`) and the ones it skips;
- `Bottle.add_route` (`Role.ADD_URL_RULE`): one `Route` object per rule and method. Bottle
  has no endpoints: a route is found by rule and method, and its optional `name` only
  serves `get_url`. The facts give the name (`endpoint_given` says whether one was
  given; the trace's endpoint is the name, else the callback's qualified name) and the
  plugins that will wrap the callback, in the order they will be applied. A
  `Role.VIEW_REGISTERED` note says where the route object went (`app.routes[i]`);
- `Router.add` (`Role.RULE_ADDED`): where the router stored it — `router.static[method]`
  for a rule without wildcards, `router.dyna_routes[method]` (a regular expression) for
  one with them — and the wildcard names.

Requests (`Bottle.wsgi` begins the request record, `Role.REQUEST`):

- `start_response` (`Role.START_RESPONSE`, from the plain WSGI adapter);
- `Bottle._handle` (`Role.DISPATCH`): before-request hooks, the match, the call of the
  route's wrapped callback, after-request hooks; facts: the route, its name, the view;
- `Router.match` (`Role.MATCH`): the same facts as Flask's match (matched, rule,
  endpoint, view_args; or not_found, method_not_allowed with the allowed methods);
- `Route._make_callback` (`Role.WRAP_CALLBACK`), run lazily on a route's first request:
  each plugin applied (`Role.PLUGIN`: plugin, position, count, outermost, produced,
  changed) — the first applied is the innermost layer. A route's chain in the trace
  holds these layers only once a request made Bottle build them;
- the layers plugins produced (`Role.LAYER`) and the callback itself (`Role.VIEW`),
  caught by code object, as are before/after-request hook functions and error handlers;
- `Bottle.trigger_hook` for the request hooks (`Role.BEFORE_REQUEST`/`AFTER_REQUEST`),
  `Bottle._cast` (`Role.MAKE_RESPONSE`, with the error handler chosen for an HTTP error,
  `Role.ERROR_HANDLER` note) and `Bottle.default_error_handler` (`Role.ERROR_HANDLER`).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
import sys
import threading
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from types import CodeType, FunctionType, ModuleType
from typing import Any

from tracer.frameworks.hooking import (
    AdapterHooks,
    Facts,
    argument,
    arguments,
    chain_links,
    link,
    qualname,
)
from tracer.frameworks.pending import after_each_module
from tracer.frameworks.wsgi.hooks import (
    begin_wsgi_request,
    body_detail,
    environ_detail,
    recording_start_response,
    settle_outcome,
)
from tracer.model import ChainLink, Role, Route
from tracer.recorder import current_request, muted
from tracer.unwrap import code_of

_SHORTCUTS = ("get", "post", "put", "delete", "patch")
_HOOK_ROLES = {
    "before_request": (Role.BEFORE_REQUEST, Role.BEFORE_REQUEST_FUNCTION),
    "after_request": (Role.AFTER_REQUEST, Role.AFTER_REQUEST_FUNCTION),
}


def available() -> bool:
    """Whether Bottle is installed (`pip install 'flaskscope[bottle]'`)."""
    return "bottle" in sys.modules or importlib.util.find_spec("bottle") is not None


def _installed_bottle() -> ModuleType | None:
    """The installed `bottle` module, imported, if there is one."""
    if not available():
        return None
    import bottle

    return bottle


def versions() -> dict[str, str]:
    """The version of the installed Bottle, for the trace's `meta`."""
    bottle = _installed_bottle()
    return {"bottle": str(bottle.__version__)} if bottle is not None else {}


def scope_roots() -> tuple[str, ...]:
    """Bottle's module file's directory is site-packages: too wide to trace by lines."""
    return ()


#: What a copy of Bottle defines, with the methods this adapter patches on each class.
_COPY_CLASSES = {
    "Bottle": ("route", "get", "post", "put", "delete", "add_route", "add_hook", "wsgi",
               "_handle", "trigger_hook", "_cast", "default_error_handler"),
    "Router": ("add", "match"),
    "Route": ("_make_callback", "all_plugins"),
}
_SUPPORTED_VERSION = re.compile(r"0\.1[23](?!\d)")

#: The loaders that run a module's code from a file, a `.pyc` or a zip archive: a copy of
#: Bottle is adopted as soon as one of them has run it.


def copy_version(module: Any) -> str | None:
    """The version of Bottle that `module` is a copy of (see the module docstring), else
    None; asks only the module's own namespace, so a module's `__getattr__` never runs."""
    namespace = _copy_namespace(module)
    return str(namespace["__version__"]) if namespace is not None else None


def owns(app: Any) -> bool:
    """A Bottle application object, from the installed Bottle or any copy of it."""
    return _app_namespace(app) is not None


def _copy_namespace(module: Any) -> dict[str, Any] | None:
    """The globals of `module` when it is a copy of Bottle."""
    if not isinstance(module, ModuleType):
        return None
    namespace = vars(module)
    return namespace if _is_copy(namespace) else None


def _app_namespace(app: Any) -> dict[str, Any] | None:
    """The globals of the Bottle copy whose `Bottle` class `app` is an instance of."""
    for cls in type(app).__mro__:
        namespace = _defining_globals(cls)
        if namespace is not None and namespace.get("Bottle") is cls and _is_copy(namespace):
            return namespace
    return None


def _is_copy(namespace: dict[str, Any]) -> bool:
    if "Bottle" not in namespace or "Route" not in namespace:
        return False  # the cheap refusal every other module gets
    try:
        version = namespace.get("__version__")
        if not isinstance(version, str) or not _SUPPORTED_VERSION.match(version):
            return False
        if not isinstance(namespace.get("HTTPError"), type) or "response" not in namespace:
            return False
        return all(_defines(namespace, name, methods) for name, methods in _COPY_CLASSES.items())
    except Exception:  # a namespace too strange to ask is no copy of Bottle
        return False


def _defines(namespace: dict[str, Any], name: str, methods: tuple[str, ...]) -> bool:
    """Whether the module made class `name` itself (not imported it) with `methods`."""
    cls = namespace.get(name)
    return (isinstance(cls, type) and _defining_globals(cls) is namespace
            and all(callable(getattr(cls, method, None)) for method in methods))


def _defining_globals(cls: type) -> dict[str, Any] | None:
    """The globals of the module whose code made `cls` (its own `__init__`'s)."""
    init = vars(cls).get("__init__")
    try:
        init = inspect.unwrap(init) if callable(init) else init
    except ValueError:  # a `__wrapped__` cycle
        return None
    return init.__globals__ if isinstance(init, FunctionType) else None


def plugin_name(plugin: Any) -> str:
    """How a plugin is called: its `name` attribute, else its qualified name."""
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    return qualname(plugin if not hasattr(plugin, "apply") else type(plugin))


def _endpoint(route: Any) -> str:
    """The trace's endpoint for a Bottle route: its name, else its callback's name."""
    if route.name:
        return str(route.name)
    return qualname(_innermost(route.callback))


def _innermost(callback: Any) -> Any:
    objects = [obj for obj, _ in chain_links(callback)]
    return objects[-1] if objects else callback


class BottleHooks(AdapterHooks):
    """Installs and removes every Bottle patch for one recorder, on every copy of Bottle."""

    name = "bottle"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._layers: weakref.WeakKeyDictionary[Any, list[tuple[Any, str]]] = (
            weakref.WeakKeyDictionary())
        self._wrapping: ContextVar[list | None] = ContextVar("flaskscope_bottle_wrapping",
                                                             default=None)
        self._make_callback_codes: set[CodeType] = set()
        self._copies: list[dict[str, Any]] = []
        self._adopting = threading.RLock()  # an import while patching adopts again

    def versions(self) -> dict[str, str]:
        return versions()

    def _install(self) -> None:
        _installed_bottle()  # imported now, so that it is patched below like any copy
        for module in list(sys.modules.values()):
            self.adopt(module)
        after_each_module(self.patches, self._module_ran)

    def uninstall(self) -> None:
        super().uninstall()
        with self._adopting:
            self._copies.clear()
            self._make_callback_codes.clear()

    # -- copies of Bottle -----------------------------------------------------------------

    def adopt(self, module: Any) -> bool:
        """Patch `module` if it is a copy of Bottle not patched yet; whether it is a copy."""
        namespace = _copy_namespace(module)
        if namespace is None:
            return False
        self._adopt_namespace(namespace)
        return True

    def adopt_app(self, app: Any) -> None:
        """Record a loaded Bottle app: patch its copy of Bottle (one loaded before recording
        began and never imported again) and list its routes even if it gets no request."""
        namespace = _app_namespace(app)
        if namespace is not None:
            self._adopt_namespace(namespace)
            self.recorder.add_subject(app, self.routes_of)

    def _adopt_namespace(self, namespace: dict[str, Any]) -> None:
        with self._adopting:
            if not self.active or any(known is namespace for known in self._copies):
                return
            self._copies.append(namespace)
            self._patch_copy(namespace)
        self._note_version(namespace)

    def _note_version(self, namespace: dict[str, Any]) -> None:
        """`meta`: the installed Bottle's version as `bottle`, a copy's by its module name."""
        name, version = str(namespace.get("__name__")), str(namespace["__version__"])
        meta = self.recorder.meta
        if name == "bottle":
            meta["bottle"] = version
        else:
            meta["vendored_bottle"] = {**meta.get("vendored_bottle", {}), name: version}

    def _module_ran(self, module: Any) -> None:
        """Patch a module a file loader has just run if it is a Bottle copy."""
        if self.active:
            with self.recorder.guard():
                self.adopt(module)

    def _patch_copy(self, bottle: dict[str, Any]) -> None:
        """Every patch, on one copy's classes (`bottle` is the copy's globals)."""
        app, router, route = bottle["Bottle"], bottle["Router"], bottle["Route"]
        in_request = _in_request
        self.patch(app, "route", Role.ROUTE_DECORATOR, describe=_describe_route,
                   returns=self._proxy_decorator)
        for shortcut in _SHORTCUTS:
            if hasattr(app, shortcut):  # `patch` is new in 0.13
                self.patch(app, shortcut, Role.ROUTE_DECORATOR, describe=_describe_route)
        self.patch(app, "add_route", Role.ADD_URL_RULE, describe=_describe_add_route,
                   after=self._after_add_route)
        self.patch(router, "add", Role.RULE_ADDED, describe=_describe_router_add,
                   after=self._after_router_add)
        self.patch(app, "add_hook", None, describe=_describe_add_hook,
                   after=self._after_add_hook)
        self.patches.replace(route, "_make_callback", self._make_callback)
        self.patches.replace(route, "all_plugins", self._all_plugins)
        self.patches.replace(app, "wsgi", self._wsgi)
        self.patch(app, "_handle", Role.DISPATCH, when=in_request, after=self._after_handle)
        self.patch(router, "match", Role.MATCH, when=in_request, describe=_describe_match,
                   after=self._after_match, on_error=self._match_failed)
        self.patch(app, "trigger_hook", _hook_role, when=_request_hook)
        self.patch(app, "_cast", Role.MAKE_RESPONSE, when=in_request,
                   describe=_describe_cast, enter=functools.partial(self._enter_cast, bottle),
                   after=functools.partial(self._after_cast, bottle))
        self.patch(app, "default_error_handler", Role.ERROR_HANDLER, when=in_request)

    # -- registration ---------------------------------------------------------------------

    def _proxy_decorator(self, decorator: Any) -> Any:
        """The decorator `route` returned, recording its call (name and docs unchanged)."""
        code = code_of(decorator)
        if code is None or code.co_name != "decorator":
            return decorator  # `route(..., callback=f)` returned the callback itself
        hooks = self

        @functools.wraps(decorator)
        def applied(callback: Any) -> Any:
            if not hooks.active or muted():
                return decorator(callback)
            step = None
            with hooks.recorder.guard():
                step = hooks.recorder.call(code, hooks.recorder.named({"callback": callback}),
                                           role=Role.ROUTE_DECORATOR_CALL,
                                           facts={"view": qualname(callback)})
            return hooks.run_then_leave(step, decorator, callback)

        return applied

    def _after_add_route(self, step: int | None, args: tuple, kwargs: dict,
                         result: Any) -> None:
        app, route = args[0], argument(args, kwargs, 1, "route")
        self.recorder.add_subject(app, self.routes_of)
        plugins = [plugin_name(p) for p in route.all_plugins()]
        self.recorder.annotate(step, {
            "endpoint": _endpoint(route),
            "endpoint_given": bool(route.name),
            "name": route.name,
            "methods": [route.method],
            "methods_given": [route.method],
            "methods_source": "argument",
            "automatic_methods": [],
            "plugins": plugins,
            "view": qualname(_innermost(route.callback)),
        })
        index = len(app.routes) - 1
        self.recorder.note(
            Role.VIEW_REGISTERED, "app.routes",
            {"endpoint": _endpoint(route), "view": qualname(_innermost(route.callback)),
             "stored_in": "app.routes", "index": index, "method": route.method,
             "rule": route.rule},
            {f"app.routes[{index}]": self.recorder.repr(route)},
        )
        self.watch_chain(chain_links(route.callback), Role.LAYER, Role.VIEW)

    def _after_router_add(self, step: int | None, args: tuple, kwargs: dict,
                          result: Any) -> None:
        router = args[0]
        rule = argument(args, kwargs, 1, "rule")
        method = argument(args, kwargs, 2, "method")
        builder = router.builder.get(rule) or []
        static = all(key is None for key, _ in builder) and not router.strict_order
        self.recorder.annotate(step, {
            "storage": "static" if static else "dynamic",
            "stored_in": f"router.static[{method!r}]" if static
            else f"router.dyna_routes[{method!r}]",
            "arguments": [key for key, _ in builder if key],
        })

    def _after_add_hook(self, step: int | None, args: tuple, kwargs: dict,
                        result: Any) -> None:
        roles = _HOOK_ROLES.get(argument(args, kwargs, 1, "name"))
        func = argument(args, kwargs, 2, "func")
        code = code_of(func)
        if roles is not None and code is not None:
            self.watcher.watch(code, roles[1])

    def _all_plugins(self, original: Callable) -> Callable:
        """`Route.all_plugins`, whose plugins record their application when
        `_make_callback` (and only it) asks for them while being recorded."""
        hooks = self

        @functools.wraps(original)
        def all_plugins(route: Any) -> Any:
            applied = hooks._wrapping.get()
            plugins = original(route)
            if not hooks.active or applied is None or muted():
                return plugins
            if sys._getframe(1).f_code not in hooks._make_callback_codes:
                return plugins
            return hooks._recording_plugins(list(plugins), applied)

        return all_plugins

    def _recording_plugins(self, plugins: list[Any], applied: list) -> list[Any]:
        count = len(plugins)
        return [
            _ApplyingPlugin(self, plugin, position, count, applied)
            if hasattr(plugin, "apply") else
            _CallingPlugin(self, plugin, position, count, applied)
            for position, plugin in enumerate(plugins)
        ]

    def _make_callback(self, original: Callable) -> Callable:
        hooks = self
        recorder = self.recorder
        code = code_of(original)
        if code is not None:
            self._make_callback_codes.add(code)

        @functools.wraps(original)
        def _make_callback(route: Any) -> Any:
            if not hooks.active or muted():
                return original(route)
            step = None
            with recorder.guard():
                step = recorder.call(code, recorder.named({"route": route}),
                                     role=Role.WRAP_CALLBACK, facts={
                                         "rule": route.rule, "method": route.method,
                                         "endpoint": _endpoint(route),
                                         "view": qualname(_innermost(route.callback)),
                                         "plugins": [plugin_name(p)
                                                     for p in route.all_plugins()]})
            applied: list[tuple[Any, str]] = []
            token = hooks._wrapping.set(applied)
            try:
                result = hooks.run_then_leave(step, original, route)
            finally:
                hooks._wrapping.reset(token)
            with recorder.guard():
                hooks._wrapped(step, route, applied, result)
            return result

        return _make_callback

    def _wrapped(self, step: int | None, route: Any, applied: list[tuple[Any, str]],
                 result: Any) -> None:
        """Remember and watch the layers the plugins made, outermost first."""
        layers_ = list(reversed(applied))
        self._layers[route] = layers_
        for layer, _ in layers_:
            code = code_of(layer)
            if code is not None:
                self.watcher.watch(code, Role.LAYER)
        self.recorder.annotate(step, {
            "layers": [qualname(layer) for layer, _ in layers_],
            "outermost": qualname(result),
        })

    # -- requests -------------------------------------------------------------------------

    def _wsgi(self, original: Callable) -> Callable:
        hooks = self
        recorder = self.recorder
        code = code_of(original)

        @functools.wraps(original)
        def wsgi(app: Any, environ: dict, start_response: Callable) -> Any:
            if not hooks.active or muted() or current_request() is not None:
                return original(app, environ, start_response)
            handle = step = None
            with recorder.guard():
                recorder.add_subject(app, hooks.routes_of)
                handle, info = begin_wsgi_request(recorder, environ, framework="bottle")
                step = recorder.call(code, {**environ_detail(environ, recorder),
                                            **body_detail(handle[0].info)},
                                     role=Role.REQUEST, facts={**info, "framework": "bottle"})
            if handle is None:
                return original(app, environ, start_response)
            recording = recording_start_response(recorder, start_response,
                                                 lambda: hooks.active)
            try:
                with hooks._tracing():
                    result = original(app, environ, recording)
            except BaseException as error:
                with recorder.guard():
                    recorder.leave(step, error=error)
                    handle[0].info.setdefault("error", recorder.repr(error))
                    handle[0].info["outcome"] = "error"
                raise
            else:
                with recorder.guard():
                    recorder.leave(step, result=result,
                                   facts={"status": handle[0].info.get("status")})
                return result
            finally:
                with recorder.guard():
                    settle_outcome(handle[0].info)
                    recorder.end_request(handle)

        return wsgi

    def _tracing(self) -> Any:
        from contextlib import ExitStack

        stack = ExitStack()
        if self.lines is not None:
            stack.enter_context(self.lines.tracing())
        stack.enter_context(self.watcher.catching())
        return stack

    def _after_handle(self, step: int | None, args: tuple, kwargs: dict,
                      result: Any) -> None:
        environ = argument(args, kwargs, 1, "environ")
        route = environ.get("bottle.route")
        facts: Facts = {"returned": qualname(type(result))}
        if route is not None:
            facts.update(endpoint=_endpoint(route), name=route.name, rule=route.rule,
                         view=qualname(_innermost(route.callback)))
        exc_info = environ.get("bottle.exc_info")
        record = current_request()
        if exc_info and record is not None:
            record.info.setdefault("error", self.recorder.repr(exc_info[1]))
            facts["error"] = self.recorder.repr(exc_info[1])
        self.recorder.annotate(step, facts)

    def _after_match(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        route, values = result
        view_args = self.recorder.view_args(dict(values))
        endpoint = _endpoint(route) if hasattr(route, "callback") else qualname(route)
        rule = getattr(route, "rule", None)
        self.recorder.annotate(step, {
            "matched": True, "rule": rule, "endpoint": endpoint, "name": getattr(
                route, "name", None), "view_args": view_args,
            "methods": [getattr(route, "method", None)],
            "view": qualname(_innermost(route.callback)) if hasattr(route, "callback")
            else None,
        })
        record = current_request()
        if record is not None:
            record.info.update(rule=rule, endpoint=endpoint, view_args=view_args)

    def _match_failed(self, step: int | None, args: tuple, kwargs: dict,
                      error: BaseException) -> None:
        code = getattr(error, "status_code", None)
        facts: Facts = {"matched": False, "status": code, "exception": _http_error(error)}
        info: Facts = {"outcome": "error"}
        if code == 404:
            facts["outcome"] = "not_found"
            info = {"outcome": "not_found"}
        elif code == 405:
            allow = ""
            headers = getattr(error, "headers", None)
            if headers is not None:
                allow = headers.get("Allow") or ""
            allowed = sorted(m for m in allow.split(",") if m)
            facts.update(outcome="method_not_allowed", allowed_methods=allowed)
            info = {"outcome": "method_not_allowed", "allowed_methods": allowed}
        self.recorder.annotate(step, facts)
        record = current_request()
        if record is not None:
            record.info.update(info)

    def _enter_cast(self, bottle: dict[str, Any], step: int | None, args: tuple,
                    kwargs: dict) -> None:
        """An HTTP error is about to meet its handler: say which one, catch its call."""
        app, out = args[0], argument(args, kwargs, 1, "out")
        if isinstance(out, bottle["HTTPError"]):
            handler = app.error_handler.get(out.status_code)
            if handler is not None and (code := code_of(handler)) is not None:
                self.watcher.watch(code, Role.ERROR_HANDLER)
            self.recorder.note(Role.ERROR_HANDLER, "error handler", {
                "exception": type(out).__qualname__,
                "code": out.status_code,
                "handler": qualname(handler) if handler is not None
                else "Bottle.default_error_handler",
                "registered": handler is not None,
            })

    def _after_cast(self, bottle: dict[str, Any], step: int | None, args: tuple, kwargs: dict,
                    result: Any) -> None:
        self.recorder.annotate(step, {"status": bottle["response"].status_code})

    # -- routes ---------------------------------------------------------------------------

    def routes_of(self, app: Any) -> list[Route]:
        """Every `Route` object of the app: rule, one method, the layers around its callback."""
        routes = []
        for route in app.routes:
            chain: list[ChainLink] = [
                link(layer, "decorator", origin="plugins", decorator=name)
                for layer, name in self._layers.get(route, [])
            ]
            chain.extend(link_ for _, link_ in chain_links(route.callback))
            method = str(route.method).upper()
            if method == "ANY":
                methods: tuple[str, ...] = ()
            elif method == "GET":
                methods = ("GET", "HEAD")
            else:
                methods = (method,)
            routes.append(Route(
                rule=route.rule,
                endpoint=_endpoint(route),
                methods=methods,
                blueprint=None,
                chain=tuple(chain),
                automatic_methods=("HEAD",) if method == "GET" else (),
                app=None,
                strict_slashes=True,
                redirect_to=None,
            ))
        return routes


class _RecordingPlugin:
    """One plugin as `_make_callback` sees it while recorded: its application is a step.

    Only `_make_callback` gets these (see `BottleHooks._all_plugins`); it uses `apply` or
    the call, which the two subclasses mirror exactly, and Bottle 0.12 also reads the
    plugin's `api` (2: `apply` gets the route, else its config), which every other
    attribute passes through to.
    """

    def __init__(self, hooks: BottleHooks, plugin: Any, position: int, count: int,
                 applied: list) -> None:
        self._hooks = hooks
        self._plugin = plugin
        self._position = position
        self._count = count
        self._applied = applied

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_plugin"), name)


class _ApplyingPlugin(_RecordingPlugin):
    """A plugin object (`apply(callback, route)`)."""

    def apply(self, callback: Any, route: Any) -> Any:
        return _record_plugin(self, self._plugin.apply, callback, route)


class _CallingPlugin(_RecordingPlugin):
    """A plain decorator used as a plugin (`plugin(callback)`)."""

    def __call__(self, callback: Any) -> Any:
        return _record_plugin(self, self._plugin, callback)


def _record_plugin(proxy: _RecordingPlugin, function: Callable, callback: Any,
                   *route: Any) -> Any:
    hooks, recorder = proxy._hooks, proxy._hooks.recorder
    name = plugin_name(proxy._plugin)
    step = None
    with recorder.guard():
        code = code_of(function)
        step = recorder.call(code, arguments(recorder, code, (callback, *route), {}),
                             name=None if code else name, role=Role.PLUGIN, facts={
                                 "plugin": name,
                                 "position": proxy._position,
                                 "count": proxy._count,
                                 "outermost": proxy._position == proxy._count - 1,
                                 "callback": qualname(callback),
                             })
    result = hooks.run_then_leave(step, function, callback, *route)
    with recorder.guard():
        changed = result is not callback
        recorder.annotate(step, {"changed": changed,
                                 "produced": qualname(result) if changed else None})
        if changed:
            proxy._applied.append((result, name))
    return result


def _describe_route(args: tuple, kwargs: dict) -> Facts:
    path = argument(args, kwargs, 1, "path")
    method = argument(args, kwargs, 2, "method")
    apply = kwargs.get("apply")
    skip = kwargs.get("skip")
    known = {"path", "method", "callback", "name", "apply", "skip"}
    return {
        "rule": path if isinstance(path, str) or path is None else
        [p for p in path] if isinstance(path, list | tuple) else qualname(path),
        "methods": [m.upper() for m in ([method] if isinstance(method, str) else method)]
        if method else None,
        "endpoint": kwargs.get("name"),
        "name": kwargs.get("name"),
        "apply": [plugin_name(p) for p in _as_list(apply)],
        "skip": [p if isinstance(p, str | bool) else plugin_name(p) for p in _as_list(skip)],
        "options": sorted(k for k in kwargs if k not in known),
    }


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value] if value else []


def _describe_add_route(args: tuple, kwargs: dict) -> Facts:
    route = argument(args, kwargs, 1, "route")
    return {
        "rule": route.rule,
        "method": route.method,
        "endpoint_argument": route.name,
        "view": qualname(_innermost(route.callback)),
    }


def _describe_router_add(args: tuple, kwargs: dict) -> Facts:
    target = argument(args, kwargs, 3, "target")
    name = argument(args, kwargs, 4, "name")
    method = argument(args, kwargs, 2, "method")
    return {
        "rule": argument(args, kwargs, 1, "rule"),
        "methods": [method],
        "name": name,
        "endpoint": _endpoint(target) if hasattr(target, "callback") else qualname(target),
        "target": qualname(type(target)),
    }


def _describe_add_hook(args: tuple, kwargs: dict) -> Facts:
    return {"hook": argument(args, kwargs, 1, "name"),
            "function": qualname(argument(args, kwargs, 2, "func"))}


def _hook_role(args: tuple, kwargs: dict) -> str | None:
    roles = _HOOK_ROLES.get(argument(args, kwargs, 1, "_Bottle__name"))
    return roles[0] if roles else None


def _describe_match(args: tuple, kwargs: dict) -> Facts:
    environ = argument(args, kwargs, 1, "environ") or {}
    return {"path": environ.get("PATH_INFO") or "/",
            "method": str(environ.get("REQUEST_METHOD", "GET")).upper()}


def _http_error(error: BaseException) -> str:
    """`HTTPError('404 Not Found')`: Bottle's own repr of an error is its headers."""
    status = getattr(error, "status_line", None)
    return f"{type(error).__name__}({status!r})" if status else repr(error)


def _in_request(*_: Any) -> bool:
    return current_request() is not None


def _request_hook(args: tuple, kwargs: dict) -> bool:
    """A before/after-request hook being triggered inside a recorded request."""
    return current_request() is not None and _hook_role(args, kwargs) is not None


def _describe_cast(args: tuple, kwargs: dict) -> Facts:
    out = argument(args, kwargs, 1, "out")
    facts: Facts = {"from_type": type(out).__name__}
    status = getattr(out, "status_code", None)
    if isinstance(status, int):
        facts["status"] = status
    return facts


