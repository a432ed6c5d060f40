"""The registration of a Bottle app, told in Bottle's own terms.

Bottle has no endpoints: `route()` returns a decorator, which makes one `Route` per method
and hands each to `add_route`; `Router.add` stores it (the object itself for a static rule,
a regular expression for one with wildcards), and the plugins that will wrap its callback
are named. Told here so that these words stay Bottle's; the walk over the steps is WSGI's
(`tracer.frameworks.wsgi.narrate_registration`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, q
from tracer.frameworks.narration.steps import code_list, def_lines, leaf
from tracer.frameworks.wsgi.narrate_registration import WsgiRegistration
from tracer.model import Role, Step, Trace


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return BottleRegistration(trace, endpoints).build()


class BottleRegistration(WsgiRegistration):
    """`route()` and its decorator, `add_route`, `Router.add` and the route's plugins."""

    def __init__(self, trace: Trace, endpoints: Iterable[str] | None = None) -> None:
        super().__init__(trace, endpoints)
        self.handlers.update({
            Role.ROUTE_DECORATOR: self._route_decorator,
            Role.ROUTE_DECORATOR_CALL: self._lone_decorator_call,
            Role.ADD_URL_RULE: self._lone_add_route,
        })

    def _route_decorator(self, step: Step) -> None:
        """`route()`, told with the decorator call made right after it, when there is one."""
        following = self.following(step)
        call = following if following is not None and (
            following.role == Role.ROUTE_DECORATOR_CALL) else None
        if call is not None:
            self.told.add(call.id)
        if self._wanted(call or step):
            self._route(step, call)

    def _lone_decorator_call(self, step: Step) -> None:
        if self._wanted(step):
            self._decorator_call(step)

    def _lone_add_route(self, step: Step) -> None:
        if self._wanted(step):
            self._add_route(step)

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
