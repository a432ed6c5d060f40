"""What flaskscope knows of Django's internals (4.2 to 6.x; read from 5.2's source).

Registration (the URLconf module runs them at import): `path()`/`re_path()`
(`Role.ADD_URL_RULE`: the route, the view, the URL `name` that becomes the endpoint),
`include()` (a prefix pointing at another URLconf), `View.as_view()` (`Role.CLASS_VIEW`:
the function `view` it makes, `view.view_class`, `view.view_initkwargs`), and
`BaseHandler.load_middleware` building the middleware chain from `settings.MIDDLEWARE`.
Once the app is loaded its URL tree becomes the routes and one `Role.RULE_ADDED` note per
`URLPattern` says where it is stored (`tracer.frameworks.django.routes`).

Requests: `BaseHandler.get_response` (`Role.REQUEST` when nothing began the request
before it, as under Django's test client; inside the plain WSGI recorder otherwise, which
records `WSGIHandler.__call__`, `start_response` and the body). Each middleware is a
`Role.LAYER` (its name, its place in the chain, whether it answered by itself and so
short-circuited the rest); `resolve_request` (`Role.MATCH`: `ResolverMatch.route`,
`view_name`, the arguments, or the patterns tried for a 404); `_get_response`
(`Role.DISPATCH`); the decorators around the view (`Role.LAYER`) and the view
(`Role.VIEW`); for a class view `View.setup` (`Role.VIEW_INIT`, `head = get`),
`View.dispatch` (`Role.CLASS_DISPATCH`, `Role.HANDLER_LOOKUP`: the
`getattr(self, method, self.http_method_not_allowed)` lookup, the 405's allowed methods)
and the handler method (`Role.HANDLER`) with the `method_decorator` layers around it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import FrameType, MethodType
from typing import Any

from tracer.errors import AppLoadError
from tracer.frameworks import active_hooks
from tracer.frameworks.django import routes, support
from tracer.frameworks.django.loading import app_in  # noqa: F401  (the registry asks it)
from tracer.frameworks.django.state import DjangoState
from tracer.frameworks.hooking import (
    AdapterHooks,
    Facts,
    argument,
    arguments,
    hide_own_frames,
    qualname,
)
from tracer.frameworks.wsgi.hooks import begin_wsgi_request, environ_detail, settle_outcome
from tracer.model import Role
from tracer.recorder import current_request, muted
from tracer.unwrap import code_of, is_stand_in


def available() -> bool:
    """Django is not a dependency: recorded only when it is installed."""
    return "django" in sys.modules or importlib.util.find_spec("django") is not None


def versions() -> dict[str, str]:
    """The version the trace's `meta` names."""
    import django

    return {"django": django.get_version()}


def scope_roots() -> tuple[str, ...]:
    """Django's directory: traced line by line in line mode."""
    import django

    return (os.path.dirname(django.__file__),)


def owns(app: Any) -> bool:
    """A Django handler (`WSGIHandler`, what `get_wsgi_application()` returns)."""
    base = sys.modules.get("django.core.handlers.base")
    return base is not None and isinstance(app, base.BaseHandler)


def wsgi_callable(app: Any) -> Any:
    """The handler is the WSGI callable; loading it makes its URL tree the trace's routes
    and has Django's state put back when the recording ends."""
    hooks = active_hooks("django")
    if hooks is not None and owns(app):
        hooks.loaded(app)
    return app


@dataclass
class _Progress:
    """How far one request went into the middleware chain."""

    entered: list[int] = field(default_factory=list)
    reached_inner: bool = False


_progress: ContextVar[_Progress | None] = ContextVar("flaskscope_django_progress",
                                                     default=None)


class _Site:
    """The routes' subject: the root resolver and the settings (their secrets redacted)."""

    def __init__(self, resolver: Any, config: dict[str, Any], urlconf: str | None) -> None:
        self.resolver = resolver
        self.config = config
        self.urlconf = urlconf


def _in_request(*_: Any) -> bool:
    return current_request() is not None


class DjangoHooks(AdapterHooks):
    """Installs and removes every Django patch for one recorder."""

    name = "django"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state: DjangoState | None = None
        self.loaded_app = False
        #: id(middleware) -> (position, name, count); the objects kept alive beside it.
        self._middleware: dict[int, tuple[int, str, int]] = {}
        self._by_code: dict[int, tuple[int, str, int]] = {}
        self._kept: list[Any] = []
        self._chains: dict[int, list[str]] = {}
        self._sites: list[_Site] = []

    def versions(self) -> dict[str, str]:
        return versions() if support.unsupported() is None else {}

    def _install(self) -> None:
        self.state = DjangoState()
        if support.unsupported() is not None:
            return  # refused when a Django app is loaded (`loading.app_in`), not before
        import django.urls
        from django.core.handlers import exception
        from django.core.handlers.base import BaseHandler
        from django.urls import conf
        from django.utils.deprecation import MiddlewareMixin
        from django.views.generic.base import View

        for module in (conf, django.urls):
            for kind in ("path", "re_path"):
                self.patches.replace(module, kind, functools.partial(self._recording_path, kind))
            self.patch(module, "include", None, describe=_describe_include,
                       after=self._included)
        self.patch(View, "as_view", Role.CLASS_VIEW, describe=_describe_as_view,
                   after=self._as_view_made)
        self.patch(BaseHandler, "load_middleware", None, after=self._chain_loaded)
        self.patches.replace(BaseHandler, "get_response", self._recording_get_response)
        self.patch(MiddlewareMixin, "__call__", Role.LAYER, when=_in_request,
                   describe=self._entering_middleware, after=self._middleware_done)
        self.patch(BaseHandler, "resolve_request", Role.MATCH, when=_in_request,
                   describe=_describe_resolve, after=self._resolved, on_error=self._unresolved)
        self.patch(BaseHandler, "_get_response", Role.DISPATCH, when=_in_request,
                   describe=_describe_get_response, enter=_reached_inner,
                   after=_dispatched)
        self.patches.replace(exception, "response_for_exception", self._hiding_own_frames)
        self.patch(View, "setup", Role.VIEW_INIT, when=_in_request, describe=_describe_setup,
                   enter=self._instantiated)
        self.patch(View, "dispatch", Role.CLASS_DISPATCH, when=_in_request,
                   describe=_describe_dispatch, enter=self._looked_up)
        # `as_view` copies `dispatch.__dict__` onto the view it makes: the stand-in must not
        # add a `__wrapped__` there that Django's own `dispatch` does not have.
        vars(View.dispatch).pop("__wrapped__", None)

    def uninstall(self) -> None:
        """Unpatch; when flaskscope itself loaded an app in this recording (`record_app`
        names it in `meta["app"]`), put Django's state back as it was before."""
        super().uninstall()
        if (self.loaded_app or self.recorder.meta.get("app")) and self.state is not None:
            with self.recorder.guard():
                self.state.restore()
        self.loaded_app = False

    # -- loading --------------------------------------------------------------------------

    def loaded(self, handler: Any) -> None:
        """flaskscope loaded this handler: its URLconf is imported now (registration, not
        the first request), its tree noted, and Django's state restored at the end."""
        self.loaded_app = True
        if not self.active:
            return
        from django.conf import settings
        from django.urls import get_resolver

        urlconf = getattr(settings, "ROOT_URLCONF", None)
        resolver = get_resolver(urlconf)
        try:
            list(routes.leaves(resolver))
        except Exception as error:
            raise AppLoadError(
                f"Django could not import the URLconf {urlconf!r}: {type(error).__name__}: "
                f"{error}") from None
        self._add_site(resolver, urlconf)
        with self.recorder.guard():
            for leaf in routes.leaves(resolver):
                self.recorder.note(Role.RULE_ADDED, "urlpatterns", {
                    "rule": leaf.route, "endpoint": leaf.endpoint,
                    "methods": list(routes.allowed_methods(leaf.pattern.callback)),
                    "stored_in": leaf.stored_in,
                    "storage": "ordered",  # urlpatterns are tried in order
                    "target": _view_label(leaf.pattern.callback),  # what the pattern holds
                    "pattern": type(leaf.pattern.pattern).__name__})
                container, _, index = leaf.stored_in.rpartition("[")
                self.recorder.note(Role.VIEW_REGISTERED, "urlpatterns", {
                    "rule": leaf.route, "endpoint": leaf.endpoint, "stored_in": container,
                    "index": int(index.rstrip("]")), "view": _view_label(leaf.pattern.callback)})

    def _add_site(self, resolver: Any, urlconf: str | None) -> None:
        if any(site.resolver is resolver for site in self._sites):
            return
        from django.conf import settings

        # The values the project set, read without `LazySettings.__getattr__` (which warns
        # about deprecated settings): their secrets are hidden in everything stored.
        config = {name: value for name, value in vars(settings._wrapped).items()
                  if name.isupper()}
        databases = config.get("DATABASES")
        for alias, database in (databases.items() if isinstance(databases, dict) else ()):
            if isinstance(database, dict):  # nested: named so that it reads as a secret
                config[f"DATABASE_{alias}_PASSWORD"] = database.get("PASSWORD")
        site = _Site(resolver, config, urlconf)
        self._sites.append(site)
        self.recorder.add_subject(site, self.routes_of)

    def routes_of(self, site: _Site) -> list[Any]:
        return routes.routes_of(site.resolver, site.urlconf if isinstance(
            site.urlconf, str) else None)

    # -- registration ---------------------------------------------------------------------

    def _recording_path(self, kind: str, original: Any) -> Any:
        """`path()`/`re_path()` (partials of `_path`) recorded as `Role.ADD_URL_RULE`."""
        hooks = self
        recorder = self.recorder
        code = code_of(getattr(original, "func", None))

        @functools.wraps(original)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            if not hooks.active or muted():
                return original(*args, **kwargs)
            step = None
            with recorder.guard():
                view = argument(args, kwargs, 1, "view")
                name = argument(args, kwargs, 3, "name")
                facts: Facts = {"function": kind, "rule": str(argument(args, kwargs, 0, "route")),
                                "name": name, "endpoint_given": name is not None}
                if isinstance(view, list | tuple):
                    facts["include"] = True
                else:
                    facts.update(view=_view_label(view),
                                 endpoint=name or routes.func_path(view))
                step = recorder.call(code, arguments(recorder, code, args, kwargs), name=kind,
                                     role=Role.ADD_URL_RULE, facts=facts)
            try:
                result = original(*args, **kwargs)
            except BaseException as error:
                with recorder.guard():
                    recorder.leave(step, error=error)
                raise
            with recorder.guard():
                recorder.leave(step, result=result,
                               facts={"made": type(result).__name__})
            return result

        recorded.__name__ = recorded.__qualname__ = kind
        return recorded

    def _included(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        urlconf, app_name, namespace = result
        patterns = getattr(urlconf, "urlpatterns", urlconf)
        self.recorder.annotate(step, {
            "app_name": app_name, "namespace": namespace,
            "patterns": len(patterns) if isinstance(patterns, list | tuple) else None})

    def _as_view_made(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        self.recorder.annotate(step, {"view": qualname(result)})

    def _chain_loaded(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        """Name each middleware of the chain just built, outermost first, and catch the
        calls of those that are not `MiddlewareMixin`s (functions, own `__call__`)."""
        from django.utils.deprecation import MiddlewareMixin

        handler = args[0]
        found = list(_middleware_chain(handler))
        names = [name for _, name in found]
        for position, (obj, name) in enumerate(found):
            entry = (position, name, len(found))
            self._middleware[id(obj)] = entry
            self._kept.append(obj)
            if isinstance(obj, MiddlewareMixin):
                continue
            code = code_of(obj) or code_of(vars(type(obj)).get("__call__"))
            if code is not None:
                self._by_code.setdefault(id(code), entry)
                self.watcher.watch(code, Role.LAYER, facts=self._watched_middleware)
        for method in getattr(handler, "_view_middleware", None) or ():
            code = code_of(method)
            if code is not None and id(getattr(method, "__self__", None)) in self._middleware:
                self.watcher.watch(code, Role.LAYER, facts=self._watched_view_hook)
        self._chains[id(handler)] = names
        self.recorder.annotate(step, {"middleware": names})

    # -- requests -------------------------------------------------------------------------

    def _recording_get_response(self, original: Callable) -> Callable:
        """`get_response`: the request itself when nothing began it before (the test
        client, a server calling the handler under `tracer.install()`), else a step."""
        hooks = self
        recorder = self.recorder
        code = code_of(original)

        @functools.wraps(original)
        def get_response(handler: Any, request: Any) -> Any:
            if not hooks.active or muted():
                return original(handler, request)
            handle = step = None
            progress = _Progress()
            token = _progress.set(progress)
            try:
                with recorder.guard():
                    names = hooks._chains.get(id(handler), [])
                    facts: Facts = {"middleware": names}
                    if current_request() is None:
                        # The body stays where it is: the request has read its stream already.
                        meta = {k: v for k, v in getattr(request, "META", {}).items()
                                if k != "wsgi.input"}
                        handle, info = begin_wsgi_request(recorder, meta, framework="django")
                        if not recorder.requests:  # a process-wide recording's first
                            recorder.meta["framework"] = "django"
                        facts.update(info, framework="django")
                        step = recorder.call(code, environ_detail(meta, recorder),
                                             role=Role.REQUEST, facts=facts)
                    else:
                        step = recorder.call(code, arguments(recorder, code, (handler, request),
                                                             {}), facts=facts)
                try:
                    with hooks._tracing(handle is not None):
                        response = original(handler, request)
                except BaseException as error:
                    with recorder.guard():
                        recorder.leave(step, error=error)
                        if handle is not None:
                            handle[0].info.setdefault("error", recorder.repr(error))
                            handle[0].info["outcome"] = "error"
                    raise
                with recorder.guard():
                    hooks._answered(step, handle, names, progress, response)
                return response
            finally:
                _progress.reset(token)
                if handle is not None:
                    with recorder.guard():
                        settle_outcome(handle[0].info)
                        recorder.end_request(handle)

        return get_response

    def _hiding_own_frames(self, original: Callable) -> Callable:
        """`response_for_exception`: the traceback Django logs, signals and shows on its
        debug page loses flaskscope's wrapper frames first, so it is the one it would be
        without recording."""
        hooks = self

        @functools.wraps(original)
        def response_for_exception(request: Any, exc: BaseException) -> Any:
            if hooks.active:
                hide_own_frames(exc)
            return original(request, exc)

        return response_for_exception

    def _tracing(self, outermost: bool) -> ExitStack:
        stack = ExitStack()
        if outermost:
            if self.lines is not None:
                stack.enter_context(self.lines.tracing())
            stack.enter_context(self.watcher.catching())
        return stack

    def _answered(self, step: int | None, handle: Any, names: list[str],
                  progress: _Progress, response: Any) -> None:
        status = getattr(response, "status_code", None)
        entered = [names[i] for i in progress.entered if i < len(names)]
        facts: Facts = {"status": status, "entered": entered,
                        "skipped": [n for i, n in enumerate(names) if i not in progress.entered],
                        "reached_view": progress.reached_inner}
        if not progress.reached_inner and progress.entered:
            facts["answered_by"] = names[progress.entered[-1]] if (
                progress.entered[-1] < len(names)) else None
        record = current_request()
        if record is not None and isinstance(status, int) and 300 <= status < 400:
            location = response.get("Location") if hasattr(response, "get") else None
            if location:
                record.info["redirect_to"] = self.recorder.repr(location)[1:-1]
                facts["redirect_to"] = record.info["redirect_to"]
        if handle is not None:
            handle[0].info["status"] = status
        self.recorder.leave(step, result=response, facts=facts)

    def _middleware_entry(self, obj: Any) -> tuple[int, str, int] | None:
        return self._middleware.get(id(obj))

    def _entering_middleware(self, args: tuple, kwargs: dict) -> Facts:
        entry = self._middleware_entry(args[0])
        name = entry[1] if entry else _name_of(args[0])
        progress = _progress.get()
        if entry is not None and progress is not None:
            progress.entered.append(entry[0])
        facts: Facts = {"middleware": name}
        if entry is not None:
            facts.update(position=entry[0] + 1, of=entry[2])
        return facts

    def _watched_middleware(self, frame: FrameType) -> Facts | None:
        """Facts of a middleware caught by its code: the function's, or its `__call__`'s."""
        obj = frame.f_locals.get("self")
        entry = self._middleware.get(id(obj)) if obj is not None else None
        entry = entry or self._by_code.get(id(frame.f_code))
        if entry is None:
            return None
        progress = _progress.get()
        if progress is not None:
            progress.entered.append(entry[0])
        return {"middleware": entry[1], "position": entry[0] + 1, "of": entry[2]}

    def _watched_view_hook(self, frame: FrameType) -> Facts | None:
        """A middleware's `process_view`, which `_get_response` runs just before the view:
        returning a response there (CSRF's 403) means the view never runs."""
        instance = frame.f_locals.get("self")
        entry = self._middleware.get(id(instance))
        if entry is None:  # a view decorator made from it (`decorator_from_middleware`)
            return {"middleware": qualname(type(instance)), "hook": "process_view",
                    "in_chain": False}
        return {"middleware": entry[1], "position": entry[0] + 1, "of": entry[2],
                "hook": "process_view"}

    def _middleware_done(self, step: int | None, args: tuple, kwargs: dict,
                         result: Any) -> None:
        entry = self._middleware_entry(args[0])
        progress = _progress.get()
        if entry is None or progress is None:
            return
        inward = progress.reached_inner or (progress.entered and progress.entered[-1] != entry[0])
        facts: Facts = {"short_circuit": not inward}
        if not inward:
            facts["answered_in"] = ("process_request" if hasattr(args[0], "process_request")
                                    else "__call__")
        self.recorder.annotate(step, facts)

    def _resolved(self, step: int | None, args: tuple, kwargs: dict, match: Any) -> None:
        view_args = self.recorder.view_args(
            {**{str(i): v for i, v in enumerate(match.args)}, **match.kwargs})
        facts: Facts = {"matched": True, "rule": match.route, "endpoint": match.view_name,
                        "url_name": match.url_name, "namespaces": list(match.namespaces),
                        "view": _view_label(match.func), "view_args": view_args,
                        "tried": len(match.tried or ())}
        self.recorder.annotate(step, facts)
        record = current_request()
        if record is not None:
            record.info.update(rule=match.route, endpoint=match.view_name, view_args=view_args)
        self._watch_view(match.func)
        self._site_of(args)

    def _site_of(self, args: tuple) -> None:
        """The resolver this request used is a subject too (a process-wide recording)."""
        from django.conf import settings
        from django.urls import get_resolver

        request = args[1]
        urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
        self._add_site(get_resolver(urlconf), urlconf if isinstance(urlconf, str) else None)

    def _unresolved(self, step: int | None, args: tuple, kwargs: dict,
                    error: BaseException) -> None:
        from django.urls import Resolver404

        if not isinstance(error, Resolver404):
            return
        info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        tried = [tried_text(each) for each in info.get("tried") or ()]
        self.recorder.annotate(step, {"matched": False, "outcome": "not_found",
                                      "status": 404, "tried": tried})
        record = current_request()
        if record is not None:
            record.info.update(outcome="not_found")

    def _watch_view(self, callback: Any) -> None:
        """Catch the view's decorators and the view; for a class view the decorators on
        its `dispatch` and the `dispatch` it overrides (layers around Django's)."""
        self.watch_chain(routes.outer_pairs(callback), Role.LAYER, Role.VIEW)
        cls = routes.view_class(callback)
        dispatch = getattr(cls, "dispatch", None) if cls is not None else None
        if dispatch is None:
            return
        for obj, _ in routes.method_pairs(dispatch, "dispatch"):
            code = code_of(obj)
            if code is not None:
                self.watcher.watch(code, Role.LAYER)

    def _instantiated(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """`Role.VIEW_INSTANCE`: the `view` function made this instance for the request."""
        self.recorder.note(Role.VIEW_INSTANCE, "as_view", {"view_class": qualname(type(args[0]))})

    def _looked_up(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """`Role.HANDLER_LOOKUP`: `getattr(self, method, self.http_method_not_allowed)`;
        the handler found and the decorators on it are caught when they run."""
        view, request = args[0], args[1]
        method = str(getattr(request, "method", "") or "")
        name = method.lower()
        handler = getattr(view, name, None) if name in view.http_method_names else None
        head_is_get = name == "head" and handler is not None and not hasattr(type(view), "head")
        facts: Facts = {"method": method, "tried": name, "found": handler is not None,
                        "fallback": "get" if head_is_get else None,
                        # `View.setup` set `self.head = self.get`: getattr found that alias
                        "alias_set_by": "View.setup" if head_is_get else None,
                        "handler": _handler_label(handler) if handler is not None else None}
        if handler is None:
            allowed = list(view._allowed_methods())
            facts["error"] = "http_method_not_allowed: 405"
            self.recorder.annotate(step, {"outcome": "method_not_allowed", "status": 405,
                                          "allowed_methods": allowed})
            record = current_request()
            if record is not None:
                record.info.update(outcome="method_not_allowed")
        self.recorder.note(Role.HANDLER_LOOKUP, "getattr", facts)
        if handler is not None:
            function = handler.__func__ if isinstance(handler, MethodType) else handler
            pairs = routes.method_pairs(function, name)
            for obj, chain_link in pairs:
                code = code_of(obj)
                if code is not None:
                    role = Role.HANDLER if chain_link.kind == "method" else Role.LAYER
                    self.watcher.watch(code, role)


def _middleware_chain(handler: Any) -> Iterator[tuple[Any, str]]:
    """The middleware of a handler's chain, outermost first: each wrapped by
    `convert_exception_to_response` (`__wrapped__`), each holding the next in
    `get_response` (or, a function middleware, in its closure), down to `_get_response`."""
    current = getattr(handler, "_middleware_chain", None)
    for _ in range(500):
        current = getattr(current, "__wrapped__", current)
        if current is None or (isinstance(current, MethodType) and current.__self__ is handler):
            return
        yield current, _name_of(current)
        following = getattr(current, "get_response", None) if not callable(
            getattr(current, "__code__", None)) else None
        if following is None:
            following = _closure_value(current, "get_response")
        current = following


def _closure_value(function: Any, name: str) -> Any:
    code = code_of(function)
    cells = getattr(function, "__closure__", None) or ()
    if code is None:
        return None
    for free, cell in zip(code.co_freevars, cells, strict=False):
        if free == name:
            return cell.cell_contents
    return None


def _name_of(middleware: Any) -> str:
    """The dotted path a middleware is named by in `settings.MIDDLEWARE`: its class's, or
    for a function middleware the factory that made it."""
    code = code_of(middleware)
    if code is not None and not isinstance(middleware, type):
        factory = code.co_qualname.split(".<locals>")[0]
        return f"{getattr(middleware, '__module__', '?')}.{factory}"
    kind = type(middleware)
    return f"{kind.__module__}.{kind.__qualname__}"


def tried_text(patterns: Any) -> str:
    """One entry of a 404's `tried` list as Django's debug page shows it: the patterns from
    the root down, the name of the last."""
    patterns = list(patterns) if isinstance(patterns, list | tuple) else [patterns]
    text = " ".join(str(getattr(p, "pattern", p)) for p in patterns) or "''"
    name = getattr(patterns[-1], "name", None) if patterns else None
    return f"{text} [name={name!r}]" if name else text


def _view_label(view: Any) -> str:
    """`Login.as_view()` for a class view's function, else the innermost callable's name."""
    cls = routes.view_class(view)
    if cls is not None:
        return f"{cls.__qualname__}.as_view()"
    innermost = view
    for innermost in routes.layers(view):  # noqa: B007
        pass
    return qualname(innermost)


def _handler_label(handler: Any) -> str:
    function = handler.__func__ if isinstance(handler, MethodType) else handler
    found = [each for each in routes.layers(function) if not is_stand_in(each)]
    return qualname(found[-1] if found else function)


def _describe_include(args: tuple, kwargs: dict) -> Facts:
    arg = argument(args, kwargs, 0, "arg")
    urlconf = arg[0] if isinstance(arg, tuple) and len(arg) == 2 else arg
    shown = urlconf if isinstance(urlconf, str) else getattr(urlconf, "__name__", "[...]")
    return {"function": "include", "urlconf": shown,
            "namespace": argument(args, kwargs, 1, "namespace")}


def _describe_as_view(args: tuple, kwargs: dict) -> Facts:
    cls = args[0] if args else None
    return {"view_class": qualname(cls) if cls is not None else "?",
            "initkwargs": sorted(str(k) for k in kwargs)}


def _describe_resolve(args: tuple, kwargs: dict) -> Facts:
    from django.conf import settings

    request = args[1]
    urlconf = getattr(request, "urlconf", None) or settings.ROOT_URLCONF
    return {"path": str(getattr(request, "path_info", "")),
            "urlconf": urlconf if isinstance(urlconf, str) else "[...]"}


def _describe_get_response(args: tuple, kwargs: dict) -> Facts:
    return {"method": str(getattr(args[1], "method", "") or "")}


def _reached_inner(step: int | None, args: tuple, kwargs: dict) -> None:
    progress = _progress.get()
    if progress is not None:
        progress.reached_inner = True


def _dispatched(step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
    match = getattr(args[1], "resolver_match", None)
    hooks = active_hooks("django")
    if match is None or hooks is None:
        return
    hooks.recorder.annotate(step, {"endpoint": match.view_name, "view": _view_label(match.func),
                                   "status": getattr(result, "status_code", None)})


def _describe_setup(args: tuple, kwargs: dict) -> Facts:
    view = args[0]
    return {"view_class": qualname(type(view)),
            "head_is_get": hasattr(view, "get") and not hasattr(view, "head")}


def _describe_dispatch(args: tuple, kwargs: dict) -> Facts:
    view, request = args[0], args[1]
    method = str(getattr(request, "method", "") or "")
    return {"view_class": qualname(type(view)), "method": method, "looked_up": method.lower()}

