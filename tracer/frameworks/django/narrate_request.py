"""One request to a Django app, told in Django's terms: the handler's `get_response`, the
middleware chain entered in order (and the one that answered by itself), the root
`URLResolver` trying the patterns, `_get_response` running the view, and for a class view
`setup()` and `dispatch()`'s `getattr(self, method, self.http_method_not_allowed)`. The WSGI
exchange around it is WSGI's (`tracer.frameworks.wsgi.narrate_request`)."""

from __future__ import annotations

from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, clip, q
from tracer.frameworks.narration.steps import code_list, where
from tracer.frameworks.wsgi.narrate_request import WsgiRequest, view_args_text
from tracer.model import Request, Role, Step, Trace

#: The name of the step of `BaseHandler.get_response`.
_GET_RESPONSE = "BaseHandler.get_response"


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a Django app, in the order things happened."""
    return DjangoRequest(trace, request).build()


def uses_parts(trace: Trace) -> bool:
    """Whether a plain WSGI app's trace went through Django's handler."""
    return any(s.name == _GET_RESPONSE for r in trace.requests for s in r.steps)


class DjangoRequest(WsgiRequest):
    """The middleware chain, the resolver, the view and a class view's dispatch."""

    def __init__(self, trace: Trace, request: Request) -> None:
        super().__init__(trace, request)
        self.handlers.update({
            "": self._unnamed,
            Role.LAYER: self._layer,
            Role.MATCH: self._match,
            Role.DISPATCH: self._dispatch,
            Role.VIEW: self._view,
            Role.VIEW_INIT: self._setup,
            Role.CLASS_DISPATCH: self._class_dispatch,
            Role.HANDLER_LOOKUP: lambda step: True,  # told with `dispatch()`
            Role.HANDLER: self._handler_method,
        })

    # -- the handler --------------------------------------------------------------------

    def _called(self, step: Step) -> Message:
        params = self._request_params(step)
        if step.name == _GET_RESPONSE:
            return Message(N_("Django's test client built the request itself and handed "
                              "{method} {path} to `{app}` ({at}), with no WSGI server in "
                              "between: the same middleware chain and view as a served "
                              "request."), params)
        return Message(N_("The WSGI server called Django's `WSGIHandler` (`{app}`, {at}) for "
                          "{method} {path}: it wraps the environ in a `WSGIRequest` and "
                          "hands it to `get_response`."), params)

    def _request(self, step: Step) -> bool:
        self._add([step], self._called(step), sources=self._lines(step))
        if step.name == _GET_RESPONSE:
            self._chain(step)
        for child in self.steps.children(step, "call"):
            self._visit(child)
        if step.name == _GET_RESPONSE:
            self._add([step], Message(N_("`get_response` returned {result} to the test "
                                         "client."),
                                      {"result": clip(self.steps.result(step))}))
        else:
            self._returned(step)
        return True

    def _unnamed(self, step: Step) -> bool:
        if step.name == _GET_RESPONSE and step.kind == "call":
            self._chain(step)
        return False

    def _chain(self, step: Step) -> None:
        """What `get_response` did with the middleware chain, from the facts of its end."""
        end = self.steps.end(step)
        facts: dict[str, Any] = {**step.facts, **(end.facts if end is not None else {})}
        names = facts.get("middleware") or []
        if not names:
            self._add([step], Message(N_("`get_response` ran `_get_response` directly: "
                                         "`settings.MIDDLEWARE` is empty.")))
            return
        self._add([step], Message(
            N_("`get_response` sent the request into the middleware chain, {count} "
               "middleware outermost first: {middleware}. On the way in each may answer by "
               "itself; on the way out each sees the response."),
            {"count": len(names), "middleware": code_list(names)}))
        skipped = facts.get("skipped") or []
        if facts.get("answered_by") and skipped:
            self._add([step], Message(
                N_("`{answered_by}` answered without passing the request on, so {skipped} "
                   "never ran for this request, and neither did the URL resolver nor the "
                   "view."),
                {"answered_by": facts["answered_by"], "skipped": code_list(skipped)}))

    # -- middleware and decorators ------------------------------------------------------

    def _layer(self, step: Step) -> bool:
        if "middleware" in step.facts:
            return self._middleware(step)
        inner = [c for c in self.steps.children(step, "call")
                 if c.role in (Role.LAYER, Role.VIEW, Role.CLASS_DISPATCH, Role.HANDLER)]
        index = self._link_index(step)
        link = self.chain[index] if index is not None else None
        params = {"layer": step.name, "at": where(step.file, step.line),
                  "decorator": (link.decorator if link else None) or step.name,
                  "next": inner[0].name if inner else "?"}
        raised = self.steps.raised(step)
        if raised is not None:
            params["exception"] = clip(raised)
            message = N_("The decorator layer `{layer}` (from `{decorator}`, {at}) raised "
                         "{exception}.")
        elif inner:
            params["result"] = clip(self.steps.result(step))
            message = N_("The decorator layer `{layer}` (from `{decorator}`, {at}) ran first "
                         "and passed the request on to `{next}`; it returned {result}.")
        else:
            params["result"] = clip(self.steps.result(step))
            message = N_("The decorator layer `{layer}` (from `{decorator}`, {at}) returned "
                         "{result} by itself: what it wraps never ran.")
        self._add([step], Message(message, params), sources=self._lines(step))
        return False

    def _view_hook(self, step: Step) -> bool:
        params = {"middleware": step.facts.get("middleware"),
                  "result": clip(self.steps.result(step))}
        raised = self.steps.raised(step)
        if step.facts.get("in_chain") is False:
            params["exception"] = clip(raised)
            message = (N_("`{middleware}.process_view` ran for a view decorated with the "
                          "middleware itself (`decorator_from_middleware`, as "
                          "`requires_csrf_token` on Django's error views) and returned "
                          "{result}.") if raised is None else
                       N_("`{middleware}.process_view` ran for a view decorated with the "
                          "middleware itself (`decorator_from_middleware`) and raised "
                          "{exception}."))
        elif raised is not None:
            params["exception"] = clip(raised)
            message = N_("`{middleware}.process_view` raised {exception} before the view ran.")
        elif self.steps.result(step) == "None":
            message = N_("`{middleware}.process_view` ran just before the view and returned "
                         "None: nothing to object to, the view goes on.")
        else:
            message = N_("`{middleware}.process_view` answered before the view with {result}: "
                         "`_get_response` stops there, and the view never ran.")
        self._add([step], Message(message, params), sources=self._lines(step))
        return True

    def _answered_before_view(self, step: Step) -> bool:
        return any(c.role == Role.LAYER and c.facts.get("hook") == "process_view"
                   and self.steps.result(c) not in (None, "None")
                   for c in self.steps.children(step, "call"))

    def _middleware(self, step: Step) -> bool:
        if step.facts.get("hook") == "process_view":
            return self._view_hook(step)
        end = self.steps.end(step)
        facts = {**step.facts, **(end.facts if end is not None else {})}
        params = {"middleware": facts.get("middleware"), "position": facts.get("position", "?"),
                  "count": facts.get("of", "?"), "answered_in": facts.get("answered_in", "?")}
        raised = self.steps.raised(step)
        if raised is not None:
            params["exception"] = clip(raised)
            message = N_("Middleware `{middleware}` ({position} of {count}) raised "
                         "{exception}.")
        elif facts.get("short_circuit"):
            params["result"] = clip(self.steps.result(step))
            message = N_("Middleware `{middleware}` ({position} of {count}) answered by "
                         "itself in `{answered_in}`: it returned {result} without passing the "
                         "request on, so the middleware inside it and the view never ran.")
        else:
            params["result"] = clip(self.steps.result(step))
            message = N_("Middleware `{middleware}` ({position} of {count}) passed the request "
                         "inward, then returned {result} on the way out.")
        self._add([step], Message(message, params))
        return False

    # -- the URL and the view -----------------------------------------------------------

    def _match(self, step: Step) -> bool:
        end = self.steps.end(step)
        facts = {**step.facts, **(end.facts if end is not None else {})}
        params: dict[str, Any] = {"path": q(facts.get("path", self.request.path)),
                                  "urlconf": facts.get("urlconf", "?")}
        if facts.get("matched"):
            params.update(rule=q(facts.get("rule")), endpoint=q(facts.get("endpoint")),
                          view=facts.get("view", "?"),
                          args=view_args_text(facts.get("view_args")))
            message = N_("`resolve_request` asked the root `URLResolver` of `{urlconf}` to "
                         "resolve {path}: trying the patterns in order, the route {rule} "
                         "matched, the URL named {endpoint}; its view is `{view}`, with the "
                         "arguments {args}.")
        elif facts.get("outcome") == "not_found":
            params["tried"] = code_list(facts.get("tried") or ()) or ["—"]
            message = N_("`resolve_request` asked the root `URLResolver` of `{urlconf}` to "
                         "resolve {path}: no pattern matched, so it raised `Resolver404` and "
                         "Django answered 404. It tried, in this order: {tried}.")
        else:
            params["exception"] = clip(self.steps.raised(step))
            message = N_("`resolve_request` raised {exception} while resolving {path}.")
        self._add([step], Message(message, params), sources=self._lines(step))
        return True

    def _dispatch(self, step: Step) -> bool:
        end = self.steps.end(step)
        facts = {**step.facts, **(end.facts if end is not None else {})}
        told_view = not facts.get("view") or self._answered_before_view(step)
        for child in self.steps.children(step, "call"):
            hook = child.role == Role.LAYER and child.facts.get("hook") == "process_view"
            if not told_view and child.role != Role.MATCH and not hook:
                told_view = True
                self._add([step], Message(
                    N_("`_get_response` ran the view the match gave, `{view}`, with the "
                       "request and the URL's arguments."), {"view": facts["view"]}))
            self._visit(child)
        raised = self.steps.raised(step)
        if raised is not None and self.request.outcome != "not_found":
            self._add([step], Message(
                N_("`_get_response` raised {exception}. `convert_exception_to_response`, "
                   "which wraps every middleware, turned it into a response "
                   "(`response_for_exception`): the middleware outside see a {status} "
                   "response, not the exception."),
                {"exception": clip(raised), "status": self.request.status or "?"}))
        return True

    def _view(self, step: Step) -> bool:
        if step.name.endswith("as_view.<locals>.view"):
            setup = [c for c in self.steps.children(step, "call") if c.role == Role.VIEW_INIT]
            view_class = setup[0].facts.get("view_class") if setup else "?"
            self._add([step], Message(
                N_("`{view}` ({at}), the function `as_view()` made, made a new `{view_class}` "
                   "for this request."),
                {"view": step.name, "at": where(step.file, step.line),
                 "view_class": view_class}), sources=self._lines(step))
            return False
        return self._tell_view(
            step,
            raised=N_("The view `{view}` ({at}) raised {exception} at line {line}."),
            returned=N_("The view `{view}` ({at}) ran and returned {result}."))

    def _setup(self, step: Step) -> bool:
        params = {"view_class": step.facts.get("view_class", "?")}
        if step.facts.get("head_is_get"):
            message = N_("`setup()` stored the request and the URL's arguments on the "
                         "`{view_class}`; the class has `get` but no `head`, so it also set "
                         "`self.head = self.get`: a HEAD request is answered by `get`.")
        else:
            message = N_("`setup()` stored the request and the URL's arguments on the "
                         "`{view_class}`.")
        self._add([step], Message(message, params), sources=self._lines(step))
        return True

    def _class_dispatch(self, step: Step) -> bool:
        facts = step.facts
        lookups = [n for n in self.steps.children(step, "note")
                   if n.role == Role.HANDLER_LOOKUP]
        lookup = lookups[0].facts if lookups else {}
        params = {"view_class": facts.get("view_class", "?"), "method": facts.get("method"),
                  "looked_up": facts.get("looked_up"), "handler": lookup.get("handler") or "?",
                  "allowed": code_list(facts.get("allowed_methods") or ())}
        if facts.get("outcome") == "method_not_allowed":
            message = N_("`dispatch()` looked for `{looked_up}` on `{view_class}` for a "
                         "{method} request and found none, so it took "
                         "`self.http_method_not_allowed`: a 405 whose `Allow` header names "
                         "the methods the instance has: {allowed}.")
        elif lookup.get("fallback"):
            message = N_("`dispatch()` looked up the handler by reflection, "
                         "`getattr(self, {looked_up!r}, self.http_method_not_allowed)`: that "
                         "is `get` (`{handler}`), which `setup()` put under the name `head`.")
        else:
            message = N_("`dispatch()` looked up the handler by reflection, "
                         "`getattr(self, {looked_up!r}, self.http_method_not_allowed)`: that "
                         "is `{handler}`.")
        self._add([step, *lookups], Message(message, params), sources=self._lines(step))
        return False

    def _handler_method(self, step: Step) -> bool:
        raised = self.steps.raised(step)
        params = {"handler": step.name, "at": where(step.file, step.line)}
        if raised is not None:
            params["exception"] = clip(raised)
            message = Message(N_("The handler `{handler}` ({at}) raised {exception}."), params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("The handler `{handler}` ({at}) ran and returned {result}."),
                              params)
        self._add([step], message, sources=self._lines(step))
        return False
