"""One request to a plain WSGI, Werkzeug or Bottle app, told in that framework's own terms.

The same rule as `request.py`: each sentence is chosen by the roles of recorded steps (and,
where Werkzeug records a step without a role, its name and facts) and filled with their
facts. Flask's words (`wsgi_app`, `view_functions`, contexts) never appear here: these
apps have none of them. `trace.meta["framework"]` picks the words; the walk is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, clip, item, q
from tracer.frameworks.narration.steps import Steps, code_list, leaf, step_lines, where
from tracer.model import ChainLink, Request, Role, Route, Step, Trace

_BIND = "Map.bind"
_REQUEST_INIT = "Request.__init__"


def narrate_wsgi_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a non-Flask app, in the order things happened."""
    return _WsgiRequest(trace, request).build()


def _view_args(values: Any) -> str:
    if not values:
        return "{}"
    return "{" + ", ".join(f"{k!r}: {v}" for k, v in dict(values).items()) + "}"


def request_route(routes: Iterable[Route], request: Request) -> Route | None:
    """The route a request reached: same endpoint and, when several, one allowing its method."""
    same = [r for r in routes if r.endpoint == request.endpoint and r.endpoint]
    for route in same:
        if request.method in route.methods:
            return route
    return same[0] if same else None


class _WsgiRequest:
    def __init__(self, trace: Trace, request: Request) -> None:
        self.trace = trace
        self.framework = str(trace.meta.get("framework") or "wsgi")
        self.request = request
        self.steps = Steps(request.steps)
        self.sources = trace.sources
        self.items: list[Item] = []
        route = request_route(trace.routes, request)
        self.chain: tuple[ChainLink, ...] = route.chain if route is not None else ()
        self.registration = Steps(trace.registration.steps)
        self.handlers: dict[str, Callable[[Step], bool]] = {
            Role.REQUEST: self._request,
            Role.MATCH: self._match,
            Role.DISPATCH: self._dispatch,
            Role.VIEW: self._view,
            Role.LAYER: self._layer,
            Role.WRAP_CALLBACK: self._wrap_callback,
            Role.BEFORE_REQUEST: self._hooks,
            Role.AFTER_REQUEST: self._hooks,
            Role.MAKE_RESPONSE: self._make_response,
            Role.FINALIZE: self._finalize,
            Role.ERROR_HANDLING: self._error_handling,
            Role.START_RESPONSE: self._start_response,
            Role.RESPONSE_BODY: self._body,
        }

    def build(self) -> list[Item]:
        for step in self.steps.top():
            self._visit(step)
        self._answer()
        return self.items

    def _visit(self, step: Step) -> None:
        handler = self.handlers.get(step.role or "")
        if handler is None and step.name == _BIND and step.facts:
            handler = self._bind
        if handler is not None and handler(step):
            return
        for child in self.steps.children(step, "call", "note"):
            self._visit(child)

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))

    def _lines(self, step: Step) -> list[tuple[str, int]]:
        return step_lines(self.sources, self.steps, step)

    def _caller(self, step: Step) -> str:
        parent = self.steps.parent(step)
        return parent.name if parent is not None else "?"

    # -- the WSGI call -----------------------------------------------------------------------

    def _request(self, step: Step) -> bool:
        params = {"app": step.name, "at": where(step.file, step.line),
                  "method": self.request.method, "path": self.request.path}
        if self.framework == "bottle":
            self._add([step], Message(
                N_("The WSGI server called the Bottle app for {method} {path}; Bottle's "
                   "`{app}(environ, start_response)` took the call."), params),
                sources=self._lines(step))
            return False
        inner = self.steps.with_role(step, Role.VIEW, kinds=("call",))
        made = self._wsgi_app_of(inner[0]) if inner else None
        if self.framework == "werkzeug" and made is not None:
            init = [c for c in self.steps.children(step, "call") if c.name == _REQUEST_INIT]
            params.update(view=inner[0].name, view_at=where(inner[0].file, inner[0].line),
                          request_class=made.facts.get("request_class") or "Request",
                          result=clip(self.steps.result(inner[0])))
            self._add([step, *init, inner[0]], Message(
                N_("The WSGI server called `application(environ, start_response)`, the WSGI "
                   "app `@Request.application` made of `{view}`, for {method} {path}."), params),
                Message(N_("`application` built a `{request_class}` from the environ and "
                           "called `{view}(request)` ({view_at}), which returned {result}."),
                        params), sources=[*self._lines(step), *self._lines(inner[0])])
            for child in self.steps.children(inner[0], "call"):
                self._visit(child)
            for child in self.steps.children(step, "call"):
                if child is not inner[0] and child.name != _REQUEST_INIT:
                    self._visit(child)
            self._returned(step)
            return True
        self._add([step], Message(
            N_("The WSGI server called your app `{app}(environ, start_response)` ({at}) for "
               "{method} {path}: a plain WSGI callable, with no framework in between."),
            params), sources=self._lines(step))
        for child in self.steps.children(step, "call"):
            self._visit(child)
        self._returned(step)
        return True

    def _returned(self, step: Step) -> None:
        raised = self.steps.raised(step)
        if raised:
            self._add([step], Message(N_("`{app}` raised {exception}: no response."),
                                      {"app": step.name, "exception": clip(raised)}))
            return
        self._add([step], Message(
            N_("`{app}` returned {result} to the server: the body, an iterable of bytes."),
            {"app": step.name, "result": clip(self.steps.result(step))}))

    def _wsgi_app_of(self, view: Step) -> Step | None:
        for step in self.registration.steps:
            if step.role == Role.WSGI_APP and step.facts.get("view") == view.name:
                return step
        return None

    def _start_response(self, step: Step) -> bool:
        facts = step.facts
        self._add([step], Message(
            N_("`{caller}` called `start_response({status_line}, headers)` with the headers "
               "{headers}: the server now has the status and headers; the body follows."),
            {"caller": self._caller(step), "status_line": q(facts.get("status_line")),
             "headers": code_list(facts.get("headers") or []) or ["—"]}))
        return True

    def _body(self, step: Step) -> bool:
        facts = step.facts
        params = {"chunks": facts.get("chunks", "?"), "bytes": facts.get("bytes", "?"),
                  "body_type": facts.get("body_type", "?"), "close": step.name}
        if "body_type" in facts:
            message = Message(N_("The server iterated the body (a `{body_type}`): {chunks} "
                                 "chunk(s), {bytes} bytes."), params)
        elif facts.get("close"):
            message = Message(N_("Then the server called the body's `close()` (`{close}`), as "
                                 "PEP 3333 requires once it is done with it."), params)
        else:
            message = Message(N_("The body has no `close()` method, so the server had nothing "
                                 "to close."), params)
        self._add([step], message)
        return True

    # -- Werkzeug routing --------------------------------------------------------------------

    def _bind(self, step: Step) -> bool:
        facts = step.facts
        self._add([step], Message(
            N_("`{caller}` bound the URL map to this request: `Map.bind` (what "
               "`bind_to_environ` calls) made a `MapAdapter` for the server {server_name}, "
               "script name {script_name}, path {path} and method {method}, over the map's "
               "{rules} rules."),
            {"caller": self._caller(step), "server_name": q(facts.get("server_name")),
             "script_name": q(facts.get("script_name")), "path": q(facts.get("path")),
             "method": facts.get("method"), "rules": facts.get("rules", "?")}),
            sources=self._lines(step))
        return True

    def _dispatch(self, step: Step) -> bool:
        if self.framework == "bottle":
            return self._handle(step)
        facts = step.facts
        params = {"caller": self._caller(step), "view_func": facts.get("view_func") or "?",
                  "endpoint": q(facts.get("endpoint")), "view": facts.get("view") or "?",
                  "exception": facts.get("http_exception") or "?"}
        self._add([step], Message(
            N_("`{caller}` called `MapAdapter.dispatch({view_func})`: it matches the request, "
               "then calls `{view_func}(endpoint, values)`."), params),
            sources=self._lines(step))
        for child in self.steps.children(step, "call"):
            if child.role == Role.VIEW:
                self._add([child], Message(
                    N_("`dispatch` called `{view_func}({endpoint}, values)`, and the app's own "
                       "endpoint → function lookup led to `{view}`."), params))
            self._visit(child)
        if facts.get("http_exception"):
            self._add([step], Message(
                N_("`dispatch` caught the `{exception}` the match raised "
                   "(`catch_http_exceptions=True`) and returned it: a werkzeug HTTP exception "
                   "is itself a response."), params))
        return True

    def _match(self, step: Step) -> bool:
        if self.framework == "bottle":
            return self._router_match(step)
        facts = step.facts
        params = {"path": q(facts.get("path", self.request.path)),
                  "method": facts.get("method", self.request.method),
                  "rule": q(facts.get("rule")), "endpoint": q(facts.get("endpoint")),
                  "view_args": _view_args(facts.get("view_args")),
                  "allowed": list(facts.get("allowed_methods") or []),
                  "status": facts.get("status"), "redirect_to": q(facts.get("redirect_to"))}
        outcome = facts.get("outcome")
        if facts.get("matched"):
            message = Message(N_("`MapAdapter.match` matched {method} {path} to the rule "
                                 "{rule}, endpoint {endpoint}, with the values {view_args}."),
                              params)
        elif outcome == "not_found":
            message = Message(N_("`MapAdapter.match` found no rule for {path} and raised "
                                 "`NotFound` (404)."), params)
        elif outcome == "method_not_allowed":
            message = Message(N_("`MapAdapter.match`: {path} matches a rule, but not for "
                                 "{method}; it raised `MethodNotAllowed` (405) with the "
                                 "allowed methods {allowed}."), params)
        elif outcome == "redirect" and facts.get("reason") == "strict_slashes":
            params["rule"] = q(str(facts.get("path", self.request.path)).rstrip("/") + "/")
            message = Message(N_("`MapAdapter.match`: {path} has no rule of its own, but {rule} "
                                 "is the same path with a trailing slash and `strict_slashes` "
                                 "is on, so it raised `RequestRedirect` ({status}) to "
                                 "{redirect_to}."), params)
        elif outcome == "redirect":
            message = Message(N_("`MapAdapter.match`: the rule for {path} redirects, so it "
                                 "raised `RequestRedirect` ({status}) to {redirect_to}."), params)
        else:
            message = Message(N_("`MapAdapter.match` was asked to match {path}."), params)
        self._add([step], message, sources=self._lines(step))
        return True

    def _view(self, step: Step) -> bool:
        params: dict[str, Any] = {"view": step.name, "at": where(step.file, step.line)}
        raised = self.steps.raised(step)
        if raised:
            end = self.steps.end(step)
            params.update(exception=clip(raised), line=end.line if end and end.line else "?")
            if self.framework == "bottle":
                message = Message(N_("The route's callback `{view}` ({at}) raised {exception} "
                                     "at line {line}."), params)
            else:
                message = Message(N_("The endpoint's function `{view}` ({at}) raised "
                                     "{exception} at line {line}."), params)
        else:
            params["result"] = clip(self.steps.result(step))
            if self.framework == "bottle":
                message = Message(N_("The route's callback `{view}` ({at}) ran and returned "
                                     "{result}."), params)
            else:
                message = Message(N_("The endpoint's function `{view}` ({at}) ran and returned "
                                     "{result}."), params)
        self._add([step], message, sources=self._lines(step))
        return False

    def _make_response(self, step: Step) -> bool:
        facts = step.facts
        params = {"caller": self._caller(step), "from_type": facts.get("from_type"),
                  "status": facts.get("status"), "mimetype": facts.get("mimetype")}
        if self.framework == "bottle":
            return self._cast(step, params)
        self._add([step], Message(
            N_("`{caller}` built a werkzeug `Response` from a `{from_type}`: {status}, "
               "`{mimetype}`."), params), sources=self._lines(step))
        return True

    def _finalize(self, step: Step) -> bool:
        self._add([step], Message(
            N_("`{caller}` called the response as a WSGI app, "
               "`Response.__call__(environ, start_response)`: a werkzeug response answers the "
               "server itself."), {"caller": self._caller(step)}), sources=self._lines(step))
        return False

    def _error_handling(self, step: Step) -> bool:
        facts = step.facts
        self._add([step], Message(
            N_("`{caller}` called the `{exception}` as a WSGI app "
               "(`HTTPException.__call__`): it built its {code} response as a `Response` and "
               "called that."),
            {"caller": self._caller(step), "exception": facts.get("exception"),
             "code": facts.get("code")}), sources=self._lines(step))
        return False

    # -- Bottle ------------------------------------------------------------------------------

    def _handle(self, step: Step) -> bool:
        self._add([step], Message(
            N_("`{handle}` took the request: request hooks, `Router.match`, then the route's "
               "callback."), {"handle": step.name}), sources=self._lines(step))
        for child in self.steps.children(step, "call"):
            self._visit(child)
        returned = step.facts.get("returned")
        if returned == "HTTPError":
            self._add([step], Message(
                N_("`{handle}` caught the `HTTPError` and returned it as the result, instead "
                   "of a callback's output."), {"handle": step.name}))
        return True

    def _hooks(self, step: Step) -> bool:
        role = Role.BEFORE_REQUEST_FUNCTION if step.role == Role.BEFORE_REQUEST else \
            Role.AFTER_REQUEST_FUNCTION
        functions = self.steps.with_role(step, role, kinds=("call",))
        hook = "before_request" if step.role == Role.BEFORE_REQUEST else "after_request"
        if functions:
            self._add([step, *functions], Message(
                N_("`{name}` ran the `{hook}` hooks {functions}."),
                {"name": step.name, "hook": hook,
                 "functions": code_list(leaf(f.name) for f in functions)}))
        else:
            self._add([step], Message(N_("`{name}` found no `{hook}` hooks to run."),
                                      {"name": step.name, "hook": hook}))
        return True

    def _stored_in(self, rule: Any, method: Any) -> str | None:
        for step in self.registration.steps:
            facts = step.facts
            if (step.role == Role.RULE_ADDED and facts.get("rule") == rule
                    and method in (facts.get("methods") or [])):
                return facts.get("stored_in")
        return None

    def _router_match(self, step: Step) -> bool:
        facts = step.facts
        method = facts.get("method", self.request.method)
        params = {"path": q(facts.get("path", self.request.path)), "method": method,
                  "rule": q(facts.get("rule")), "view_args": _view_args(facts.get("view_args")),
                  "view": facts.get("view") or "?", "name": q(facts.get("name")),
                  "allowed": list(facts.get("allowed_methods") or []),
                  "status": facts.get("status")}
        messages = []
        if facts.get("matched"):
            stored = self._stored_in(facts.get("rule"), method)
            params["stored_in"] = stored or "?"
            if stored:
                messages.append(Message(N_("`Router.match` found {method} {path} in "
                                           "`{stored_in}`: the route {rule} → `{view}`, with "
                                           "`url_args = {view_args}`."), params))
            else:
                messages.append(Message(N_("`Router.match` matched {method} {path} to the "
                                           "route {rule} → `{view}`, with "
                                           "`url_args = {view_args}`."), params))
            if facts.get("name"):
                messages.append(Message(N_("The route is named {name}."), params))
        elif facts.get("outcome") == "method_not_allowed":
            messages.append(Message(N_("`Router.match`: {path} has routes, but none for "
                                       "{method}; it raised `HTTPError(405)` with the `Allow` "
                                       "header listing {allowed}."), params))
        elif facts.get("outcome") == "not_found":
            messages.append(Message(N_("`Router.match` found no route for {method} {path} and "
                                       "raised `HTTPError(404)`."), params))
        else:
            messages.append(Message(N_("`Router.match` was asked to match {method} {path}."),
                                    params))
        self._add([step], *messages, sources=self._lines(step))
        return True

    def _wrap_callback(self, step: Step) -> bool:
        facts = step.facts
        plugins = self.steps.with_role(step, Role.PLUGIN, kinds=("call", "note"))
        names = [str(p.facts.get("plugin")) for p in plugins] or list(facts.get("plugins") or [])
        wrapped = [str(p.facts.get("plugin")) for p in plugins if p.facts.get("changed", True)]
        params = {"view": facts.get("view") or "?", "plugins": code_list(names) or ["—"],
                  "first": wrapped[0] if wrapped else "?",
                  "last": wrapped[-1] if wrapped else "?"}
        children = [self._plugin(p) for p in plugins]
        messages = [Message(N_("This is the route's first request, so `Route._make_callback` "
                               "built its callback now: it passed `{view}` through the plugins "
                               "{plugins}, in that order."), params)]
        if len(wrapped) > 1:
            messages.append(Message(N_("The first to wrap it, `{first}`, is the innermost "
                                       "layer; the last, `{last}`, is the outermost and runs "
                                       "first."), params))
        elif wrapped:
            messages.append(Message(N_("Only `{first}` wrapped it: one layer around `{view}`."),
                                    params))
        elif plugins:
            messages.append(Message(N_("None of them wrapped it: `{view}` is called as it is."),
                                    params))
        self._add([step, *plugins], *messages, sources=self._lines(step), children=children)
        return True

    def _plugin(self, step: Step) -> Item:
        facts = step.facts
        params = {"position": int(facts.get("position", 0)) + 1, "count": facts.get("count"),
                  "plugin": facts.get("plugin"), "callback": facts.get("callback"),
                  "produced": facts.get("produced")}
        if not facts.get("changed", True):
            message = Message(N_("Plugin {position} of {count}: `{plugin}` left `{callback}` "
                                 "as it was."), params)
        elif facts.get("outermost"):
            message = Message(N_("Plugin {position} of {count}: `{plugin}` wrapped "
                                 "`{callback}` and returned `{produced}`, the outermost "
                                 "layer."), params)
        else:
            message = Message(N_("Plugin {position} of {count}: `{plugin}` wrapped "
                                 "`{callback}` and returned `{produced}`."), params)
        return Item((step.id,), (message,))

    def _link_index(self, step: Step) -> int | None:
        for index, link in enumerate(self.chain):
            if (link.file, link.line) == (step.file, step.line):
                return index
        return None

    def _layer(self, step: Step) -> bool:
        index = self._link_index(step)
        link = self.chain[index] if index is not None else None
        following = self.chain[index + 1].qualname if index is not None and (
            index + 1 < len(self.chain)) else "?"
        params = {"layer": step.name, "plugin": (link.decorator if link else None) or "?",
                  "at": where(step.file, step.line), "next": following}
        raised = self.steps.raised(step)
        inner = [c for c in self.steps.children(step, "call")
                 if c.role in (Role.LAYER, Role.VIEW)]
        if raised:
            params["exception"] = clip(raised)
            message = Message(N_("Plugin layer `{layer}` (from `{plugin}`, {at}) raised "
                                 "{exception}."), params)
        elif inner:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Plugin layer `{layer}` (from `{plugin}`, {at}) called the "
                                 "next layer, `{next}`; it returned {result}."), params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Plugin layer `{layer}` (from `{plugin}`, {at}) returned "
                                 "{result} without calling `{next}`."), params)
        self._add([step], message, sources=self._lines(step))
        return False

    def _cast(self, step: Step, params: dict[str, Any]) -> bool:
        parent = self.steps.parent(step)
        if parent is not None and parent.role == Role.MAKE_RESPONSE:
            return True
        notes = self.steps.with_role(step, Role.ERROR_HANDLER, kinds=("note",))
        calls = self.steps.with_role(step, Role.ERROR_HANDLER, kinds=("call",))
        if notes:
            found = notes[0].facts
            params.update(handler=found.get("handler"), code=found.get("code"))
            if found.get("registered"):
                message = Message(N_("`Bottle._cast` got an `HTTPError` ({code}) and called "
                                     "the handler registered with `@app.error({code})`, "
                                     "`{handler}`; its output became the body."), params)
            else:
                message = Message(N_("`Bottle._cast` got an `HTTPError` ({code}); no handler "
                                     "is registered for {code}, so it called `{handler}`, "
                                     "which rendered Bottle's error page."), params)
        else:
            message = Message(N_("`Bottle._cast` turned the returned `{from_type}` into the "
                                 "body bytes (status {status})."), params)
        self._add([step, *notes, *calls], message, sources=self._lines(step))
        return True

    # -- the end -----------------------------------------------------------------------------

    def _answer(self) -> None:
        top = self.steps.top()
        if self.request.status is not None:
            self._add(top[:1], Message(N_("The response went out with status {status}."),
                                       {"status": self.request.status}))
        elif self.request.error:
            self._add(top[:1], Message(N_("No response: the exception left the app: {error}."),
                                       {"error": clip(self.request.error)}))
