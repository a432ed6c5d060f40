"""One request to a web.py app, told in web.py's terms: `_match` tries the mapping's
regexes in order, `_delegate` finds the handler by reflection (`getattr(cls(),
web.ctx.method)`, HEAD falling back to GET, 405 when the class has neither) and calls it
with the groups the regex captured. The WSGI exchange around it is WSGI's
(`tracer.frameworks.wsgi.narrate_request`)."""

from __future__ import annotations

from tracer.frameworks.narration.items import N_, Item, Message, clip, q
from tracer.frameworks.narration.steps import where
from tracer.frameworks.wsgi.narrate_request import WsgiRequest, view_args_text
from tracer.model import Request, Role, Step, Trace


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a web.py app, in the order things happened."""
    return WebpyRequest(trace, request).build()


class WebpyRequest(WsgiRequest):
    """The match over the mapping, the reflective lookup and the handler method."""

    def __init__(self, trace: Trace, request: Request) -> None:
        super().__init__(trace, request)
        self.handlers.update({
            Role.MATCH: self._match,
            Role.DISPATCH: self._delegate,
            Role.HANDLER: self._handler_method,
        })

    def _called(self, step: Step) -> Message:
        return Message(
            N_("The WSGI server called `{app}(environ, start_response)` ({at}), the WSGI "
               "function web.py's `application.wsgifunc()` made, for {method} {path}."),
            self._request_params(step))

    def _match(self, step: Step) -> bool:
        facts = step.facts
        params = {"path": q(facts.get("path", self.request.path)),
                  "rules": facts.get("rules", "?")}
        if facts.get("matched"):
            params.update(rule=q(facts.get("rule")), endpoint=facts.get("endpoint"),
                          args=view_args_text(facts.get("view_args")))
            message = Message(N_("`_match` tried the mapping's {rules} regex(es) in order: "
                                 "{path} matched {rule} in full, so the class is "
                                 "`{endpoint}`, and the groups it captured, {args}, become "
                                 "the handler's arguments."), params)
        else:
            message = Message(N_("`_match` tried the mapping's {rules} regex(es) in order: "
                                 "none matched {path} in full, so `_delegate` got nothing and "
                                 "raised `web.notfound()` (404)."), params)
        self._add([step], message, sources=self._lines(step))
        return True

    def _delegate(self, step: Step) -> bool:
        handlers = self.steps.with_role(step, Role.HANDLER, kinds=("call",))
        params = {"endpoint": step.facts.get("endpoint", "?"), "method": self.request.method}
        if handlers:
            method = handlers[0].name.rpartition(".")[2]
            params["looked_up"] = method
            if self.request.method == "HEAD" and method == "GET":
                message = N_("`_delegate` made an instance of `{endpoint}` and looked up "
                             "`getattr(cls(), 'HEAD')`: the class has no `HEAD`, so web.py "
                             "fell back to `GET`.")
            else:
                message = N_("`_delegate` made an instance of `{endpoint}` and looked up its "
                             "handler by reflection: `getattr(cls(), {method!r})`, that is "
                             "`{looked_up}`.")
            self._add([step], Message(message, params), sources=self._lines(step))
            for handler in handlers:
                self._visit(handler)
            return True
        raised = self.steps.raised(step)
        if "endpoint" not in step.facts:
            return True  # nothing matched: `_match`'s item told the 404 `_delegate` raised
        if raised is not None:
            params["exception"] = clip(raised)
            message = (N_("`_delegate` found neither `HEAD` nor `GET` on `{endpoint}`: it "
                          "raised {exception}, web.py's 405.")
                       if self.request.method == "HEAD" else
                       N_("`_delegate` found no `{method}` method on `{endpoint}`: it raised "
                          "{exception}, web.py's 405."))
            self._add([step], Message(message, params), sources=self._lines(step))
            return True
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
