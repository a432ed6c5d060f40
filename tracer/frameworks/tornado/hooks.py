"""What flaskscope knows of Tornado's internals (Tornado 6.0 to 6.6): the handler list turned into
rules, and how a request finds the handler that answers it.

Registration: `Application(handlers)` gives the list to an `_ApplicationRouter` (its
`wildcard_router`), whose `RuleRouter.add_rules` turns each `(regex, Handler[, kwargs[,
name]])` tuple into a `Rule(PathMatches(regex), Handler, kwargs, name)` (a `URLSpec` when
`url()` made it); `add_handlers(host, handlers)` adds a host's list the same way. Each
rule is a route: its regex as Tornado compiled it (a `$` added), its `name` as the endpoint
(the handler class's name when it has none), the handler's methods and their decorators.

Requests: Tornado is no WSGI framework. `HTTPServer` hands each request to a
`_RoutingDelegate`, which asks `Application.find_handler` (`Role.MATCH`: each rule's
`PathMatches` tried in order, the one that matched, its groups, or the 404 `ErrorHandler`
that answers when none did) on the headers, then `finish()` creates the handler and runs
`RequestHandler._execute` (`Role.DISPATCH`) as an asyncio task: the 405 for a method not
in `SUPPORTED_METHODS`, `prepare` (`Role.BEFORE_REQUEST_FUNCTION`), the method found by
name, `getattr(self, self.request.method.lower())` (`Role.HANDLER_LOOKUP`, then
`Role.HANDLER`, each decorator on it a `Role.LAYER`), `send_error`/`write_error` for an
exception (`Role.ERROR_HANDLING`, `Role.ERROR_HANDLER`), `finish` and `on_finish`
(`Role.TEARDOWN_FUNCTION`). The status line and headers Tornado writes are
`Role.START_RESPONSE`.

A request is one record from its headers to the end of `_execute` (or to `finish()` when
the handler finishes later, or to the connection closing). Its record lives in a context
of its own, made when the headers come: `_RoutingDelegate`'s calls run inside it, and the
task running `_execute` starts from a copy of it, so concurrent requests never mix.
"""

from __future__ import annotations

import contextvars
import functools
import importlib.util
import inspect
import os
import sys
import weakref
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

from tracer.frameworks.hooking import AdapterHooks, Facts, qualname, settle_outcome
from tracer.frameworks.tornado.routes import (
    METHODS,
    app_router,
    class_name,
    defined_methods,
    defines,
    endpoint,
    link_of,
    method_links,
    pattern,
    router_name,
    rules_of,
)
from tracer.model import Role, Route
from tracer.recorder import current_request, muted
from tracer.secret_values import body_secrets, environ_secrets, set_cookie_secrets
from tracer.unwrap import code_of, layers

if TYPE_CHECKING:
    from tracer.recorder import RequestHandle

#: How much of a request body the trace keeps (for replaying it), as a bytes repr.
KEPT_BODY = 64 * 1024


def available() -> bool:
    """Tornado is not a dependency: recorded only when it is installed."""
    return "tornado" in sys.modules or importlib.util.find_spec("tornado") is not None


def _tornado() -> Any:
    import tornado

    return tornado


def _web() -> Any:
    import tornado.web

    return tornado.web


def versions() -> dict[str, str]:
    """The version the trace's `meta` names."""
    return {"tornado": str(getattr(_tornado(), "version", "?"))}


def scope_roots() -> tuple[str, ...]:
    """Tornado's directory: traced line by line in line mode."""
    return (os.path.dirname(_tornado().__file__),)


def owns(app: Any) -> bool:
    """A `tornado.web.Application` (or an instance of a subclass)."""
    web = sys.modules.get("tornado.web")
    application = getattr(web, "Application", None)
    return isinstance(application, type) and isinstance(app, application)


#: Tornado is no WSGI framework: loading hands its apps to `send`, not to a WSGI client.
SERVES_ITSELF = True


def send(app: Any, spec: Any) -> int | None:
    """Send one request in-process (`tracer.frameworks.tornado.driving`)."""
    from tracer.frameworks.tornado.driving import send as drive

    return drive(app, spec)


@dataclass
class _Exchange:
    """One request, from its headers to its end: the context its record is current in."""

    context: contextvars.Context
    handle: RequestHandle | None = None
    step: int | None = None
    detail: dict[str, str] = field(default_factory=dict)
    entered: bool = False
    executed: bool = False
    #: `_execute` has returned (a handler may still finish later)
    dispatched: bool = False
    ended: bool = False
    looked_up: bool = False
    handler: Any = None
    #: (regex, matched) for each `PathMatches` `find_handler` asked, in order
    tried: list[tuple[str, bool]] = field(default_factory=list)


_exchange: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "flaskscope_tornado_exchange", default=None)


def _in_request(*_: Any) -> bool:
    return current_request() is not None and _exchange.get() is not None


class TornadoHooks(AdapterHooks):
    """Installs and removes every Tornado patch for one recorder."""

    name = "tornado"

    def versions(self) -> dict[str, str]:
        return versions()

    def _install(self) -> None:
        import tornado.http1connection
        import tornado.routing

        web = _web()
        routing = tornado.routing
        self._exchanges: weakref.WeakKeyDictionary[Any, _Exchange] = (
            weakref.WeakKeyDictionary())
        self._by_handler: weakref.WeakKeyDictionary[Any, _Exchange] = (
            weakref.WeakKeyDictionary())
        # registration
        self.patch(web.Application, "__init__", Role.ADD_URL_RULE,
                   describe=_describe_application, after=self._application_made)
        self.patch(web.Application, "add_handlers", Role.ADD_URL_RULE,
                   describe=_describe_add_handlers, after=self._application_made)
        self.patches.replace(routing.RuleRouter, "add_rules", self._noting_rules)
        # requests
        delegate = routing._RoutingDelegate
        self.patches.replace(delegate, "headers_received", self._beginning)
        for name in ("data_received", "finish"):
            self.patches.replace(delegate, name, self._within_exchange)
        self.patches.replace(delegate, "on_connection_close", self._closing)
        self.patches.replace(routing.PathMatches, "match", self._trying)
        self.patch(web.Application, "find_handler", Role.MATCH, when=_in_request,
                   describe=_describe_find_handler, after=self._after_find_handler)
        self.patches.replace(web.RequestHandler, "_execute", self._executing)
        self.patch(web.RequestHandler, "_handle_request_exception", Role.ERROR_HANDLING,
                   when=_in_request, describe=_describe_exception, enter=self._note_exception,
                   catch=True)
        self.patch(web.RequestHandler, "send_error", Role.ERROR_HANDLING, when=_in_request,
                   describe=_describe_send_error, enter=self._note_error_page, catch=True)
        self.patches.replace(web.RequestHandler, "finish", self._finishing)
        self.patches.replace(tornado.http1connection.HTTP1Connection, "write_headers",
                             self._writing_headers)

    def open_requests(self) -> int:
        """Requests begun and not filed yet (a handler still running, or one that never
        finished): what a process-wide run reports when it ends."""
        exchanges = getattr(self, "_exchanges", {})
        return sum(1 for each in list(exchanges.values())
                   if each.handle is not None and not each.ended)

    # -- registration ---------------------------------------------------------------------

    def _application_made(self, step: int | None, args: tuple, kwargs: dict,
                          result: Any) -> None:
        self.recorder.add_subject(args[0], self.routes_of)

    def _noting_rules(self, original: Callable) -> Callable:
        """`RuleRouter.add_rules` noting each rule it kept (`Role.RULE_ADDED`), for an
        application's routers only (not Tornado's own catch-all rule)."""
        hooks = self

        def add_rules(router: Any, rules: Any) -> None:
            if not hooks.active or muted() or not app_router(router):
                return original(router, rules)
            before = len(router.rules)
            original(router, rules)
            with hooks.recorder.guard():
                for index in range(before, len(router.rules)):
                    hooks._note_rule(router, index)
            return None

        add_rules.__wrapped__ = original  # type: ignore[attr-defined]
        return add_rules

    def _note_rule(self, router: Any, index: int) -> None:
        rule = router.rules[index]
        regex = pattern(rule)
        if regex is None:
            return  # a host's rule: its own router notes the rules under it
        handler = rule.target
        self.recorder.note(Role.RULE_ADDED, "RuleRouter.add_rules", {
            "rule": regex, "endpoint": endpoint(rule), "methods": [],
            "name": rule.name, "handler": class_name(handler),
            "kwargs": self.recorder.named(dict(rule.target_kwargs or {})),
            "stored_in": f"{router_name(router)}.rules[{index}]", "index": index,
            "storage": "ordered",  # a Rule (a PathMatches regex, the handler class); tried in order
            "target": class_name(handler), "target_is_name": False})

    def routes_of(self, app: Any) -> list[Route]:
        """One route per rule whose target is a handler class, in the order Tornado tries
        them (hosts' rules first, as `add_handlers` puts them before the wildcard's)."""
        routes = []
        for rule in rules_of(app):
            handler = rule.target
            methods = defined_methods(handler)
            chain = (link_of(handler, "view_class", handler.__name__), *(
                each for method in methods
                for each in method_links(getattr(handler, method.lower()), method)))
            routes.append(Route(rule=pattern(rule) or "?", endpoint=endpoint(rule),
                                methods=methods, blueprint=None, chain=chain,
                                app=getattr(type(app), "__module__", None)))
        return routes

    # -- one request's context ------------------------------------------------------------

    def _beginning(self, original: Callable) -> Callable:
        """`_RoutingDelegate.headers_received` beginning the request's record, in a context
        of its own: for an application, or any router (a `RuleRouter` may hand the request
        on to an application mounted under it)."""
        hooks = self

        def headers_received(delegate: Any, start_line: Any, headers: Any) -> Any:
            if not hooks.active or muted() or current_request() is not None:
                return original(delegate, start_line, headers)
            exchange = _Exchange(contextvars.copy_context())
            hooks._exchanges[delegate] = exchange
            return hooks._within(exchange, hooks._begin_then, exchange, original, delegate,
                                 start_line, headers)

        headers_received.__wrapped__ = original  # type: ignore[attr-defined]
        return headers_received

    def _within_exchange(self, original: Callable) -> Callable:
        """A `_RoutingDelegate` method run inside its request's context."""
        hooks = self

        def within(delegate: Any, *args: Any) -> Any:
            exchange = hooks._exchanges.get(delegate) if hooks.active else None
            if exchange is None or exchange.ended:
                return original(delegate, *args)
            if original.__name__ != "finish":
                return hooks._within(exchange, original, delegate, *args)
            with hooks.recorder.guard():
                hooks._within(exchange, hooks._body_arrived, exchange, delegate)
            result = hooks._within(exchange, original, delegate, *args)
            if not _runs_a_handler(delegate):  # no `_execute` will end it: it ends here
                hooks._end(exchange)
            return result

        within.__wrapped__ = original  # type: ignore[attr-defined]
        return within

    def _closing(self, original: Callable) -> Callable:
        """`on_connection_close`: a request still open ends with the connection."""
        hooks = self

        def on_connection_close(delegate: Any) -> Any:
            exchange = hooks._exchanges.get(delegate) if hooks.active else None
            if exchange is None or exchange.ended:
                return original(delegate)
            try:
                return hooks._within(exchange, original, delegate)
            finally:
                if not exchange.executed or exchange.handler is None or (
                        getattr(exchange.handler, "_finished", True)):
                    hooks._end(exchange, closed=True)

        on_connection_close.__wrapped__ = original  # type: ignore[attr-defined]
        return on_connection_close

    def _within(self, exchange: _Exchange, function: Callable, *args: Any) -> Any:
        """Run `function` in the request's context (already there when entered), with
        watched code caught and, in line mode, its lines traced."""
        if exchange.entered:
            return function(*args)
        exchange.entered = True
        try:
            with self._catching():
                return exchange.context.run(function, *args)
        finally:
            exchange.entered = False

    def _begin_then(self, exchange: _Exchange, original: Callable, delegate: Any,
                    start_line: Any, headers: Any) -> Any:
        recorder = self.recorder
        with recorder.guard():
            path, _, query = str(start_line.path).partition("?")
            environ = {"QUERY_STRING": query, "CONTENT_TYPE": headers.get("Content-Type", "")}
            environ.update({"HTTP_" + name.upper().replace("-", "_"): value
                            for name, value in headers.get_all()})
            secrets = environ_secrets(environ, None) if recorder.redact else set()
            handle = recorder.begin_request(secrets=secrets, framework="tornado")
            facts = {"method": str(start_line.method), "path": _unquoted(path),
                     "query": recorder.repr(query)[1:-1] if query else ""}
            handle[0].info.update(facts)
            exchange.handle = handle
            _exchange.set(exchange)
            exchange.detail.update({"method": recorder.repr(facts["method"]),
                                    "path": recorder.repr(facts["path"]),
                                    "query": recorder.repr(query)})
            exchange.detail.update({f"header {name}": value for name, value in recorder.named(
                {name: value for name, value in headers.get_all()}).items()})
            # The body is added to this detail when it has arrived (`_body_arrived`).
            exchange.step = recorder.call(code_of(original), exchange.detail,
                                          role=Role.REQUEST,
                                          facts={**facts, "framework": "tornado"})
        return original(delegate, start_line, headers)

    def _body_arrived(self, exchange: _Exchange, delegate: Any) -> None:
        """The whole body (unless the handler streams it): kept for replaying the request,
        its secret fields learned before anything stored can show them."""
        chunks = getattr(delegate.delegate, "chunks", None)  # a list in older Tornado 6 releases
        if isinstance(chunks, list) and all(isinstance(c, bytes) for c in chunks):
            chunks = b"".join(chunks)
        if not isinstance(chunks, bytes | bytearray) or not chunks:
            return
        body = bytes(chunks)
        request = getattr(delegate.delegate, "request", None)
        content_type = str(request.headers.get("Content-Type", "")) if request else ""
        if self.recorder.redact:
            self.recorder.add_secrets(body_secrets(body, content_type))
        exchange.detail.update({"body": repr(body[:KEPT_BODY]), "body_bytes": str(len(body))})
        if len(body) > KEPT_BODY:
            exchange.detail["body_cut"] = str(KEPT_BODY)

    def _end(self, exchange: _Exchange, *, closed: bool = False) -> None:
        """Close the request's step and file its record, in the context it began in."""
        if exchange.ended or exchange.handle is None:
            return
        exchange.ended = True
        self._within(exchange, self._file, exchange, closed)

    def _file(self, exchange: _Exchange, closed: bool) -> None:
        recorder = self.recorder
        handle = exchange.handle
        assert handle is not None
        with recorder.guard():
            info = handle[0].info
            if closed and info.get("status") is None:
                info.setdefault("error", "the connection closed before a response was sent")
            settle_outcome(info)
            recorder.leave(exchange.step, result=None, facts={"status": info.get("status")})
        recorder.end_request(handle)

    # -- the match ------------------------------------------------------------------------

    def _trying(self, original: Callable) -> Callable:
        """`PathMatches.match`, remembering what `find_handler` tried (no step: a rule
        tried is a fact of the match)."""
        hooks = self

        def match(matcher: Any, request: Any) -> Any:
            found = original(matcher, request)
            exchange = _exchange.get() if hooks.active else None
            if exchange is not None and not exchange.ended:
                exchange.tried.append((str(matcher.regex.pattern), found is not None))
            return found

        match.__wrapped__ = original  # type: ignore[attr-defined]
        return match

    def _after_find_handler(self, step: int | None, args: tuple, kwargs: dict,
                            result: Any) -> None:
        app = args[0]
        exchange = _exchange.get()
        record = current_request()
        if exchange is None or record is None:
            return
        tried = [regex for regex, _ in exchange.tried]
        handler = getattr(result, "handler_class", None)
        if inspect.isclass(handler):
            self._watch_handler(handler)  # its instance is made before `_execute` runs
        rule = next((each for each in rules_of(app) if each.target is handler
                     and pattern(each) in [p for p, ok in exchange.tried if ok]), None)
        facts: Facts = {"path": record.info.get("path"), "tried": tried, "rules": len(tried),
                        "handler": class_name(handler)}
        if rule is None:
            default = app.settings.get("default_handler_class")
            facts.update(matched=False, outcome="not_found",
                         default_handler=class_name(handler) if default else None)
            if handler is not None and handler is getattr(_web(), "ErrorHandler", None):
                facts["status"] = 404
            record.info["outcome"] = "not_found"
        else:
            view_args = self.recorder.view_args({
                **{str(n): _text(v) for n, v in enumerate(result.path_args or (), 1)},
                **{str(k): _text(v) for k, v in (result.path_kwargs or {}).items()}})
            facts.update(matched=True, rule=pattern(rule), endpoint=endpoint(rule),
                         name=rule.name, view_args=view_args,
                         kwargs=self.recorder.named(dict(result.handler_kwargs or {})))
            record.info.update(rule=pattern(rule), endpoint=endpoint(rule),
                               view_args=view_args)
        self.recorder.annotate(step, facts)

    # -- the handler ----------------------------------------------------------------------

    def _executing(self, original: Callable) -> Callable:
        """`RequestHandler._execute` as a step (`Role.DISPATCH`) whose coroutine runs with
        watched code caught at each of its steps, and whose end files the request."""
        hooks = self

        async def _execute(handler: Any, *args: Any, **kwargs: Any) -> Any:
            exchange = _exchange.get() if hooks.active else None
            if exchange is None or exchange.ended or current_request() is None:
                return await original(handler, *args, **kwargs)
            step = None
            with hooks.recorder.guard():
                exchange.executed = True
                exchange.handler = handler
                hooks._by_handler[handler] = exchange
                step = hooks._open_dispatch(handler)
            try:
                await _Stepped(original(handler, *args, **kwargs), hooks._catching)
            except BaseException as error:
                with hooks.recorder.guard():
                    hooks.recorder.leave(step, error=error)
                hooks._end(exchange)
                raise
            with hooks.recorder.guard():
                hooks._close_dispatch(step, handler)
            exchange.dispatched = True
            if getattr(handler, "_finished", True):
                hooks._end(exchange)
            return None

        _execute.__wrapped__ = original  # type: ignore[attr-defined]
        return _execute

    def _note_exception(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """An `HTTPError` is an answer the app chose; any other exception is an error of the
        request (Tornado logs it and answers 500)."""
        record = current_request()
        error = args[1] if len(args) > 1 else kwargs.get("e")
        if record is None or error is None:
            return
        if type(error).__name__ == "HTTPError":
            record.info["http_exception"] = True
        else:
            record.info.setdefault("error", self.recorder.repr(error))

    def _note_error_page(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """`Role.ERROR_HANDLER`: who writes the error page `send_error` asks for, the class's
        own `write_error` or Tornado's (None)."""
        written_by = getattr(type(args[0]), "write_error", None)
        own = written_by is not getattr(_web().RequestHandler, "write_error", None)
        self.recorder.note(Role.ERROR_HANDLER, "write_error", {
            "handler": qualname(written_by) if own and written_by is not None else None,
            **_describe_send_error(args, kwargs)})

    def _catching(self) -> Any:
        """Line tracing (when on) and watched-code catching, for one step of the request's
        own code."""
        if self.lines is None:
            return self.watcher.catching()
        stack = ExitStack()
        stack.enter_context(self.lines.tracing())
        stack.enter_context(self.watcher.catching())
        return stack

    def _open_dispatch(self, handler: Any) -> int | None:
        cls = type(handler)
        method = str(handler.request.method)
        supported = [str(m) for m in cls.SUPPORTED_METHODS]
        looked_up = method.lower()
        facts: Facts = {"handler": class_name(cls), "method": method,
                        "supported_methods": supported}
        if method in supported:
            facts.update(looked_up=looked_up,
                         defines=defines(cls, looked_up))
        self._watch_handler(cls)
        return self.recorder.call(code_of(_execute_code(cls)), {
            "handler": self.recorder.repr(handler)}, role=Role.DISPATCH, facts=facts)

    def _close_dispatch(self, step: int | None, handler: Any) -> None:
        record = current_request()
        status = handler.get_status()
        facts: Facts = {"status": status, "finished": bool(getattr(handler, "_finished", False))}
        if status == 405 and record is not None and record.info.get("outcome") != "not_found":
            cls = type(handler)
            facts.update(outcome="method_not_allowed")
            record.info["outcome"] = "method_not_allowed"
            allowed = [m for m in defined_methods(cls) if m in cls.SUPPORTED_METHODS]
            facts["allowed_methods"] = record.info["allowed_methods"] = allowed
        self.recorder.annotate(step, facts)  # on the call: what `compare` reads
        self.recorder.leave(step, result=None, facts=facts)

    def _watch_handler(self, cls: type) -> None:
        """Catch the calls Tornado makes into the class's own code: `initialize` (given the
        rule's keyword arguments when the instance is made), `prepare`, the method
        `_execute` finds by name and each decorator layer around it, `write_error`,
        `on_finish`; and Tornado's `_unimplemented_method` (the 405 of a method the class
        does not define)."""
        web = _web()
        base = web.RequestHandler
        for name, role in (("initialize", Role.VIEW_INIT),
                           ("prepare", Role.BEFORE_REQUEST_FUNCTION),
                           ("on_finish", Role.TEARDOWN_FUNCTION),
                           ("write_error", Role.ERROR_HANDLER)):
            found = getattr(cls, name, None)
            code = code_of(found)
            if code is not None and code is not code_of(getattr(base, name)):
                self.watcher.watch(code, role)
        for method in METHODS:
            found = getattr(cls, method.lower(), None)
            wrapped = list(layers(found)) if found is not None else []
            for index, each in enumerate(wrapped):
                code = code_of(each)
                if code is not None:
                    role = Role.HANDLER if index == len(wrapped) - 1 else Role.LAYER
                    self.watcher.watch(code, role, before=self._note_lookup)

    def _note_lookup(self, frame: FrameType) -> None:
        """`Role.HANDLER_LOOKUP`, once per request, just before the callable that
        `getattr(self, self.request.method.lower())` found is called."""
        exchange = _exchange.get()
        handler = exchange.handler if exchange is not None else None
        if exchange is None or handler is None or exchange.looked_up:
            return
        exchange.looked_up = True
        method = str(handler.request.method)
        attribute = getattr(type(handler), method.lower(), None)
        defined = defines(type(handler), method.lower())
        self.recorder.note(Role.HANDLER_LOOKUP, "getattr", {
            "method": method, "tried": method.lower(), "found": defined, "fallback": None,
            "handler": getattr(attribute, "__qualname__", None) if defined else None,
            **({} if defined else {
                "error": "RequestHandler._unimplemented_method: HTTPError(405)"}),
        })

    def _finishing(self, original: Callable) -> Callable:
        """`RequestHandler.finish` as a step (`Role.FINALIZE`: `on_finish` runs inside it);
        a handler that finishes after `_execute` returned ends its request here."""
        traced = self.traced(original, Role.FINALIZE, when=_in_request, catch=True)
        hooks = self

        def finish(handler: Any, *args: Any, **kwargs: Any) -> Any:
            exchange = hooks._by_handler.get(handler) if hooks.active else None
            if exchange is None or exchange.ended:
                return traced(handler, *args, **kwargs)
            if exchange.executed and _exchange.get() is None:  # later, from elsewhere
                result = hooks._within(
                    exchange, functools.partial(traced, handler, *args, **kwargs))
            else:
                result = traced(handler, *args, **kwargs)
            if exchange.dispatched:
                hooks._end(exchange)
            return result

        finish.__wrapped__ = original  # type: ignore[attr-defined]
        return finish

    # -- what goes out --------------------------------------------------------------------

    def _writing_headers(self, original: Callable) -> Callable:
        """`HTTP1Connection.write_headers` of a server connection: the status line and
        headers as sent (`Role.START_RESPONSE`), `Set-Cookie` values learned as secrets."""
        hooks = self

        def write_headers(connection: Any, start_line: Any, headers: Any, *args: Any,
                          **kwargs: Any) -> Any:
            record = current_request()
            if (not hooks.active or record is None or _exchange.get() is None
                    or getattr(connection, "is_client", True)):
                return original(connection, start_line, headers, *args, **kwargs)
            step = None
            with hooks.recorder.guard():
                step = hooks._open_start_response(record, start_line, headers)
            return hooks.run_then_leave(step, original, connection, start_line, headers,
                                        *args, **kwargs)

        write_headers.__wrapped__ = original  # type: ignore[attr-defined]
        return write_headers

    def _open_start_response(self, record: Any, start_line: Any, headers: Any) -> int | None:
        recorder = self.recorder
        pairs = [(str(name), str(value)) for name, value in headers.get_all()]
        for name, value in pairs:
            if name.lower() == "set-cookie":
                recorder.add_secrets(set_cookie_secrets(value))
        code = int(start_line.code)
        status_line = f"{code} {start_line.reason}"
        named = recorder.named(dict(pairs))
        facts = {"status": code, "status_line": recorder.repr(status_line)[1:-1],
                 "headers": [f"{name}: {_unquote_repr(named.get(name, ''))}"
                             for name, _ in pairs],
                 "exc_info": False}
        record.info["status"] = code
        location = dict((n.lower(), v) for n, v in pairs).get("location")
        if location and 300 <= code < 400:
            record.info.setdefault("redirect_to", location)
        detail = {"status": recorder.repr(status_line)}
        detail.update({f"header {name}": value for name, value in named.items()})
        return recorder.call(None, detail, name="HTTP1Connection.write_headers",
                             role=Role.START_RESPONSE, facts=facts)


class _Stepped:
    """A coroutine run one step at a time with watched-code catching on at each step
    (3.11 catches with a trace function on the thread: switched on only while this
    request's own code runs, never while the loop runs another task)."""

    __slots__ = ("_coroutine", "_catching")

    def __init__(self, coroutine: Coroutine, catching: Callable[[], Any]) -> None:
        self._coroutine = coroutine
        self._catching = catching

    def __await__(self) -> _Stepped:
        return self

    def __iter__(self) -> _Stepped:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        with self._catching():
            return self._coroutine.send(value)

    def throw(self, *error: Any) -> Any:
        with self._catching():
            return self._coroutine.throw(*error)

    def close(self) -> None:
        self._coroutine.close()


def _runs_a_handler(delegate: Any) -> bool:
    """Whether a `_RoutingDelegate` handed the request to a `RequestHandler` (whose
    `_execute` ends the record), through any routers in between; not when a router found
    nothing (Tornado's bare 404) or routed to a plain callable."""
    web = sys.modules.get("tornado.web")
    handler_delegate = getattr(web, "_HandlerDelegate", None)
    seen = 0
    while type(delegate).__name__ == "_RoutingDelegate" and seen < 16:
        delegate, seen = getattr(delegate, "delegate", None), seen + 1
    return isinstance(handler_delegate, type) and isinstance(delegate, handler_delegate)


def _execute_code(cls: type) -> Any:
    """The `_execute` Tornado defined (its source is what the step points at)."""
    found = getattr(cls, "_execute", None)
    return getattr(found, "__wrapped__", found)


def _text(value: Any) -> Any:
    """A path group as Tornado passes it (bytes until `decode_argument`), as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _unquoted(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


def _unquote_repr(stored: str) -> str:
    if len(stored) >= 2 and stored[0] == stored[-1] and stored[0] in "'\"":
        return stored[1:-1]
    return stored


def _describe_application(args: tuple, kwargs: dict) -> Facts:
    handlers = kwargs.get("handlers", args[1] if len(args) > 1 else None) or ()
    return {"handlers": len(list(handlers)) if isinstance(handlers, list | tuple) else None,
            "settings": sorted(str(k) for k in kwargs if k not in (
                "handlers", "default_host", "transforms"))}


def _describe_add_handlers(args: tuple, kwargs: dict) -> Facts:
    host = kwargs.get("host_pattern", args[1] if len(args) > 1 else None)
    handlers = kwargs.get("host_handlers", args[2] if len(args) > 2 else None) or ()
    return {"host_pattern": str(host), "handlers": len(list(handlers))}


def _describe_find_handler(args: tuple, kwargs: dict) -> Facts:
    exchange = _exchange.get()
    if exchange is not None:
        exchange.tried.clear()
    return {}


def _describe_exception(args: tuple, kwargs: dict) -> Facts:
    error = args[1] if len(args) > 1 else kwargs.get("e")
    status = getattr(error, "status_code", None)
    return {"exception": type(error).__name__, "status": status if isinstance(
        status, int) else 500, "http_error": type(error).__name__ == "HTTPError"}


def _describe_send_error(args: tuple, kwargs: dict) -> Facts:
    status = kwargs.get("status_code", args[1] if len(args) > 1 else 500)
    return {"status": status if isinstance(status, int) else None}
