"""One request to a Werkzeug app, told in Werkzeug's own terms.

What Werkzeug records beneath the WSGI call: the app `@Request.application` made, the URL
map bound to the request and its match, `MapAdapter.dispatch` and the endpoint's function,
the `Response` built and called as a WSGI app, and an HTTP exception answering as one. A
plain WSGI app that routes or answers with these parts by hand is told the same way, its
call in WSGI's words. The walk and the bare exchange are WSGI's
(`tracer.frameworks.wsgi.narrate_request`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, clip, q
from tracer.frameworks.narration.steps import where
from tracer.frameworks.wsgi.narrate_request import WsgiRequest, view_args_text
from tracer.model import Request, Role, Step, Trace

_BIND = "Map.bind"
_REQUEST_INIT = "Request.__init__"


#: Steps only Werkzeug's parts record.
_PARTS = frozenset({_BIND, "MapAdapter.match", "MapAdapter.dispatch", "Response.__call__",
                    _REQUEST_INIT})


def uses_parts(trace: Trace) -> bool:
    """Whether a plain WSGI app's trace holds steps of Werkzeug's parts: a `Map` matched or
    a `Response` built by hand, as Werkzeug's tutorial does. It is then told in Werkzeug's
    words."""
    return any(step.name in _PARTS for request in trace.requests for step in request.steps)


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a Werkzeug app, in the order things happened."""
    return WerkzeugRequest(trace, request).build()


class WerkzeugRequest(WsgiRequest):
    """The URL map's binding and match, the dispatch, the endpoint's function, responses."""

    def __init__(self, trace: Trace, request: Request) -> None:
        super().__init__(trace, request)
        #: Whether the app the server called is Werkzeug's own (not a plain WSGI app that
        #: merely uses Werkzeug's parts).
        self.werkzeug_app = trace.meta.get("framework") == "werkzeug"
        self.handlers.update({
            Role.REQUEST: self._request,
            Role.MATCH: self._match,
            Role.DISPATCH: self._dispatch,
            Role.VIEW: self._view,
            Role.MAKE_RESPONSE: self._make_response,
            Role.FINALIZE: self._finalize,
            Role.ERROR_HANDLING: self._error_handling,
        })

    def _handler(self, step: Step) -> Callable[[Step], bool] | None:
        """`Map.bind` is recorded without a role: it is known by its name and facts."""
        handler = super()._handler(step)
        if handler is None and step.name == _BIND and step.facts:
            handler = self._bind
        return handler

    # -- the WSGI call -----------------------------------------------------------------------

    def _request(self, step: Step) -> bool:
        inner = self.steps.with_role(step, Role.VIEW, kinds=("call",))
        made = self._wsgi_app_of(inner[0]) if inner else None
        if not self.werkzeug_app or made is None:
            return super()._request(step)
        init = [c for c in self.steps.children(step, "call") if c.name == _REQUEST_INIT]
        params = self._request_params(step)
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

    def _wsgi_app_of(self, view: Step) -> Step | None:
        for step in self.registration.steps:
            if step.role == Role.WSGI_APP and step.facts.get("view") == view.name:
                return step
        return None

    # -- routing -----------------------------------------------------------------------------

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
        facts = step.facts
        params = {"path": q(facts.get("path", self.request.path)),
                  "method": facts.get("method", self.request.method),
                  "rule": q(facts.get("rule")), "endpoint": q(facts.get("endpoint")),
                  "view_args": view_args_text(facts.get("view_args")),
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
        return self._tell_view(
            step,
            raised=N_("The endpoint's function `{view}` ({at}) raised {exception} at line "
                      "{line}."),
            returned=N_("The endpoint's function `{view}` ({at}) ran and returned {result}."))

    # -- responses ---------------------------------------------------------------------------

    def _make_response(self, step: Step) -> bool:
        facts = step.facts
        params: dict[str, Any] = {
            "caller": self._caller(step), "from_type": facts.get("from_type"),
            "status": facts.get("status"), "mimetype": facts.get("mimetype")}
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
