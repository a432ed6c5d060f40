"""The registration of a Werkzeug or Bottle app, told in that framework's own terms.

Werkzeug: the `Rule`s the app put in its `Map` (each naming its endpoint) and the
functions `@Request.application` made into WSGI apps. Bottle: `route()` and the decorator
it returns, one `Route` per method handed to `add_route`, where `Router.add` stored it and
the plugins that will wrap its callback. A plain WSGI app registers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, item, q
from tracer.frameworks.narration.steps import Steps, code_list, def_lines, leaf
from tracer.model import Role, Step, Trace


def narrate_wsgi_registration(trace: Trace, endpoints: Iterable[str] | None = None
                              ) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return _Registration(trace, None if endpoints is None else set(endpoints)).build()




class _Registration:
    def __init__(self, trace: Trace, endpoints: set[str] | None) -> None:
        self.trace = trace
        self.steps = Steps(trace.registration.steps)
        self.sources = trace.sources
        self.endpoints = endpoints
        self.items: list[Item] = []

    def build(self) -> list[Item]:
        top = self.steps.top()
        index = 0
        while index < len(top):
            step = top[index]
            if step.role == Role.ROUTE_DECORATOR:
                following = top[index + 1] if index + 1 < len(top) else None
                call = following if following is not None and (
                    following.role == Role.ROUTE_DECORATOR_CALL) else None
                if self._wanted(call or step):
                    self._route(step, call)
                index += 2 if call is not None else 1
                continue
            if step.role == Role.ROUTE_DECORATOR_CALL and self._wanted(step):
                self._decorator_call(step)
            elif step.role == Role.ADD_URL_RULE and self._wanted(step):
                self._add_route(step)
            elif step.role == Role.RULE_ADDED and self._wanted(step):
                self._map_add(step)
            elif step.role == Role.WSGI_APP:
                self._wsgi_app(step)
            index += 1
        return self.items

    def _wanted(self, step: Step) -> bool:
        if self.endpoints is None:
            return True
        found = {s.facts.get("endpoint") for s in (step, *self.steps.descendants(step))
                 if s.role in (Role.ADD_URL_RULE, Role.RULE_ADDED)}
        return bool(found & self.endpoints)

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: tuple[Item, ...] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))

    # -- Werkzeug ----------------------------------------------------------------------------

    def _map_add(self, step: Step) -> None:
        facts = step.facts
        rule = str(facts.get("rule") or "")
        params = {"rule": q(rule), "endpoint": q(facts.get("endpoint")),
                  "methods": q(facts.get("methods")),
                  "arguments": code_list(facts.get("arguments") or [])}
        if facts.get("methods"):
            messages = [Message(N_("`Map.add` put the werkzeug `Rule({rule}, "
                                   "endpoint={endpoint}, methods={methods})` into the app's "
                                   "URL map; the endpoint is the name the app gave it, nothing "
                                   "was inferred."), params)]
        else:
            messages = [Message(N_("`Map.add` put the werkzeug `Rule({rule}, "
                                   "endpoint={endpoint})` into the app's URL map; the endpoint "
                                   "is the name the app gave it, and with no `methods` the rule "
                                   "accepts every method."), params)]
        if facts.get("arguments"):
            messages.append(Message(N_("Its converters capture {arguments} from the URL; "
                                       "`match` returns them as the values dict."), params))
        if rule.endswith("/") and rule != "/" and facts.get("strict_slashes"):
            messages.append(Message(N_("The rule ends with a slash and `strict_slashes` is on, "
                                       "so a request for {bare} is redirected (308) to {rule}."),
                                    {"bare": q(rule.rstrip("/")), "rule": q(rule)}))
        self._add([step], *messages)

    def _wsgi_app(self, step: Step) -> None:
        facts = step.facts
        self._add([step], Message(
            N_("`@Request.application` turned `{view}(request)` into a WSGI app "
               "`application(environ, start_response)`: on every call it builds a "
               "`{request_class}` from the environ, calls `{view}` and calls the response it "
               "returns as a WSGI app."),
            {"view": facts.get("view") or "?",
             "request_class": facts.get("request_class") or "Request"}),
            sources=def_lines(self.sources, step.file, step.line))

    # -- Bottle ------------------------------------------------------------------------------

    def _route(self, step: Step, call: Step | None) -> None:
        inner = self.steps.with_role(step, Role.ROUTE_DECORATOR, kinds=("call",))
        facts = (inner[0] if inner else step).facts
        params = {"shortcut": leaf(step.name), "rule": q(facts.get("rule")),
                  "methods": q(list(facts.get("methods") or []) or ["GET"]),
                  "name": q(facts.get("name")), "apply": code_list(facts.get("apply") or []),
                  "skip": code_list(facts.get("skip") or [])}
        if inner:
            messages = [Message(N_("`@app.{shortcut}({rule})` is a shortcut for "
                                   "`app.route({rule}, method={methods})`, which registers "
                                   "nothing by itself: it returns its inner function "
                                   "`decorator`."), params)]
        else:
            messages = [Message(N_("`@app.route({rule}, method={methods})` registers nothing "
                                   "by itself: it returns its inner function `decorator`."),
                                params)]
        if facts.get("name"):
            messages.append(Message(N_("The route is named {name}: a name only serves "
                                       "`app.get_url`; Bottle has no endpoints."), params))
        if facts.get("apply"):
            messages.append(Message(N_("`apply=` gives this route its own plugins: {apply}."),
                                    params))
        if facts.get("skip"):
            messages.append(Message(N_("`skip=` leaves out the app plugins {skip} for this "
                                       "route."), params))
        self._add([step, *inner], *messages, sources=def_lines(self.sources, step.file,
                                                               step.line))
        if call is not None:
            self._decorator_call(call)

    def _decorator_call(self, call: Step) -> None:
        adds = self.steps.with_role(call, Role.ADD_URL_RULE, kinds=("call",))
        methods = [a.facts.get("method") for a in adds]
        self._add([call], Message(
            N_("Python applied `decorator` to `{view}`: it made one `Route` object per method "
               "({methods}), handed each to `app.add_route`, and returned `{view}` "
               "unchanged."),
            {"view": call.facts.get("view") or "?", "methods": methods or ["—"]}))
        for add in adds:
            if self._wanted(add):
                self._add_route(add)

    def _add_route(self, step: Step) -> None:
        facts = step.facts
        plugins = list(facts.get("plugins") or [])
        params = {"method": facts.get("method"), "rule": q(facts.get("rule")),
                  "view": facts.get("view") or "?", "name": q(facts.get("name")),
                  "endpoint": facts.get("endpoint"), "plugins": code_list(plugins),
                  "first": plugins[0] if plugins else "?",
                  "last": plugins[-1] if plugins else "?"}
        if facts.get("endpoint_given"):
            messages = [Message(N_("`app.add_route` took the `Route` for {method} {rule} "
                                   "(named {name}), calling `{view}`."), params)]
        else:
            messages = [Message(N_("`app.add_route` took the `Route` for {method} {rule}, "
                                   "calling `{view}`; it has no name, and the trace calls it "
                                   "`{endpoint}` after its callback."), params)]
        if len(plugins) > 1:
            messages.append(Message(N_("On its first request `Route._make_callback` will wrap "
                                       "`{view}` in the plugins {plugins}, in that order: "
                                       "each wraps what the one before returned, so `{first}` "
                                       "ends up innermost and `{last}` outermost."), params))
        elif plugins:
            messages.append(Message(N_("On its first request `Route._make_callback` will wrap "
                                       "`{view}` in the plugin `{first}`."), params))
        self._add([step], *messages)
        for rule_step in self.steps.with_role(step, Role.RULE_ADDED, kinds=("call",)):
            self._router_add(rule_step)
        for note in self.steps.with_role(step, Role.VIEW_REGISTERED, kinds=("note",)):
            self._add([note], Message(
                N_("It is also appended to `{stored_in}` (index {index}), the app's list of "
                   "every route."),
                {"stored_in": note.facts.get("stored_in"), "index": note.facts.get("index")}))

    def _router_add(self, step: Step) -> None:
        facts = step.facts
        params = {"rule": q(facts.get("rule")), "stored_in": facts.get("stored_in"),
                  "target": facts.get("target") or "Route",
                  "arguments": code_list(facts.get("arguments") or [])}
        if facts.get("storage") == "static":
            message = Message(N_("`Router.add` stored the `{target}` object itself in "
                                 "`{stored_in}`: {rule} has no wildcards, so it is found by "
                                 "its exact path."), params)
        elif facts.get("storage") == "dynamic":
            message = Message(N_("`Router.add` compiled {rule} to a regular expression and "
                                 "stored it with the `{target}` in `{stored_in}`: the wildcards "
                                 "{arguments} become the callback's keyword arguments."), params)
        else:
            message = Message(N_("`Router.add` stored the `{target}` for {rule}."), params)
        self._add([step], message, sources=def_lines(self.sources, step.file, step.line))
