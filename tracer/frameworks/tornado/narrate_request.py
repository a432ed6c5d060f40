"""One request to a Tornado app, told in Tornado's terms: the `HTTPServer` hands the headers
to the application's router, `find_handler` tries the rules' regexes in order, `_execute`
runs `prepare()`, finds the method by name (`getattr(self, self.request.method.lower())`,
no HEAD served by GET, a 405 without `Allow` for a method the class lacks), runs the
decorators on it, `finish()` writes the response and calls `on_finish()`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tracer.frameworks.narration.items import N_, Item, Message, clip, item, q
from tracer.frameworks.narration.steps import Steps, code_list, step_lines, where
from tracer.model import Request, Role, Step, Trace


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request to a Tornado app, in the order things happened."""
    return TornadoRequest(trace, request).build()


def _view_args(values: Any) -> str:
    if not values:
        return "{}"
    return "{" + ", ".join(f"{k!r}: {v}" for k, v in dict(values).items()) + "}"


class TornadoRequest:
    """Tells each step whose role has a handler, looking into the others' children; a
    handler returns whether it told the step's children too."""

    def __init__(self, trace: Trace, request: Request) -> None:
        self.trace = trace
        self.request = request
        self.steps = Steps(request.steps)
        self.sources = trace.sources
        self.items: list[Item] = []
        #: Whether `_execute` got as far as looking the method up (`prepare()` may end it)
        self.looked_up = any(s.role == Role.HANDLER_LOOKUP for s in request.steps)
        self.handlers: dict[str, Callable[[Step], bool]] = {
            Role.REQUEST: self._request,
            Role.MATCH: self._match,
            Role.DISPATCH: self._dispatch,
            Role.VIEW_INIT: self._initialize,
            Role.BEFORE_REQUEST_FUNCTION: self._prepare,
            Role.HANDLER_LOOKUP: self._lookup,
            Role.LAYER: self._layer,
            Role.HANDLER: self._handler,
            Role.ERROR_HANDLING: self._error_handling,
            Role.ERROR_HANDLER: self._write_error,
            Role.FINALIZE: self._finish,
            Role.START_RESPONSE: self._start_response,
            Role.TEARDOWN_FUNCTION: self._on_finish,
        }

    def build(self) -> list[Item]:
        for step in self.steps.top():
            self._visit(step)
        self._answer()
        return self.items

    def _visit(self, step: Step) -> None:
        handler = self.handlers.get(step.role or "")
        if handler is not None and handler(step):
            return
        for child in self.steps.children(step, "call", "note"):
            self._visit(child)

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))

    def _lines(self, step: Step) -> list[tuple[str, int]]:
        return step_lines(self.sources, self.steps, step)

    def _told(self, step: Step, message: str, params: dict[str, Any]) -> None:
        self._add([step], Message(message, params), sources=self._lines(step))

    # -- the steps ------------------------------------------------------------------------

    def _request(self, step: Step) -> bool:
        self._told(step, N_(
            "Tornado's `HTTPServer` read the request line and headers of {method} {path} and "
            "handed them to the router it serves (`{name}`, {at}): Tornado is no WSGI "
            "framework, it parses HTTP itself."),
            {"method": self.request.method, "path": q(self.request.path), "name": step.name,
             "at": where(step.file, step.line)})
        return False

    def _match(self, step: Step) -> bool:
        facts = step.facts
        params = {"path": q(facts.get("path", self.request.path)),
                  "count": facts.get("rules", 0),
                  "tried": code_list(facts.get("tried") or ()) or ["—"],
                  "handler": facts.get("handler") or "?"}
        if facts.get("matched"):
            params.update(rule=q(facts.get("rule")), endpoint=facts.get("endpoint"),
                          args=_view_args(facts.get("view_args")))
            message = N_("`find_handler` tried the rules' regexes in order ({count} tried): "
                         "{path} matched {rule}, so the handler class is `{handler}` (the "
                         "route `{endpoint}`), and the groups it captured, {args}, become "
                         "the method's arguments.")
        elif facts.get("default_handler"):
            message = N_("`find_handler` tried every rule's regex ({tried}): none matched "
                         "{path}, so the app's `default_handler_class`, `{handler}`, "
                         "answers.")
        else:
            message = N_("`find_handler` tried every rule's regex ({tried}): none matched "
                         "{path}, so Tornado's `ErrorHandler` answers with 404 (its "
                         "`prepare()` raises `HTTPError(404)`).")
        self._told(step, message, params)
        return True

    def _dispatch(self, step: Step) -> bool:
        facts = step.facts
        params = {"handler": facts.get("handler", "?"), "method": facts.get("method", "?"),
                  "supported": code_list(facts.get("supported_methods") or ())}
        if facts.get("method") not in (facts.get("supported_methods") or ()):
            message = N_("`_execute` ran the `{handler}` made for this request; {method} "
                         "is not in its `SUPPORTED_METHODS` ({supported}), so it raised "
                         "`HTTPError(405)` before `prepare()`.")
        elif self.looked_up:
            message = N_("`_execute` ran the `{handler}` made for this request: "
                         "`prepare()` first, then the method named after {method}.")
        else:
            message = N_("`_execute` ran the `{handler}` made for this request: its "
                         "`prepare()`, and no method was looked up after it.")
        self._told(step, message, params)
        return False

    def _initialize(self, step: Step) -> bool:
        arguments = {k: v for k, v in step.detail.items() if k != "self"}
        self._told(step, N_("Making the instance for this request, Tornado passed the rule's "
                            "keyword arguments to `{name}` ({at}): {kwargs}."),
                   {"name": step.name, "at": where(step.file, step.line),
                    "kwargs": ", ".join(f"{k}={v}" for k, v in arguments.items()) or "—"})
        return True

    def _prepare(self, step: Step) -> bool:
        raised = self.steps.raised(step)
        params = {"name": step.name, "at": where(step.file, step.line)}
        if raised:
            params["exception"] = clip(raised)
            message = N_("`{name}` ({at}) raised {exception}: the method is never looked "
                         "up.")
        elif self.looked_up:
            message = N_("`{name}` ({at}) ran before the method, as it does for every "
                         "request to this class.")
        else:
            message = N_("`{name}` ({at}) ran and finished the response itself, so "
                         "`_execute` looked no method up.")
        self._told(step, message, params)
        return True

    def _lookup(self, step: Step) -> bool:
        facts = step.facts
        params = {"method": facts.get("method", "?"), "tried": facts.get("tried", "?"),
                  "found": facts.get("handler") or "?"}
        if facts.get("found"):
            message = N_("`_execute` looked the method up by name: `getattr(self, "
                         "{tried!r})`, that is `{found}`.")
        elif params["method"] == "HEAD":
            message = N_("`_execute` looked up `getattr(self, 'head')`: the class defines "
                         "no `head`, and Tornado has no HEAD served by GET, so it found "
                         "`RequestHandler`'s own `head`, which raises `HTTPError(405)` (a 405 "
                         "without an `Allow` header).")
        else:
            message = N_("`_execute` looked up `getattr(self, {tried!r})`: the class "
                         "defines no `{tried}`, so it found `RequestHandler`'s own, which "
                         "raises `HTTPError(405)` (a 405 without an `Allow` header).")
        self._add([step], Message(message, params))
        return True

    def _layer(self, step: Step) -> bool:
        inner = [c for c in self.steps.children(step, "call")
                 if c.role in (Role.LAYER, Role.HANDLER)]
        params = {"layer": step.name, "at": where(step.file, step.line),
                  "next": inner[0].name if inner else "?"}
        raised = self.steps.raised(step)
        if raised is not None:
            params["exception"] = clip(raised)
            message = N_("The decorator layer `{layer}` ({at}) on the method raised "
                         "{exception}.")
        elif inner:
            message = N_("The decorator layer `{layer}` ({at}) on the method ran first and "
                         "went on into `{next}`.")
        else:
            message = N_("The decorator layer `{layer}` ({at}) on the method returned "
                         "without running the method it wraps: what is inside it was "
                         "skipped.")
        self._told(step, message, params)
        return False

    def _handler(self, step: Step) -> bool:
        raised = self.steps.raised(step)
        params = {"handler": step.name, "at": where(step.file, step.line)}
        if raised is not None:
            params["exception"] = clip(raised)
            message = N_("The method `{handler}` ({at}) raised {exception}.")
        else:
            message = N_("The method `{handler}` ({at}) ran.")
        self._told(step, message, params)
        return False

    def _error_handling(self, step: Step) -> bool:
        facts = step.facts
        params = {"name": step.name, "status": facts.get("status", "?"),
                  "exception": facts.get("exception", "?")}
        if step.name.endswith("send_error"):
            message = N_("`send_error({status})` cleared what was written so far and set "
                         "the status {status}; `write_error` writes the error page.")
        else:
            message = N_("`_execute` caught {exception}; `_handle_request_exception` turned "
                         "it into a {status} response.")
        self._add([step], Message(message, params))
        return False

    def _write_error(self, step: Step) -> bool:
        if step.kind == "note":
            return True  # who will write the page: told by the call that writes it
        self._told(step, N_("The class's own `{name}` ({at}) wrote the error page."),
                   {"name": step.name, "at": where(step.file, step.line)})
        return False

    def _finish(self, step: Step) -> bool:
        self._add([step], Message(N_("`finish()` wrote the response out and ended the "
                                     "request."), {}))
        return False

    def _start_response(self, step: Step) -> bool:
        facts = step.facts
        self._add([step], Message(
            N_("`HTTP1Connection.write_headers` sent the status line {status_line} with the "
               "headers {headers}."),
            {"status_line": q(facts.get("status_line")),
             "headers": code_list(facts.get("headers") or []) or ["—"]}))
        return True

    def _on_finish(self, step: Step) -> bool:
        self._told(step, N_("`{name}` ({at}) ran once the response was out (`on_finish`)."),
                   {"name": step.name, "at": where(step.file, step.line)})
        return False

    def _answer(self) -> None:
        top = self.steps.top()
        if self.request.status is not None:
            self._add(top[:1], Message(N_("The response went out with status {status}."),
                                       {"status": self.request.status}))
        elif self.request.error:
            self._add(top[:1], Message(N_("No response went out: {error}."),
                                       {"error": clip(self.request.error)}))
