"""One request to a Bottle app, told in Bottle's own terms.

What Bottle records beneath the WSGI call: `_handle` taking the request, the request hooks,
`Router.match` (and where the route was stored), the plugins `Route._make_callback` wraps
the callback in on a route's first request, the route's callback, and `_cast` turning its
output (or an `HTTPError`, through the app's error handler) into the body. The walk, the
plugin layers and the bare exchange are WSGI's (`tracer.frameworks.wsgi.narrate_request`).
"""

from __future__ import annotations

from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, q
from tracer.frameworks.narration.steps import code_list, leaf
from tracer.frameworks.wsgi.narrate_request import WsgiRequest, view_args_text
from tracer.model import Request, Role, Step, Trace

#: Steps only Bottle records.
_PARTS = frozenset({"Bottle._handle", "Router.match", "Bottle._cast"})


def uses_parts(trace: Trace) -> bool:
    """Whether a plain WSGI app's trace holds Bottle's steps (a Bottle app called through
    other WSGI code, or loaded with `--wsgi`). It is then told in Bottle's words."""
    return any(step.name in _PARTS for request in trace.requests for step in request.steps)


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a Bottle app, in the order things happened."""
    return BottleRequest(trace, request).build()


class BottleRequest(WsgiRequest):
    """`_handle`, the hooks, `Router.match`, the plugins, the callback and `_cast`."""

    def __init__(self, trace: Trace, request: Request) -> None:
        super().__init__(trace, request)
        self.handlers.update({
            Role.REQUEST: self._request,
            Role.MATCH: self._router_match,
            Role.DISPATCH: self._handle,
            Role.VIEW: self._view,
            Role.WRAP_CALLBACK: self._wrap_callback,
            Role.BEFORE_REQUEST: self._hooks,
            Role.AFTER_REQUEST: self._hooks,
            Role.MAKE_RESPONSE: self._make_response,
        })

    def _request(self, step: Step) -> bool:
        self._add([step], Message(
            N_("The WSGI server called the Bottle app for {method} {path}; Bottle's "
               "`{app}(environ, start_response)` took the call."), self._request_params(step)),
            sources=self._lines(step))
        return False

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

    # -- routing -----------------------------------------------------------------------------

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
                  "rule": q(facts.get("rule")),
                  "view_args": view_args_text(facts.get("view_args")),
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

    # -- the callback and its plugins --------------------------------------------------------

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

    def _view(self, step: Step) -> bool:
        return self._tell_view(
            step,
            raised=N_("The route's callback `{view}` ({at}) raised {exception} at line "
                      "{line}."),
            returned=N_("The route's callback `{view}` ({at}) ran and returned {result}."))

    # -- the body ----------------------------------------------------------------------------

    def _make_response(self, step: Step) -> bool:
        """`Bottle._cast`: the callback's output, or an `HTTPError` through its handler."""
        facts = step.facts
        params: dict[str, Any] = {
            "caller": self._caller(step), "from_type": facts.get("from_type"),
            "status": facts.get("status"), "mimetype": facts.get("mimetype")}
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
