"""One request to an app on WSGI: the walk over its recorded steps, and the bare exchange
(PEP 3333) in WSGI's own words.

Each sentence is chosen by the role of a recorded step and filled with its facts, as in
Flask's narration. This base tells what any WSGI app has: the server's call, the layers of
the route's chain, `start_response`, the body and its `close()`, and the status that went
out. The frameworks built on WSGI subclass `WsgiRequest` and add their roles to its
role → handler table, in their own words (`tracer.frameworks.werkzeug.narrate_request`,
`tracer.frameworks.bottle.narrate_request`). Flask's words (`wsgi_app`, `view_functions`,
contexts) never appear here: these apps have none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, clip, item, q
from tracer.frameworks.narration.steps import Steps, code_list, step_lines, where
from tracer.model import ChainLink, Request, Role, Route, Step, Trace


def narrate_wsgi_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a plain WSGI app, in the order things happened."""
    return WsgiRequest(trace, request).build()


def view_args_text(values: Any) -> str:
    """The arguments a match took from the URL, as `{'name': value}`."""
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


class WsgiRequest:
    """Tells each step whose role has a handler, looking into the others' children.

    A handler returns whether it told the step's children too; if not, the walk visits them.
    """

    def __init__(self, trace: Trace, request: Request) -> None:
        self.trace = trace
        self.request = request
        self.steps = Steps(request.steps)
        self.sources = trace.sources
        self.items: list[Item] = []
        route = request_route(trace.routes, request)
        self.chain: tuple[ChainLink, ...] = route.chain if route is not None else ()
        self.registration = Steps(trace.registration.steps)
        #: role → handler; a framework's subclass adds its own roles or replaces these.
        self.handlers: dict[str, Callable[[Step], bool]] = {
            Role.REQUEST: self._request,
            Role.LAYER: self._layer,
            Role.START_RESPONSE: self._start_response,
            Role.RESPONSE_BODY: self._body,
        }

    def build(self) -> list[Item]:
        for step in self.steps.top():
            self._visit(step)
        self._answer()
        return self.items

    def _visit(self, step: Step) -> None:
        handler = self._handler(step)
        if handler is not None and handler(step):
            return
        for child in self.steps.children(step, "call", "note"):
            self._visit(child)

    def _handler(self, step: Step) -> Callable[[Step], bool] | None:
        """What tells `step`: the handler of its role, if any."""
        return self.handlers.get(step.role or "")

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))

    def _lines(self, step: Step) -> list[tuple[str, int]]:
        return step_lines(self.sources, self.steps, step)

    def _caller(self, step: Step) -> str:
        parent = self.steps.parent(step)
        return parent.name if parent is not None else "?"

    # -- the WSGI call -----------------------------------------------------------------------

    def _request_params(self, step: Step) -> dict[str, Any]:
        return {"app": step.name, "at": where(step.file, step.line),
                "method": self.request.method, "path": self.request.path}

    def _request(self, step: Step) -> bool:
        self._add([step], self._called(step), sources=self._lines(step))
        for child in self.steps.children(step, "call"):
            self._visit(child)
        self._returned(step)
        return True

    def _called(self, step: Step) -> Message:
        """What the server called, in the words of the framework that made it."""
        return Message(
            N_("The WSGI server called your app `{app}(environ, start_response)` ({at}) for "
               "{method} {path}: a plain WSGI callable, with no framework in between."),
            self._request_params(step))

    def _returned(self, step: Step) -> None:
        raised = self.steps.raised(step)
        if raised:
            self._add([step], Message(N_("`{app}` raised {exception}: no response."),
                                      {"app": step.name, "exception": clip(raised)}))
            return
        self._add([step], Message(
            N_("`{app}` returned {result} to the server: the body, an iterable of bytes."),
            {"app": step.name, "result": clip(self.steps.result(step))}))

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
            if not self._closed():
                self._add([step], message)
                message = Message(N_("The server never called the body's `close()`, which "
                                     "PEP 3333 asks of it: the request ended when the server "
                                     "let go of the body."), params)
        elif facts.get("close"):
            message = Message(N_("Then the server called the body's `close()` (`{close}`), as "
                                 "PEP 3333 requires once it is done with it."), params)
        else:
            message = Message(N_("The body has no `close()` method, so the server had nothing "
                                 "to close."), params)
        self._add([step], message)
        return True

    def _closed(self) -> bool:
        """Whether the server called the body's `close()` (or found none to call), as far
        as the steps kept show (a request cut short by the step cap may have lost it)."""
        return self.request.dropped_steps > 0 or any(
            s.role == Role.RESPONSE_BODY and "close" in s.facts for s in self.request.steps)

    # -- the function a request reached, and the layers around it ----------------------------

    def _tell_view(self, step: Step, *, raised: str, returned: str) -> bool:
        """The function the request reached, told by what it returned or raised; the message
        ids are the framework's (what it calls that function)."""
        params: dict[str, Any] = {"view": step.name, "at": where(step.file, step.line)}
        exception = self.steps.raised(step)
        if exception:
            end = self.steps.end(step)
            params.update(exception=clip(exception), line=end.line if end and end.line else "?")
            message = Message(raised, params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(returned, params)
        self._add([step], message, sources=self._lines(step))
        return False

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

    # -- the end -----------------------------------------------------------------------------

    def _answer(self) -> None:
        top = self.steps.top()
        if self.request.status is not None:
            self._add(top[:1], Message(N_("The response went out with status {status}."),
                                       {"status": self.request.status}))
        elif self.request.error:
            self._add(top[:1], Message(N_("No response: the exception left the app: {error}."),
                                       {"error": clip(self.request.error)}))
