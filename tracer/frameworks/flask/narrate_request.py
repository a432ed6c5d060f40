"""One request told as items: the match, the hooks, each layer, the handler, the response.

The walk follows the recorded call tree. Each role that means something to a reader gets
a sentence built from its facts and from what its call returned or raised; a role with
nothing to say (signals nobody listens to, bookkeeping calls) is passed through. A phase
told in one item (the match, the error handling, the after-request functions) is then
looked into for the signals and the app's own code (`own_code`) under it that no item has
told yet, so each is told where it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tracer.frameworks.flask import narrate_own_code as own_code
from tracer.frameworks.flask import source_lines as lines
from tracer.frameworks.narration.items import N_, Item, Message, clip, item, q
from tracer.frameworks.narration.layers import is_told_apart, layer_name, made_by
from tracer.frameworks.narration.steps import (
    Steps,
    body_lines,
    code_list,
    def_lines,
    leaf,
    lines_recorded,
    maker,
    route_for,
    step_lines,
    where,
)
from tracer.model import ChainLink, DecoratorAboveRoute, Request, Role, Step, Trace

_INNER_ROLES = (Role.LAYER, Role.VIEW, Role.CLASS_DISPATCH, Role.HANDLER, Role.ASYNC_BRIDGE)
#: What is looked for under a phase told in one item, when no item has told it.
_LOOKED_FOR = (Role.SIGNAL, *own_code.OWN_CODE_ROLES)


def narrate_request(trace: Trace, request: Request) -> list[Item]:
    """Items for one request, in the order things happened."""
    return _Request(trace, request).build()


class _Request:
    def __init__(self, trace: Trace, request: Request) -> None:
        self.trace = trace
        self.request = request
        self.steps = Steps(request.steps, lines_recorded(trace.meta, registration=False))
        self.sources = trace.sources
        self.items: list[Item] = []
        #: ids of the steps some item tells about
        self.told: set[int] = set()
        route = route_for(trace.routes, request.endpoint)
        self.chain: tuple[ChainLink, ...] = route.chain if route is not None else ()
        #: Decorators written above the endpoint's route decorator: no request runs them.
        self.above_route: tuple[DecoratorAboveRoute, ...] = (
            route.decorators_above_route if route is not None else ())
        #: id of a decorator layer's call step → the link of `chain` it ran
        self.layer_links: dict[int, int | None] = {}
        self.handlers: dict[str, Callable[[Step], bool]] = {
            Role.REQUEST: self._request,
            Role.MATCH: self._match,
            Role.SIGNAL: self._signal,
            Role.BEFORE_FIRST_REQUEST: self._first_request,
            Role.BEFORE_FIRST_REQUEST_FUNCTION: self._first_request_function,
            Role.BEFORE_REQUEST: self._before,
            Role.DISPATCH: self._dispatch,
            Role.AUTOMATIC_OPTIONS: self._options,
            Role.LAYER: self._layer,
            Role.VIEW: self._view,
            Role.CLASS_DISPATCH: self._class_dispatch,
            Role.HANDLER: self._handler,
            Role.ASYNC_BRIDGE: self._async,
            Role.ERROR_HANDLING: self._error,
            Role.MAKE_RESPONSE: self._make_response,
            Role.AFTER_REQUEST: self._after,
            Role.TEARDOWN: self._teardown,
            Role.URL_BUILD: self._url_build,
            Role.TEMPLATE_RENDER: self._template,
            Role.STREAM_WITH_CONTEXT: self._stream,
            Role.APPCONTEXT_TEARDOWN: self._appcontext_teardown,
            **dict.fromkeys(own_code.OWN_CODE_ROLES, self._own_code),
        }

    def build(self) -> list[Item]:
        for step in self.steps.top():
            self._visit(step)
        self._answer()
        return self.items

    def _visit(self, step: Step) -> None:
        handler = self.handlers.get(step.role or "")
        if handler is not None and handler(step):
            self._untold_within(step)
            return
        for child in self.steps.children(step, "call"):
            self._visit(child)

    def _untold_within(self, step: Step) -> None:
        """Tell the signals and the app's own code under a phase that its item did not."""
        for call in self.steps.calls_within(step, _LOOKED_FOR, _LOOKED_FOR):
            if call.id not in self.told:
                self._visit(call)

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> None:
        added = item(steps, messages, sources, children)
        self.told.update(added.steps)
        self.items.append(added)

    def _lines(self, step: Step, needles: Sequence[str] = ()) -> list[tuple[str, int]]:
        """The call's def line, the lines of `needles` that ran in it and the line it left
        from, in the order they stand in the source (a return may come before a quote)."""
        found = step_lines(self.sources, self.steps, step)
        if needles:
            found.extend(body_lines(self.sources, self.steps, step, needles))
        files = {file: order for order, (file, _) in reversed(list(enumerate(found)))}
        return sorted(set(found), key=lambda place: (files[place[0]], place[1]))

    # -- entering and matching -------------------------------------------------------------

    def _request(self, step: Step) -> bool:
        self._add([step], Message(
            N_("The WSGI server called `app.wsgi_app(environ, start_response)` for {method} "
               "{path}; Flask pushed the application and request contexts."),
            {"method": self.request.method, "path": self.request.path}),
            sources=self._lines(step))
        return False

    def _match(self, step: Step) -> bool:
        facts = step.facts
        path = q(facts.get("path", self.request.path))
        outcome = facts.get("outcome")
        failed = not facts.get("matched") and outcome is not None
        sources = self._lines(step, lines.MATCH + (lines.MATCH_FAILED if failed else ()))
        if facts.get("matched"):
            self._add([step], Message(
                N_("`match_request` asked werkzeug (`url_adapter.match(return_rule=True)`): "
                   "{path} matched the rule {rule}, endpoint {endpoint}, with "
                   "`view_args = {view_args}`."),
                {"path": path, "rule": q(facts.get("rule")),
                 "endpoint": q(facts.get("endpoint")),
                 "view_args": _view_args(facts.get("view_args"))}), sources=sources)
        elif outcome == "not_found":
            self._not_found(step, path, sources)
        elif outcome == "method_not_allowed":
            self._add([step], Message(
                N_("`match_request` asked werkzeug: {path} matches a rule, but not for "
                   "{method}. werkzeug raised `MethodNotAllowed` with the allowed methods "
                   "{allowed}; it becomes a 405 with an `Allow` header."),
                {"path": path, "method": facts.get("method", self.request.method),
                 "allowed": list(facts.get("allowed_methods") or [])}), sources=sources)
        elif outcome == "redirect" and facts.get("reason") == "strict_slashes":
            rule = facts.get("path", self.request.path).rstrip("/") + "/"
            self._add([step], Message(
                N_("`match_request` asked werkzeug: {path} has no rule of its own, but {rule} "
                   "is the same path with a trailing slash and `strict_slashes` is on, so "
                   "werkzeug raised `RequestRedirect` ({status}) to {redirect_to}."),
                {"path": path, "rule": q(rule), "status": facts.get("status"),
                 "redirect_to": q(facts.get("redirect_to"))}), sources=sources)
        elif outcome == "redirect":
            self._add([step], Message(
                N_("`match_request` asked werkzeug: the rule for {path} redirects, so werkzeug "
                   "raised `RequestRedirect` ({status}) to {redirect_to}."),
                {"path": path, "status": facts.get("status"),
                 "redirect_to": q(facts.get("redirect_to"))}), sources=sources)
        else:
            self._add([step], Message(N_("`match_request` asked werkzeug to match {path}."),
                                      {"path": path}), sources=sources)
        for call in self.steps.calls_within(step, _LOOKED_FOR, _LOOKED_FOR):
            self._visit(call)
        return True

    def _not_found(self, step: Step, path: str, sources: list[tuple[str, int]]) -> None:
        messages = [Message(
            N_("`match_request` asked werkzeug (`url_adapter.match(return_rule=True)`): no "
               "rule matches {path}. werkzeug raised `NotFound`; Flask kept it in "
               "`request.routing_exception`, to raise it in `dispatch_request`."),
            {"path": path})]
        misses = step.facts.get("near_misses")
        children: list[Item] = []
        if misses is None:
            messages.append(Message(N_("This trace does not record which rules came close; "
                                       "record the request again to see why each one missed.")))
        elif not misses:
            messages.append(Message(N_("No rule comes close to {path}: none shares its first "
                                       "segment or looks like it."), {"path": path}))
        else:
            messages.append(Message(N_("The rules closest to it, each tried alone in a fresh "
                                       "werkzeug `Map`:")))
            children = [Item((step.id,), (_near_miss(miss),)) for miss in misses]
        self._add([step], *messages, sources=sources, children=children)

    def _signal(self, step: Step) -> bool:
        """A signal with receivers; who sent it, when the line that did is in the trace.

        `receivers` counts what is connected to the signal for any sender: the receivers
        that ran are told after it, each from its own step.
        """
        receivers = step.facts.get("receivers") or 0
        if not receivers:
            return True
        caller = self.steps.parent(step)
        params = {"signal": step.facts.get("signal"), "receivers": receivers,
                  "caller": caller.name if caller is not None else "?"}
        sent = own_code.signal_sent(self.sources, self.steps, step, caller)
        if sent:
            message = Message(N_("`{caller}` sent the signal `{signal}` ({receivers} "
                                 "receiver(s) connected to it)."), params)
        else:
            message = Message(N_("While `{caller}` ran, the signal `{signal}` was sent "
                                 "({receivers} receiver(s) connected to it)."), params)
        self._add([step], message, sources=sent)
        return True

    def _own_code(self, step: Step) -> bool:
        """A receiver, session method, URL converter, view `__init__` or app method."""
        if step.kind != "call":
            return True
        messages, sources = own_code.tell(self.steps, self.sources, step)
        self._add([step], *messages, sources=sources)
        return False

    # -- before the view -------------------------------------------------------------------

    def _first_request(self, step: Step) -> bool:
        """Flask 2.0/2.1's `try_trigger_before_first_request_functions`, on the first request."""
        functions = self.steps.with_role(step, Role.BEFORE_FIRST_REQUEST_FUNCTION,
                                         kinds=("call",))
        if functions:
            self._first_request_functions(step, functions)
            self._inside(functions)
        return True

    def _first_request_function(self, step: Step) -> bool:
        """Flask 2.2 runs `before_first_request` functions inline: told from the first one,
        together with the others `full_dispatch_request` ran."""
        if step.id in self.told:
            return True
        parent = self.steps.parent(step)
        functions = ([f for f in self.steps.children(parent, "call")
                      if f.role == Role.BEFORE_FIRST_REQUEST_FUNCTION]
                     if parent is not None else [step])
        self._first_request_functions(parent, functions)
        self._inside(functions)
        return True

    def _first_request_functions(self, phase: Step | None, functions: list[Step]) -> None:
        params: dict[str, Any] = {"functions": code_list(leaf(f.name) for f in functions)}
        failed = next((f for f in functions if self.steps.raised(f)), None)
        if failed is not None:
            params.update(function=leaf(failed.name), exception=clip(self.steps.raised(failed)))
            message = Message(N_("This was the app's first request, so `full_dispatch_request` "
                                 "first ran the app's `before_first_request` functions "
                                 "{functions}; `{function}` raised {exception}, so "
                                 "`_got_first_request` stays False and the next request runs "
                                 "them again (Flask 2.0 to 2.2 have these functions; 2.3 "
                                 "removed them)."), params)
        else:
            message = Message(N_("This was the app's first request, so `full_dispatch_request` "
                                 "first ran the app's `before_first_request` functions "
                                 "{functions}, then set `_got_first_request = True`: no later "
                                 "request runs them (Flask 2.0 to 2.2 have these functions; "
                                 "2.3 removed them)."), params)
        sources = body_lines(self.sources, self.steps, phase, lines.FIRST_REQUEST)
        for function in functions:
            sources.extend(self._lines(function))
        self._add([*([phase] if phase is not None else []), *functions], message,
                  sources=sources)

    def _first_request_done(self, step: Step) -> None:
        """Before `preprocess_request`: the app's `before_first_request` functions, which an
        earlier request ran, do not run again."""
        parent = self.steps.parent(step)
        if parent is None:
            return
        names = parent.facts.get("before_first_request")
        if not names or parent.facts.get("first_request") is not False:
            return
        self._add([parent], Message(N_("The app's `before_first_request` functions {functions} "
                                       "did not run: an earlier request was the app's first, "
                                       "and they run only once (`_got_first_request` is True)."),
                                    {"functions": code_list(leaf(str(n)) for n in names)}))

    def _before(self, step: Step) -> bool:
        self._first_request_done(step)
        preprocessors = self.steps.with_role(step, Role.URL_VALUE_PREPROCESSOR, kinds=("call",))
        functions = self.steps.with_role(step, Role.BEFORE_REQUEST_FUNCTION, kinds=("call",))
        if preprocessors:
            self._url_values(step, preprocessors)
            self._inside(preprocessors)
        if functions:
            self._before_functions(step, functions, quote_def=not preprocessors)
            self._inside(functions)
        elif not preprocessors:
            self._add([step], Message(N_("`preprocess_request` found no before-request "
                                         "functions to run.")), sources=self._lines(step))
        return True

    def _url_values(self, step: Step, preprocessors: list[Step]) -> None:
        """The URL value preprocessors, which Flask calls before any before-request function."""
        names = code_list(leaf(f.name) for f in preprocessors)
        failed = next((f for f in preprocessors if self.steps.raised(f)), None)
        if failed is not None:
            message = Message(N_("`preprocess_request` ran the URL value preprocessors "
                                 "{functions}; `{function}` raised {exception}, so no "
                                 "before-request function ran, and neither did the view."),
                              {"functions": names, "function": leaf(failed.name),
                               "exception": clip(self.steps.raised(failed))})
        else:
            message = Message(N_("`preprocess_request` first ran the URL value preprocessors "
                                 "{functions}, before any before-request function, calling "
                                 "each as `url_func(request.endpoint, request.view_args)`: a "
                                 "value one of them pops from `view_args` is not passed to the "
                                 "view."),
                              {"functions": names})
        sources = self._lines(step, lines.URL_VALUE_PREPROCESSOR)
        for function in preprocessors:
            sources.extend(self._lines(function))
        self._add([step, *preprocessors], message, sources=sources)

    def _before_functions(self, step: Step, functions: list[Step], quote_def: bool) -> None:
        names = code_list(leaf(f.name) for f in functions)
        stopper = next((f for f in functions if self.steps.result(f) not in (None, "None")),
                       None)
        failed = next((f for f in functions if self.steps.raised(f)), None)
        needles: tuple[str, ...] = lines.BEFORE_REQUEST
        if failed is not None:
            message = Message(N_("`preprocess_request` ran the before-request functions "
                                 "{functions}; `{function}` raised {exception}, so the view "
                                 "never ran."),
                              {"functions": names, "function": leaf(failed.name),
                               "exception": clip(self.steps.raised(failed))})
        elif stopper is not None:
            message = Message(N_("`preprocess_request` ran the before-request functions "
                                 "{functions}; `{function}` returned {result}, so Flask used "
                                 "that as the response and skipped the view."),
                              {"functions": names, "function": leaf(stopper.name),
                               "result": clip(self.steps.result(stopper))})
            needles += lines.BEFORE_REQUEST_STOPPED
        else:
            message = Message(N_("`preprocess_request` ran the before-request functions "
                                 "{functions}; each returned `None`, so the request went on."),
                              {"functions": names})
        sources = (self._lines(step) if quote_def else []) + body_lines(
            self.sources, self.steps, step, needles)
        for function in functions:
            sources.extend(self._lines(function))
        self._add([step, *functions], message, sources=sources)

    def _inside(self, functions: Iterable[Step]) -> None:
        """Tell what the functions a phase ran did in turn (`url_for`, templates)."""
        for function in functions:
            for child in self.steps.children(function, "call"):
                self._visit(child)

    def _dispatch(self, step: Step) -> bool:
        # Recorded with `--lines`, Flask's own calls (`raise_routing_exception`) are steps too:
        # what tells that the view was reached is a call with a role.
        calls = self.steps.calls_within(step, (*_INNER_ROLES, Role.AUTOMATIC_OPTIONS),
                                        _INNER_ROLES)
        raised = self.steps.raised(step)
        if raised and not calls:
            self._add([step], Message(
                N_("`dispatch_request` found `request.routing_exception` set by the match and "
                   "raised it: {exception}."), {"exception": clip(raised)}),
                sources=self._lines(step, lines.ROUTING_EXCEPTION))
            return True
        if any(c.role == Role.AUTOMATIC_OPTIONS for c in calls):
            return False
        endpoint = step.facts.get("endpoint", self.request.endpoint)
        view = step.facts.get("view") or (self.chain[0].qualname if self.chain else "?")
        params = {"endpoint": q(endpoint), "view": view,
                  "view_args": _view_args(self.request.view_args)}
        if self._url_values_ran():
            message = Message(N_("`dispatch_request` called "
                                 "`self.view_functions[{endpoint}](**view_args)`, that is "
                                 "`{view}`, with `view_args` as the URL value preprocessors "
                                 "left it (the match gave {view_args})."), params)
        else:
            message = Message(N_("`dispatch_request` called "
                                 "`self.view_functions[{endpoint}](**view_args)`, that is "
                                 "`{view}`, with `view_args = {view_args}`."), params)
        self._add([step], message, *self._not_run_above_route(),
                  sources=[*self._lines(step, lines.DISPATCH),
                           *((above.file, above.line) for above in self.above_route
                             if above.file and above.line)])
        return False

    def _not_run_above_route(self) -> list[Message]:
        """A sentence for each decorator written above the route: `check` finds them, and a
        request to the endpoint is where one (a `login_required`, say) is missed."""
        return [Message(N_("`@{decorator}` ({at}) is written above the route decorator, so it "
                           "did not run for this request: decorators apply from the bottom "
                           "up, and `route` had already registered the function beneath it."),
                        {"decorator": above.decorator, "at": where(above.file, above.line)})
                for above in self.above_route]

    def _url_values_ran(self) -> bool:
        """Whether a URL value preprocessor returned: it may have changed `view_args`."""
        return any(s.role == Role.URL_VALUE_PREPROCESSOR and s.kind == "return"
                   for s in self.steps.steps)

    def _options(self, step: Step) -> bool:
        self._add([step], Message(
            N_("The request is OPTIONS and the rule has `provide_automatic_options`, so "
               "`dispatch_request` did not call the view: `make_default_options_response` "
               "answered with the allowed methods {allowed}."),
            {"allowed": list(self._rule_methods())}),
            sources=[*self._lines(step), *body_lines(
                self.sources, self.steps, self.steps.parent(step), lines.AUTOMATIC_OPTIONS)])
        return True

    def _rule_methods(self) -> tuple[str, ...]:
        for route in self.trace.routes:
            if route.endpoint == self.request.endpoint:
                return route.methods
        return ()

    # -- the view and what wraps it --------------------------------------------------------

    def _link_index(self, step: Step) -> int | None:
        """The link of the chain a layer's call step ran, worked out from the outermost
        enclosing layer inwards (each once)."""
        pending = []
        current: Step | None = step
        while current is not None and current.id not in self.layer_links:
            pending.append(current)
            current = self._enclosing_layer(current)
        outer = self.layer_links[current.id] if current is not None else None
        for layer in reversed(pending):
            outer = self.layer_links[layer.id] = self._link_inside(layer, outer)
        return self.layer_links[step.id]

    def _link_inside(self, step: Step, outer: int | None) -> int | None:
        """The link a layer's call ran: the one the recording tied it to (`layer`, told by
        its closure), else the first at its place inside the link of the layer around it
        (which called it)."""
        recorded = step.facts.get("layer")
        if (type(recorded) is int and 0 <= recorded < len(self.chain)
                and self._ran_at(self.chain[recorded], step)):
            return recorded
        for index in range(0 if outer is None else outer + 1, len(self.chain)):
            if self._ran_at(self.chain[index], step):
                return index
        return None

    @staticmethod
    def _ran_at(link: ChainLink, step: Step) -> bool:
        return (link.file, link.line) == (step.file, step.line)

    def _enclosing_layer(self, step: Step) -> Step | None:
        """The decorator layer whose call this one ran in, if it ran in one."""
        parent = self.steps.parent(step)
        while parent is not None and parent.role != Role.DISPATCH:
            if parent.role == Role.LAYER and parent.kind == "call":
                return parent
            if parent.role in _INNER_ROLES:
                return None
            parent = self.steps.parent(parent)
        return None

    def _layer(self, step: Step) -> bool:
        index = self._link_index(step)
        link = self.chain[index] if index is not None else None
        # What the layer called may sit under the app's own helpers (`--lines` steps).
        entered = [c for c in self.steps.outermost(step)
                   if c.kind == "call" and c.role in _INNER_ROLES]
        raised = self.steps.raised(step)
        named = layer_name(self.chain, index) if index is not None else None
        following = self._next_name(index) or (f"`{entered[0].name}`" if entered else None)
        if named is not None and (is_told_apart(named) or is_told_apart(following)):
            message = self._layer_told_apart(step, named, following, entered, raised)
            self._add([step], message, sources=self._lines(step))
            return False
        # The next layer is the call this one made, as recorded: it may be one the chain
        # does not list (a method decorator a view class applies, a wrapper an extension
        # makes at each request); with no call, the chain names what it did not call.
        following_name = entered[0].name if entered else self._next_link(index)
        params = {"layer": step.name, "maker": made_by(link, maker(step.name)),
                  "at": where(step.file, step.line), "next": following_name}
        if raised:
            params["exception"] = clip(raised)
            message = Message(N_("Decorator layer `{layer}` (made by `{maker}`, {at}) raised "
                                 "{exception}."), params)
        elif entered:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Decorator layer `{layer}` (made by `{maker}`, {at}) ran and "
                                 "called the next layer, `{next}`; it returned {result}."),
                              params)
        elif following_name is not None:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Decorator layer `{layer}` (made by `{maker}`, {at}) returned "
                                 "{result} early, without calling `{next}`: what is inside it, "
                                 "the view included, never ran."), params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Decorator layer `{layer}` (made by `{maker}`, {at}) returned "
                                 "{result} early, without calling the function it wraps: what "
                                 "is inside it, the view included, never ran."), params)
        self._add([step], message, sources=self._lines(step))
        return False

    def _layer_told_apart(self, step: Step, named: str | Message, following: str | Message | None,
                          entered: list[Step], raised: str | None) -> Message:
        """A layer's sentence where its chain has namesakes: each named with what made it."""
        params: dict[str, Any] = {"layer": named, "at": where(step.file, step.line),
                                  "next": following or "`?`"}
        if raised:
            params["exception"] = clip(raised)
            return Message(N_("Decorator layer {layer}, at {at}, raised {exception}."), params)
        params["result"] = clip(self.steps.result(step))
        if entered:
            return Message(N_("Decorator layer {layer}, at {at}, ran and called the next layer, "
                              "{next}; it returned {result}."), params)
        return Message(N_("Decorator layer {layer}, at {at}, returned {result} early, without "
                          "calling {next}: what is inside it, the view included, never ran."),
                       params)

    def _next_name(self, index: int | None) -> str | Message | None:
        if index is None or index + 1 >= len(self.chain):
            return None
        return layer_name(self.chain, index + 1)

    def _next_link(self, index: int | None) -> str | None:
        if index is None or index + 1 >= len(self.chain):
            return None
        link = self.chain[index + 1]
        return f"class {link.qualname}" if link.kind == "view_class" else link.qualname

    def _view(self, step: Step) -> bool:
        dispatches = self.steps.with_role(step, Role.CLASS_DISPATCH, kinds=("call",))
        raised = self.steps.raised(step)
        if dispatches:
            instance = self.steps.find(dispatches[0], Role.VIEW_INSTANCE)
            cls = instance[0].facts.get("view_class") if instance else "?"
            self._add([step, *instance], Message(
                N_("`view`, the function `as_view` made, created an instance of `{cls}` "
                   "(`view.view_class(...)`) and called its `dispatch_request`."),
                {"cls": cls}), sources=self._lines(step, lines.AS_VIEW_VIEW))
            return False
        params: dict[str, Any] = {"view": step.name, "at": where(step.file, step.line)}
        if raised:
            end = self.steps.end(step)
            params.update(exception=clip(raised), line=end.line if end and end.line else "?")
            message = Message(N_("Your view `{view}` ({at}) raised {exception} at line {line}."),
                              params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("Your view `{view}` ({at}) ran and returned {result}."), params)
        self._add([step], message, sources=self._lines(step))
        return False

    def _stream(self, step: Step) -> bool:
        """`stream_with_context`: what it was given decides what it did (`iter()` tells)."""
        params = {"wraps": step.facts.get("wraps", "?"), "at": where(step.file, step.line),
                  "caller": getattr(self.steps.parent(step), "name", "?")}
        if step.facts.get("given") == "function":
            self._add([step], Message(
                N_("While `{caller}` ran, `stream_with_context` ({at}) was given the function "
                   "`{wraps}`. `iter()` refused it, so it returned `decorator`, wrapped to look "
                   "like `{wraps}`: calling it makes the generator and passes that to "
                   "`stream_with_context` again."), params),
                sources=self._lines(step, lines.STREAM_ITER + lines.STREAM_DECORATOR))
            return False
        self._add([step], Message(
            N_("While `{caller}` ran, `stream_with_context` ({at}) was given an iterable "
               "(`{wraps}`). It made `generator()` and ran it to its first `yield` "
               "(`next(wrapped_g)`), keeping the request and app contexts: when the server "
               "sends the body, that generator pushes them again and takes the items from "
               "the iterable inside them."), params),
            sources=self._lines(step, lines.STREAM_ITER + lines.STREAM_GENERATOR))
        return False

    def _class_dispatch(self, step: Step) -> bool:
        lookups = self.steps.with_role(step, Role.HANDLER_LOOKUP, kinds=("note",))
        instance = self.steps.with_role(step, Role.VIEW_INSTANCE, kinds=("note",))
        cls = instance[0].facts.get("view_class") if instance else "?"
        if not lookups:
            self._add([step], Message(
                N_("`{dispatch}` ran: this view class handles every method in its own "
                   "`dispatch_request`."), {"dispatch": step.name}), sources=self._lines(step))
            return False
        facts = lookups[-1].facts
        params = {"dispatch": step.name, "tried": q(facts.get("tried")),
                  "handler": facts.get("handler"), "method": facts.get("method"),
                  "cls": cls, "error": facts.get("error"), "tried_name": facts.get("tried")}
        if facts.get("error"):
            message = Message(N_("`{dispatch}` looked up `getattr(self, {tried}, None)` and found "
                                 "nothing, so `assert meth is not None` failed: "
                                 "`AssertionError: {error}`. {method} is in the view's "
                                 "`methods`, but `{cls}` has no `{tried_name}` method."), params)
            needles: tuple[str, ...] = lines.HANDLER_LOOKUP + lines.HANDLER_ASSERT
        elif facts.get("fallback"):
            message = Message(N_("`{dispatch}` looked up `getattr(self, {tried}, None)` and found "
                                 "nothing; because the method is HEAD it retried "
                                 "`getattr(self, \"get\", None)` and got `{handler}`: HEAD is "
                                 "answered by `get`, and the body is dropped."), params)
            needles = (lines.HANDLER_LOOKUP + lines.HANDLER_HEAD + lines.HANDLER_ASSERT
                       + lines.HANDLER_CALL)
        else:
            message = Message(N_("`{dispatch}` looked up the handler with "
                                 "`getattr(self, request.method.lower(), None)`: "
                                 "`getattr(self, {tried})` found `{handler}`."), params)
            needles = lines.HANDLER_LOOKUP + lines.HANDLER_ASSERT + lines.HANDLER_CALL
        self._add([step, *lookups], message, sources=self._lines(step, needles))
        return False

    def _handler(self, step: Step) -> bool:
        params = {"handler": step.name, "at": where(step.file, step.line)}
        raised = self.steps.raised(step)
        if raised:
            params["exception"] = clip(raised)
            message = Message(N_("`{handler}` ({at}) raised {exception}."), params)
        else:
            params["result"] = clip(self.steps.result(step))
            message = Message(N_("`{handler}` ({at}) ran and returned {result}."), params)
        self._add([step], message, sources=self._lines(step))
        return False

    def _async(self, step: Step) -> bool:
        self._add([step], Message(
            N_("`{function}` is a coroutine function, so `ensure_sync` runs it to completion "
               "with asgiref's `async_to_sync`."), {"function": step.facts.get("function")}),
            sources=self._lines(step))
        return False

    # -- what a view (or any function Flask called) asked Flask for -----------------------

    def _url_build(self, step: Step) -> bool:
        """`url_for` and the URL defaults functions it ran before building."""
        functions = self.steps.calls_within(step, (Role.URL_DEFAULTS,), (Role.URL_BUILD,))
        raised = self.steps.raised(step)
        params = {"caller": self._caller(step), "endpoint": q(step.facts.get("endpoint")),
                  "functions": code_list(leaf(f.name) for f in functions),
                  "url": clip(self.steps.result(step)), "exception": clip(raised)}
        if functions and raised:
            message = Message(N_("`{caller}` called `url_for({endpoint})`: it ran the URL "
                                 "defaults functions {functions}, then raised {exception}."),
                              params)
        elif functions:
            message = Message(N_("`{caller}` called `url_for({endpoint})`: it ran the URL "
                                 "defaults functions {functions}, each given the endpoint and "
                                 "the values to fill in, then built {url}."), params)
        elif raised:
            message = Message(N_("`{caller}` called `url_for({endpoint})`, which raised "
                                 "{exception}."), params)
        else:
            message = Message(N_("`{caller}` called `url_for({endpoint})`, which built {url}."),
                              params)
        needles = (lines.URL_DEFAULTS if functions else ()) + (() if raised else lines.URL_BUILT)
        sources = self._lines(step, needles)
        for function in functions:
            sources.extend(self._lines(function))
        self._add([step, *functions], message, sources=sources)
        self._inside(functions)
        return True

    def _template(self, step: Step) -> bool:
        """A template rendered, and the context processors that filled its context."""
        functions = self.steps.calls_within(step, (Role.CONTEXT_PROCESSOR,),
                                            (Role.TEMPLATE_RENDER,))
        raised = self.steps.raised(step)
        params = {"caller": self._caller(step), "template": step.facts.get("template", "?"),
                  "functions": code_list(leaf(f.name) for f in functions),
                  "exception": clip(raised)}
        if functions and raised:
            message = Message(N_("`{caller}` rendered the template `{template}`: "
                                 "`update_template_context` ran the context processors "
                                 "{functions}, then rendering raised {exception}."), params)
        elif functions:
            message = Message(N_("`{caller}` rendered the template `{template}`: "
                                 "`update_template_context` first ran the context processors "
                                 "{functions}, and the names they returned went into the "
                                 "template's context."), params)
        elif raised:
            message = Message(N_("`{caller}` rendered the template `{template}`, which raised "
                                 "{exception}."), params)
        else:
            message = Message(N_("`{caller}` rendered the template `{template}`."), params)
        sources = self._lines(step)
        for call in (step, *self.steps.plain_calls(step)):  # `_render`, wherever it is
            found = body_lines(self.sources, self.steps, call, lines.TEMPLATE_RENDER
                               + (() if self.steps.raised(call) else lines.TEMPLATE_RENDERED))
            if found and call is not step:
                sources.extend(def_lines(self.sources, call.file, call.line))
            sources.extend(found)
        for function in functions:
            parent = self.steps.parent(function)
            if parent is not None and parent is not step:
                sources.extend(body_lines(self.sources, self.steps, parent,
                                          lines.CONTEXT_PROCESSOR))
            sources.extend(self._lines(function))
        self._add([step, *functions], message, sources=sources)
        return False

    def _caller(self, step: Step) -> str:
        """Who made the call `step` stands for: the app's or an extension's function the
        hook saw call it (an extension's helper, maybe, not the step above); else the
        nearest call above `step` the narrative knows (the view, a hook function): with
        `--lines` the Flask helpers between them are steps too (`flask.url_for`)."""
        caller = step.facts.get("caller")
        if isinstance(caller, dict) and isinstance(caller.get("function"), str):
            return caller["function"]
        parent = self.steps.parent(step)
        while parent is not None and parent.role is None and parent.parent is not None:
            parent = self.steps.parent(parent)
        return parent.name if parent is not None else "?"

    # -- errors ----------------------------------------------------------------------------

    def _error(self, step: Step) -> bool:
        parent = self.steps.parent(step)
        if parent is not None and parent.role == Role.ERROR_HANDLING:
            return True
        facts = step.facts
        notes = self.steps.find(step, Role.ERROR_HANDLER)
        chosen = [n for n in notes if n.kind == "note"]
        ran = [n for n in notes if n.kind == "call"]
        handler_note = next((n for n in chosen if n.facts.get("handler")), None)
        method = leaf(step.name)
        params: dict[str, Any] = {"method": method, "exception": facts.get("exception"),
                                  "code": facts.get("code")}
        sources = self._lines(step)
        passed_on = self._passed_on(step, params)
        if passed_on:
            sources.extend(body_lines(self.sources, self.steps, step, lines.HTTP_DELEGATE))
        sources.extend(self._lookup_lines(chosen, ran))
        if handler_note is not None:
            found = handler_note.facts
            place = found.get("where") or {}
            params.update(handler=found.get("handler"),
                          at=where(place.get("file"), place.get("line")))
            call = ran[0] if ran else None
            if call is not None and self.steps.raised(call):
                params["result"] = clip(self.steps.raised(call))
                message = Message(N_("`{method}` got `{exception}`; `_find_error_handler` chose "
                                     "`{handler}` ({at}), registered with `errorhandler`, and it "
                                     "raised {result}."), params)
            else:
                params["result"] = clip(self.steps.result(call) if call else None)
                message = Message(N_("`{method}` got `{exception}`; `_find_error_handler` chose "
                                     "`{handler}` ({at}), registered with `errorhandler`, and "
                                     "Flask called it: it returned {result}."), params)
            if call is not None:
                sources.extend(self._lines(call))
            through = self._through_hierarchy(found, params)
            if through is not None:
                passed_on.append(message)
                message = through
        elif method == "handle_exception":
            message = Message(N_("`handle_exception` got the unhandled `{exception}`: no handler "
                                 "took it, so Flask logs it and answers 500 Internal Server "
                                 "Error."), params)
        elif facts.get("http") and not chosen:
            message = Message(N_("`{method}` got `{exception}`: a routing exception is returned "
                                 "as the response itself, without looking for a handler ({code} "
                                 "to the client)."), params)
            deepest = ([step, *self.steps.find(step, Role.ERROR_HANDLING)])[-1]
            sources.extend(body_lines(self.sources, self.steps, deepest,
                                      lines.HTTP_ROUTING))
        elif facts.get("http"):
            message = Message(N_("`{method}` got `{exception}` ({code}); `_find_error_handler` "
                                 "found no handler for it, so the exception itself is the "
                                 "response: werkzeug's {code} error page."), params)
        else:
            message = Message(N_("`{method}` got `{exception}`; `_find_error_handler` found no "
                                 "handler for it, so it was raised again."), params)
        self._add([step, *notes], *passed_on, message, sources=sources)
        self._inside(ran)
        return True

    @staticmethod
    def _through_hierarchy(found: Mapping[str, Any], params: dict[str, Any]
                           ) -> Message | None:
        """A handler registered for a base class of the exception, found by walking its MRO
        (`for cls in exc_class.__mro__`), as the error handler note recorded it."""
        registered = found.get("registered_for")
        if not registered or not found.get("mro_position"):
            return None
        params["registered_for"] = registered
        return Message(N_("It was registered for `{registered_for}`, not for `{exception}`: "
                          "`_find_error_handler` walked `{exception}`'s classes "
                          "(`exc_class.__mro__`) and the first with a handler was "
                          "`{registered_for}`."), params)

    def _passed_on(self, step: Step, params: dict[str, Any]) -> list[Message]:
        """`handle_user_exception` handing an HTTP exception to `handle_http_exception`
        (the recorded step inside it says it did): the sentence, and `params["method"]`
        becomes the method that looked for the handler."""
        inner = next((s for s in self.steps.find(step, Role.ERROR_HANDLING)
                      if s.kind == "call"), None)
        if inner is None or leaf(step.name) != "handle_user_exception":
            return []
        params["method"] = leaf(inner.name)
        return [Message(N_("`handle_user_exception` got `{exception}`, an HTTP exception, and "
                           "passed it on: `return self.{method}(e)`."), params)]

    def _lookup_lines(self, chosen: list[Step], ran: list[Step]) -> list[tuple[str, int]]:
        """`_find_error_handler` in the method that called it, and the handler's call when
        one was found and called."""
        found: list[tuple[str, int]] = []
        for note in chosen:
            lookup = self.steps.parent(note)
            method = self.steps.parent(lookup) if lookup is not None else None
            if method is None or method.role != Role.ERROR_HANDLING:
                continue
            needles = lines.ERROR_HANDLER + (
                lines.ERROR_HANDLER_CALL if any(c.parent == method.id for c in ran) else ())
            found.extend(body_lines(self.sources, self.steps, method, needles))
        return found

    # -- the response ----------------------------------------------------------------------

    def _make_response(self, step: Step) -> bool:
        facts = step.facts
        parent = self.steps.parent(step)
        params = {"from_type": facts.get("from_type"), "status": facts.get("status"),
                  "mimetype": facts.get("mimetype"), "caller": self._caller(step)}
        if facts.get("caller") or (parent is not None and parent.role in _INNER_ROLES):
            message = Message(N_("`{caller}` called `make_response` itself: it turned "
                                 "`{from_type}` into a response ({status}, `{mimetype}`)."),
                              params)
        else:
            message = Message(N_("`make_response` turned the returned `{from_type}` into a "
                                 "response: {status}, `{mimetype}`."), params)
        json = facts.get("json")
        messages = [message]
        if isinstance(json, dict) and json.get("provider"):
            messages.append(Message(N_("A dict or list becomes JSON through the app's JSON "
                                       "provider, `self.json.response(rv)`: `app.json` is a "
                                       "`{provider}`."), {"provider": json["provider"]}))
        elif isinstance(json, dict) and json.get("encoder"):
            messages.append(Message(N_("A dict becomes JSON through `jsonify(rv)`, which "
                                       "serializes it with the app's `json_encoder` class "
                                       "`{encoder}` (Flask before 2.2 has no JSON providers "
                                       "and no `app.json`)."), {"encoder": json["encoder"]}))
        self._add([step], *messages,
                  sources=self._lines(step, lines.JSON_RESPONSE if json else ()))
        return True

    def _after(self, step: Step) -> bool:
        functions = self.steps.with_role(step, Role.AFTER_REQUEST_FUNCTION, kinds=("call",))
        sources = self._lines(step)
        if functions:
            message = Message(N_("`process_response` passed the response through the "
                                 "after-request functions {functions}."),
                              {"functions": code_list(leaf(f.name) for f in functions)})
            for function in functions:
                sources.extend(self._lines(function))
        else:
            message = Message(N_("`process_response` found no after-request functions."))
        self._add([step, *functions], message, sources=sources)
        self._inside(functions)
        return True

    def _teardown(self, step: Step) -> bool:
        functions = self.steps.with_role(step, Role.TEARDOWN_FUNCTION, kinds=("call",))
        sources = self._lines(step, lines.TEARDOWN if functions else ())
        if functions:
            message = Message(N_("`do_teardown_request` ran the teardown functions "
                                 "{functions}, after the response was made (they run even "
                                 "after an error)."),
                              {"functions": code_list(leaf(f.name) for f in functions)})
            for function in functions:
                sources.extend(self._lines(function))
        else:
            message = Message(N_("`do_teardown_request` found no `teardown_request` "
                                 "functions."))
        self._add([step, *functions], message, sources=sources)
        self._inside(functions)
        return True

    def _appcontext_teardown(self, step: Step) -> bool:
        """The app context's teardown functions; nothing is said when none ran."""
        functions = self.steps.with_role(step, Role.APPCONTEXT_TEARDOWN_FUNCTION,
                                         kinds=("call",))
        if not functions:
            return True
        names = code_list(leaf(f.name) for f in functions)
        failed = next((f for f in functions if self.steps.raised(f)), None)
        if failed is not None:
            message = Message(N_("`do_teardown_appcontext` ran the app context teardown "
                                 "functions {functions}; `{function}` raised {exception}."),
                              {"functions": names, "function": leaf(failed.name),
                               "exception": clip(self.steps.raised(failed))})
        else:
            message = Message(N_("`do_teardown_appcontext` ran the app context teardown "
                                 "functions {functions} (registered with "
                                 "`teardown_appcontext`) as the application context was "
                                 "popped."),
                              {"functions": names})
        sources = self._lines(step, lines.APPCONTEXT_TEARDOWN)
        for function in functions:
            sources.extend(self._lines(function))
        self._add([step, *functions], message, sources=sources)
        self._inside(functions)
        return True

    def _answer(self) -> None:
        top = self.steps.top()
        if self.request.status is not None:
            self._add(top[:1], Message(N_("The response went out with status {status}."),
                                       {"status": self.request.status}))
        elif self.request.error:
            self._add(top[:1], Message(N_("No response: the exception left `wsgi_app`: "
                                          "{error}."), {"error": clip(self.request.error)}))


def _view_args(values: Any) -> str:
    if not values:
        return "{}"
    return "{" + ", ".join(f"{k!r}: {v}" for k, v in dict(values).items()) + "}"


def _near_miss(miss: dict[str, Any]) -> Message:
    detail = miss.get("detail") or {}
    params: dict[str, Any] = {"rule": q(miss.get("rule")), "endpoint": q(miss.get("endpoint"))}
    params.update({k: clip(q(v)) if isinstance(v, str) else v for k, v in detail.items()})
    reason = miss.get("reason")
    if reason == "converter_rejected":
        params["converter"] = clip(str(detail.get("converter")))
        params["argument"] = clip(str(detail.get("argument")))
        if detail.get("refused_by") in ("pattern", "to_python") and isinstance(
                detail.get("pattern"), str):
            params["pattern"] = clip(detail["pattern"])
            return _converter_refusal(detail, params)
        if detail.get("empty"):
            return Message(N_("{rule} (endpoint {endpoint}): the path leaves `{argument}` "
                              "empty, and the `{converter}` converter refused the empty "
                              "value."), params)
        if detail.get("own"):
            return Message(N_("{rule} (endpoint {endpoint}): {segment} has the form of the "
                              "app's own `{converter}` converter, which refused it for "
                              "`{argument}` when werkzeug matched the path (its `to_python` "
                              "raised `ValidationError`, or a pattern it set itself did not "
                              "match)."), params)
        return Message(N_("{rule} (endpoint {endpoint}): the `{converter}` converter refused "
                          "{segment} for `{argument}`."), params)
    if reason == "static_differs" and "rule_part" in detail:
        return Message(N_("{rule} (endpoint {endpoint}): the rule has {rule_part} where the "
                          "path has {path_part}."), params)
    if reason == "static_differs":
        return Message(N_("{rule} (endpoint {endpoint}): the rule has {rule_segments} "
                          "segment(s), the path {path_segments}."), params)
    if reason == "trailing_slash" and detail.get("rule_has_slash"):
        return Message(N_("{rule} (endpoint {endpoint}): only the trailing slash differs; "
                          "werkzeug redirects to the rule's URL."), params)
    if reason == "trailing_slash":
        return Message(N_("{rule} (endpoint {endpoint}): only the trailing slash differs: the "
                          "rule has none, and werkzeug does not drop one from the path."), params)
    if reason == "method_not_allowed":
        params["allowed"] = list(detail.get("allowed") or [])
        return Message(N_("{rule} (endpoint {endpoint}): the path matches, but only for "
                          "{allowed}."), params)
    if reason == "host_differs" and "rule_host" in detail:
        return Message(N_("{rule} (endpoint {endpoint}): the path matches on the host "
                          "{rule_host}, not on {host}."), params)
    if reason == "host_differs":
        return Message(N_("{rule} (endpoint {endpoint}): the path matches on the subdomain "
                          "{rule_subdomain}, not on {subdomain}."), params)
    return Message(N_("{rule} (endpoint {endpoint}): {reason}."), {**params, "reason": reason})


def _converter_refusal(detail: Mapping[str, Any], params: dict[str, Any]) -> Message:
    """Why the converter refused the segment: its pattern, or its `to_python` (asked of
    werkzeug's own converters; for the app's own, the one left when its pattern matched)."""
    by_pattern = detail.get("refused_by") == "pattern"
    if detail.get("empty") and by_pattern:
        return Message(N_("{rule} (endpoint {endpoint}): the path leaves `{argument}` empty, "
                          "and the `{converter}` converter refused the empty value: its "
                          "pattern `{pattern}` does not match an empty string."), params)
    if detail.get("own") and by_pattern:
        return Message(N_("{rule} (endpoint {endpoint}): the app's own `{converter}` converter "
                          "refused {segment} for `{argument}`: its pattern `{pattern}` does "
                          "not match it."), params)
    if detail.get("own"):
        return Message(N_("{rule} (endpoint {endpoint}): {segment} matches the pattern "
                          "`{pattern}` of the app's own `{converter}` converter, so it was "
                          "the converter's own `to_python` that refused it for `{argument}` "
                          "when werkzeug matched the path (flaskscope does not run the app's "
                          "converters again)."), params)
    if by_pattern and "/" in str(detail.get("segment")):
        return Message(N_("{rule} (endpoint {endpoint}): the `{converter}` converter refused "
                          "{segment} for `{argument}`: its pattern `{pattern}` takes one "
                          "segment, without a slash (`<path:{argument}>` takes slashes)."),
                       params)
    if by_pattern:
        return Message(N_("{rule} (endpoint {endpoint}): the `{converter}` converter refused "
                          "{segment} for `{argument}`: its pattern `{pattern}` does not match "
                          "it."), params)
    arguments = _converter_arguments(detail.get("arguments"))
    if arguments:
        return Message(N_("{rule} (endpoint {endpoint}): the `{converter}` converter refused "
                          "{segment} for `{argument}`: its pattern `{pattern}` matches it, but "
                          "its `to_python`, with {arguments}, raised `ValidationError`."),
                       {**params, "arguments": arguments})
    return Message(N_("{rule} (endpoint {endpoint}): the `{converter}` converter refused "
                      "{segment} for `{argument}`: its pattern `{pattern}` matches it, but its "
                      "`to_python` raised `ValidationError`."), params)


def _converter_arguments(arguments: Any) -> list[str]:
    """The arguments a rule gave its converter, as code: `min=1`."""
    if not isinstance(arguments, Mapping):
        return []
    return [f"`{clip(f'{name}={_literal(value)}')}`" for name, value in arguments.items()]


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_literal(item) for item in value) + ")"
    return q(value)
