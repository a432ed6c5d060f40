"""One request to a web.py app, told in web.py's terms: `_match` tries the mapping's
regexes in order, `_delegate` finds the handler by reflection (`getattr(cls(),
web.ctx.method)`, HEAD falling back to GET, 405 when the class has neither) and calls it
with the groups the regex captured. The WSGI exchange around it is WSGI's
(`tracer.frameworks.wsgi.narrate_request`)."""

from __future__ import annotations

from tracer.frameworks.narration.items import N_, Item, Message, clip, q
from tracer.frameworks.narration.steps import code_list, where
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
            Role.LAYER: self._layer,
            Role.ADD_URL_RULE: self._mapping_reloaded,
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
        facts = step.facts
        handlers = self.steps.with_role(step, Role.HANDLER, Role.LAYER, kinds=("call",))
        params = {"endpoint": facts.get("endpoint", "?"),
                  "method": facts.get("method", self.request.method)}
        if handlers:
            params["looked_up"] = facts.get("looked_up") or params["method"]
            params["found"] = handlers[0].name
            if params["looked_up"] != params["method"]:
                message = N_("`_delegate` made an instance of `{endpoint}`: the class has no "
                             "`{method}`, so web.py looked up `GET` instead, "
                             "`getattr(cls(), {looked_up!r})`, that is `{found}`.")
            else:
                message = N_("`_delegate` made an instance of `{endpoint}` and looked up its "
                             "handler by reflection: `getattr(cls(), {looked_up!r})`, that is "
                             "`{found}`.")
            self._add([step], Message(message, params), sources=self._lines(step))
            for handler in handlers:
                self._visit(handler)
            return True
        raised = self.steps.raised(step)
        if "endpoint" not in facts:
            return True  # nothing matched: `_match`'s item told the 404 `_delegate` raised
        if raised is not None:
            params.update(exception=clip(raised),
                          allowed=code_list(facts.get("allowed_methods") or ()))
            if facts.get("outcome") != "method_not_allowed":
                message = N_("`_delegate` raised {exception} while looking up `{method}` on "
                             "`{endpoint}`.")
            elif params["method"] == "HEAD":
                message = N_("`_delegate` found neither `HEAD` nor `GET` on `{endpoint}`: it "
                             "raised {exception}, web.py's 405, whose `Allow` header names "
                             "the methods the class has: {allowed}.")
            else:
                message = N_("`_delegate` found no `{method}` method on `{endpoint}`: it "
                             "raised {exception}, web.py's 405, whose `Allow` header names "
                             "the methods the class has: {allowed}.")
            self._add([step], Message(message, params), sources=self._lines(step))
            return True
        return False

    def _mapping_reloaded(self, step: Step) -> bool:
        """`init_mapping` inside a request: the debug-mode reloader, a load hook."""
        if step.facts.get("reloaded"):
            self._add([step], Message(
                N_("Before the match, web.py's reloader (`reload_mapping`, a load hook, on "
                   "because `web.config.debug` is true) imported the app's module again and "
                   "called `{function}` with the {count} pair(s) it found there."),
                {"function": step.name, "count": len(step.facts.get("rules") or ())}))
        return True

    def _layer(self, step: Step) -> bool:
        """A decorator on the handler method: it runs first, and calls what it wraps."""
        inner = [c for c in self.steps.children(step, "call")
                 if c.role in (Role.LAYER, Role.HANDLER)]
        params = {"layer": step.name, "at": where(step.file, step.line),
                  "next": inner[0].name if inner else "?"}
        raised = self.steps.raised(step)
        if raised is not None:
            params["exception"] = clip(raised)
            message = N_("The decorator layer `{layer}` ({at}) around the handler method "
                         "raised {exception}.")
        elif inner:
            params["result"] = clip(self.steps.result(step))
            message = N_("The decorator layer `{layer}` ({at}) around the handler method "
                         "ran first and called `{next}`; it returned {result}.")
        else:
            params["result"] = clip(self.steps.result(step))
            message = N_("The decorator layer `{layer}` ({at}) around the handler method "
                         "returned {result} without calling the method it wraps.")
        self._add([step], Message(message, params), sources=self._lines(step))
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
