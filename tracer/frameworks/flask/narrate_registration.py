"""The registration told as items: how each rule, endpoint and view came to be.

Every sentence is chosen by the roles of the recorded steps and filled with their facts
(`tracer.frameworks.flask.hooks` documents which facts each role carries). A fact the trace
does not have is left out of the sentence, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tracer.frameworks.flask import source_lines as lines
from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.items import N_, Item, Message, clip, item, q
from tracer.frameworks.narration.layers import is_told_apart, layer_name
from tracer.frameworks.narration.steps import (
    Steps,
    body_lines,
    code_list,
    def_lines,
    leaf,
    lines_recorded,
    maker,
    route_for,
    where,
)
from tracer.model import ChainLink, Role, Step, Trace
from tracer.paths import short_path

_STATIC_VIEW = "Flask.__init__."


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given.

    Configuration is told whenever the app loaded some (it may explain any request). When
    the import made other apps than the one asked for, their steps are left out and one
    item names them (`tracer.frameworks.narration.apps` says how steps are told apart).
    """
    return _Registration(trace, None if endpoints is None else set(endpoints)).build()




def _call(name: str, detail: dict[str, str], positional: Sequence[str] = ("rule",),
          replace: dict[str, str] | None = None) -> str:
    """`name(arg, key=value)` rebuilt from a call step's argument reprs.

    Arguments are shown by position while the leading ones are all known, by keyword after
    that: a call step records names and values, not how they were passed.
    """
    replace = replace or {}
    values = {key: replace.get(key, value) for key, value in detail.items()}
    parts = []
    used = set()
    for key in positional:
        if key not in values:
            break
        parts.append(values[key])
        used.add(key)
    parts.extend(f"{key}={value}" for key, value in values.items() if key not in used)
    return f"{name}({', '.join(parts)})"


class _Registration:
    def __init__(self, trace: Trace, endpoints: set[str] | None) -> None:
        self.trace = trace
        self.steps = Steps(trace.registration.steps,
                           lines_recorded(trace.meta, registration=True))
        self.sources = trace.sources
        self.endpoints = endpoints
        self.apps = AppOwners(trace, self.steps)
        #: The routes of the app asked for (all of them when only one app is known).
        self.routes = tuple(route for route in trace.routes
                            if not self.apps.others or route.app == self.apps.asked)
        self.items: list[Item] = []
        self.replayed = _replayed(self.steps)
        #: qualname of the function an `as_view` call returned → how the code wrote it.
        self.as_view_calls: dict[str, str] = {}

    # -- walking ------------------------------------------------------------------------

    def build(self) -> list[Item]:
        outermost = self.steps.outermost()
        top = [step for step in outermost if not self.apps.is_other(step)]
        self._other_apps([step for step in outermost if self.apps.is_other(step)])
        has_config = any(step.role == Role.CONFIG for step in top)
        index = 0
        while index < len(top):
            step = top[index]
            role = step.role
            if role in (Role.ROUTE_DECORATOR, Role.ENDPOINT_DECORATOR):
                following = top[index + 1] if index + 1 < len(top) else None
                call = following if following is not None and (
                    following.role == Role.ROUTE_DECORATOR_CALL) else None
                if self._wanted(step, call):
                    self._route(step, call)
                index += 2 if call is not None else 1
                continue
            if role == Role.ROUTE_DECORATOR_CALL and self._wanted(step):
                self._decorator_call(step, None)
            elif role == Role.ADD_URL_RULE and self._wanted(step):
                self._add_url_rule(step, context="direct")
            elif role == Role.CLASS_VIEW and self._wanted(step):
                self._as_view(step)
            elif role == Role.CONFIG_ROOT and (self.endpoints is None or has_config):
                self._make_config(step)
            elif role == Role.CONFIG:
                self._config(step)
            elif role == Role.BLUEPRINT and self._wanted(step):
                self._blueprint(step)
            index += 1
        return self.items

    def _other_apps(self, steps: list[Step]) -> None:
        """One item naming the other apps whose steps are left out."""
        owners = {self.apps.owner(step) for step in steps}
        names = [label for label in self.apps.others if label in owners]
        if not names:
            return
        params = {"apps": code_list(names), "app": f"`{self.apps.asked}`"}
        if len(names) == 1:
            message = Message(N_("Loading {app}, the app asked for, also made another app, "
                                 "{apps}: its registration steps are left out."), params)
        else:
            message = Message(N_("Loading {app}, the app asked for, also made other apps, "
                                 "{apps}: their registration steps are left out."), params)
        self._add(steps, message)

    def _endpoints_of(self, step: Step) -> set[str]:
        """The endpoints a step made, as Flask named them (read from the steps that did it)."""
        found: set[str] = set()
        if step.role == Role.BLUEPRINT and self._records_only(step):
            found |= self.replayed.blueprints.get(step.facts.get("blueprint"), set())
        for each in (step, *self.steps.descendants(step)):
            facts = each.facts
            if each.role == Role.ADD_URL_RULE and facts.get("deferred"):
                found |= self.replayed.rules.get(_rule_key(facts), set())
            elif each.role in (Role.ADD_URL_RULE, Role.VIEW_COLLISION) and facts.get("endpoint"):
                found.add(facts["endpoint"])
            elif each.role == Role.CLASS_VIEW and facts.get("name"):
                found.add(facts["name"])
        return found

    def _wanted(self, *steps: Step | None) -> bool:
        if self.endpoints is None:
            return True
        return any(self._endpoints_of(s) & self.endpoints for s in steps if s is not None)

    def _add(self, steps: Iterable[Step | int], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: Sequence[Item] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))

    # -- route() and its decorator -----------------------------------------------------

    def _route(self, step: Step, call: Step | None) -> None:
        inner = self.steps.calls_within(step, (Role.ROUTE_DECORATOR,), (Role.ROUTE_DECORATOR,))
        owner = self._owner(call)
        method = step.name.rsplit(".", 1)[-1]
        text = _call(f"{owner}.{method}", dict(step.detail))
        if step.role == Role.ENDPOINT_DECORATOR:
            message = Message(N_("`@{call}` returned its inner function `decorator`, which "
                                 "will store the function below it in `view_functions` under "
                                 "that endpoint."), {"call": text})
        elif inner:
            facts = inner[0].facts
            message = Message(N_("`@{call}` is a shortcut: it calls `route({rule}, "
                                 "methods={methods})`, which returns its inner function "
                                 "`decorator`."),
                              {"call": text, "rule": q(facts.get("rule")),
                               "methods": q(facts.get("methods"))})
        else:
            message = Message(N_("`@{call}` ran first. `route()` registers nothing by itself: "
                                 "it returns its inner function `decorator`, and Python "
                                 "applies that to the function below it."), {"call": text})
        self._add([step], message, sources=[
            *def_lines(self.sources, step.file, step.line),
            *body_lines(self.sources, self.steps, step, lines.ROUTE_RETURNS_DECORATOR)])
        if call is not None:
            route_facts = (inner[0] if inner else step).facts
            self._decorator_call(call, route_facts)

    def _owner(self, call: Step | None) -> str:
        if call is not None:
            for child in self._adds(call):
                if child.facts.get("blueprint"):
                    return str(child.facts["blueprint"])
        return "app"

    def _decorator_call(self, call: Step, route_facts: Any) -> None:
        view = call.facts.get("view")
        children = self._adds(call)
        add = children[0] if children else None
        raised = self.steps.raised(call)
        sources = [*def_lines(self.sources, call.file, call.line),
                   *body_lines(self.sources, self.steps, call, lines.ROUTE_DECORATOR
                               + (() if raised else lines.ROUTE_DECORATOR_RETURN))]
        if add is not None:
            message = self._decorator_message(call, add, route_facts, raised)
        else:
            message = Message(N_("Python then applied `decorator` to `{view}`."),
                              {"view": view})
        self._add([call], message, sources=sources)
        if add is None:
            return
        if add.facts.get("deferred"):
            self._add([add], Message(
                N_("On a blueprint, `add_url_rule` only records what to do: the rule {rule} "
                   "reaches the app when `{blueprint}` is registered with "
                   "`register_blueprint`."),
                {"rule": q(add.facts.get("rule")), "blueprint": add.facts.get("blueprint")}),
                sources=def_lines(self.sources, add.file, add.line))
        else:
            self._add_url_rule(add, context="route")

    def _decorator_message(self, call: Step, add: Step, route_facts: Any, raised: str | None
                           ) -> Message:
        """What `decorator` did: pop the endpoint, call `add_url_rule`, and `return f` unless
        that raised."""
        view = call.facts.get("view")
        endpoint = (route_facts or {}).get("endpoint")
        detail = dict(add.detail)
        detail.setdefault("endpoint", q(endpoint))
        text = _call("self.add_url_rule", detail, ("rule", "endpoint", "view_func"),
                     {"view_func": str(view), "endpoint": q(endpoint)})
        params = {"view": view, "endpoint": q(endpoint), "call": text,
                  "exception": clip(raised)}
        if endpoint is not None and raised:
            return Message(N_("Python then applied it: `decorator({view})` ran "
                              "`endpoint = options.pop(\"endpoint\", None)`, which took out "
                              "{endpoint}, and called `{call}`, which raised {exception}."),
                           params)
        if raised:
            return Message(N_("Python then applied it: `decorator({view})` ran "
                              "`endpoint = options.pop(\"endpoint\", None)`; no endpoint was "
                              "passed, so it is `None`. It called `{call}`, which raised "
                              "{exception}."), params)
        if endpoint is not None:
            return Message(N_("Python then applied it: `decorator({view})` ran "
                              "`endpoint = options.pop(\"endpoint\", None)`, which took "
                              "out {endpoint}, called `{call}` and returned `{view}` "
                              "unchanged (`return f`)."), params)
        return Message(N_("Python then applied it: `decorator({view})` ran "
                          "`endpoint = options.pop(\"endpoint\", None)`; no endpoint "
                          "was passed, so it is `None`. It called `{call}` and "
                          "returned `{view}` unchanged (`return f`)."), params)

    # -- add_url_rule ------------------------------------------------------------------

    def _add_url_rule(self, step: Step, context: str) -> None:
        facts = step.facts
        view = facts.get("view")
        body = (step.file, step.line)
        if view and str(view).startswith(_STATIC_VIEW):
            # The endpoint fact is learnt once the call returns; the argument says it too.
            endpoint = (q(facts["endpoint"]) if facts.get("endpoint") is not None
                        else step.detail.get("endpoint", "?"))
            params = {"rule": q(facts.get("rule")), "endpoint": endpoint}
            raised = self.steps.raised(step)
            if raised:
                params["exception"] = clip(raised)
                message = Message(N_("Flask itself tried to register {rule} with the endpoint "
                                     "{endpoint} in `Flask.__init__`, to serve the files of the "
                                     "static folder, and `add_url_rule` raised {exception}."),
                                  params)
            else:
                message = Message(N_("Flask itself registered {rule} with the endpoint "
                                     "{endpoint} in `Flask.__init__`, to serve the files of "
                                     "the static folder."), params)
            self._add([step], message, sources=def_lines(self.sources, *body))
            return
        inferred = self.steps.with_role(step, Role.ENDPOINT_INFERRED, kinds=("call",))
        if context == "direct":
            shown = self.as_view_calls.get(str(view), str(view))
            blueprint = facts.get("blueprint") if facts.get("deferred") else None
            text = _call(f"{blueprint or 'app'}.add_url_rule", dict(step.detail),
                         ("rule", "endpoint", "view_func"), {"view_func": shown})
            if blueprint:
                message = Message(N_("`{call}` was called directly on the blueprint "
                                     "`{blueprint}`, without `@{blueprint}.route`. On a "
                                     "blueprint, `add_url_rule` only records what to do: the "
                                     "rule {rule} reaches the app when `{blueprint}` is "
                                     "registered with `register_blueprint`."),
                                  {"call": text, "blueprint": blueprint,
                                   "rule": q(facts.get("rule"))})
            else:
                message = Message(N_("`{call}` was called directly, without `@app.route`: "
                                     "that is all the decorator does too."), {"call": text})
            self._add([step], message, sources=def_lines(self.sources, *body))
        if inferred:
            self._inferred(step, inferred[0])
        self._methods(step)
        for rule_step in self.steps.with_role(step, Role.RULE_ADDED, kinds=("call",)):
            self._rule_added(step, rule_step)
        for note in self.steps.with_role(step, Role.VIEW_REGISTERED, kinds=("note",)):
            self._view_registered(step, note)
        for note in self.steps.with_role(step, Role.VIEW_COLLISION, kinds=("note",)):
            self._collision(step, note)

    def _inferred(self, add: Step, step: Step) -> None:
        facts = step.facts
        view = facts.get("view")
        endpoint = facts.get("endpoint")
        made_by = maker(view)
        params = {"view": view, "endpoint": q(endpoint), "maker": made_by}
        if made_by and leaf(view) == endpoint:
            message = Message(N_("No endpoint was given, so `add_url_rule` called "
                                 "`_endpoint_from_view_func(view_func)`, which returns "
                                 "`view_func.__name__`. The function passed is the wrapper "
                                 "`{view}`, made by `{maker}` without `functools.wraps`, so the "
                                 "endpoint is the wrapper's own name, {endpoint}: every view "
                                 "wrapped this way gets that same endpoint."), params)
        elif made_by:
            message = Message(N_("No endpoint was given, so `add_url_rule` called "
                                 "`_endpoint_from_view_func(view_func)`, which returns "
                                 "`view_func.__name__`. The function passed is the wrapper "
                                 "`{view}`, but its `__name__` is {endpoint}, copied onto it "
                                 "(by `functools.wraps` or `as_view`), so the endpoint is "
                                 "{endpoint}."), params)
        else:
            message = Message(N_("No endpoint was given, so `add_url_rule` called "
                                 "`_endpoint_from_view_func({view})`, which returns "
                                 "`view_func.__name__`: the endpoint is {endpoint}."), params)
        sources = [*body_lines(self.sources, self.steps, add, lines.ENDPOINT_INFERRED),
                   *def_lines(self.sources, step.file, step.line),
                   *body_lines(self.sources, self.steps, step, lines.ENDPOINT_FUNCTION)]
        self._add([step], message, sources=sources)

    def _methods(self, step: Step) -> None:
        facts = step.facts
        source = facts.get("methods_source")
        if source is None:
            return
        given = facts.get("methods_given")
        final = facts.get("methods") or []
        automatic = set(facts.get("automatic_methods") or [])
        if source == "argument":
            first = Message(N_("`methods` was given: {given}."), {"given": given or []})
        elif source == "view_func.methods":
            chosen = sorted(set(final) - automatic)
            first = Message(N_("No `methods` argument was given, so `add_url_rule` took "
                               "`view_func.methods`: {given} (a view class's `as_view` copies "
                               "it from the class's `methods`)."), {"given": chosen})
        else:
            first = Message(N_("No `methods` were given and the view has no `methods` "
                               "attribute, so they default to `(\"GET\",)`."))
        messages = [first]
        if {"HEAD", "OPTIONS"} <= automatic:
            messages.append(Message(N_("HEAD and OPTIONS were added automatically: werkzeug's "
                                       "`Rule` adds HEAD wherever GET is allowed, and Flask adds "
                                       "OPTIONS because `provide_automatic_options` is on (it "
                                       "answers OPTIONS itself).")))
        elif "HEAD" in automatic:
            messages.append(Message(N_("HEAD was added automatically: werkzeug's `Rule` adds it "
                                       "wherever GET is allowed.")))
        elif "OPTIONS" in automatic:
            messages.append(Message(N_("OPTIONS was added automatically: Flask answers it "
                                       "itself because `provide_automatic_options` is on.")))
        needles = (lines.METHODS_POPPED + (lines.METHODS_DEFAULT if source != "argument" else ())
                   + (lines.METHODS_OPTIONS if "OPTIONS" in automatic else ())
                   + (lines.METHODS_REQUIRED if automatic else ()))
        self._add([step], *messages,
                  sources=body_lines(self.sources, self.steps, step, needles))

    def _rule_added(self, add: Step, step: Step) -> None:
        facts = step.facts
        rule = facts.get("rule", "")
        messages = [Message(N_("A werkzeug `Rule({rule}, endpoint={endpoint}, "
                               "methods={methods})` went into `app.url_map` through "
                               "`url_map.add`."),
                            {"rule": q(rule), "endpoint": q(facts.get("endpoint")),
                             "methods": q(facts.get("methods"))})]
        arguments = facts.get("arguments") or []
        if arguments:
            messages.append(Message(N_("Its converters capture {arguments} from the URL; the "
                                       "view receives them as keyword arguments."),
                                    {"arguments": code_list(arguments)}))
        if rule.endswith("/") and rule != "/" and facts.get("strict_slashes"):
            messages.append(Message(N_("The rule ends with a slash and `strict_slashes` is on, "
                                       "so a request for {bare} is redirected (308) to {rule}."),
                                    {"bare": q(rule.rstrip("/")), "rule": q(rule)}))
        self._add([step], *messages,
                  sources=body_lines(self.sources, self.steps, add, lines.RULE_ADDED))

    def _view_registered(self, add: Step, note: Step) -> None:
        endpoint = note.facts.get("endpoint")
        view = note.facts.get("view")
        messages = [Message(N_("`app.view_functions[{endpoint}] = {view}`: a request matched to "
                               "this endpoint will call `{view}`."),
                            {"endpoint": q(endpoint), "view": view})]
        route = route_for(self.routes, endpoint)
        if route is not None:
            messages.extend(_layers_inside(route.chain))
        self._add([note], *messages,
                  sources=body_lines(self.sources, self.steps, add, lines.VIEW_REGISTERED))

    def _collision(self, add: Step, note: Step) -> None:
        facts = note.facts
        endpoint = facts.get("endpoint")
        existing = facts.get("existing") or {}
        new = facts.get("new") or {}
        params = {
            "endpoint": q(endpoint),
            "existing": existing.get("qualname"),
            "existing_at": where(existing.get("file"), existing.get("line")),
            "new": new.get("qualname"),
            "new_at": where(new.get("file"), new.get("line")),
            "message": facts.get("message"),
        }
        messages = [
            Message(N_("But `view_functions[{endpoint}]` already held `{existing}` "
                       "({existing_at}), a different function from `{new}` ({new_at}): "
                       "`add_url_rule` raised `AssertionError: {message}`."), params),
            Message(N_("The rule had already gone into `url_map` (werkzeug accepts two rules "
                       "for one URL): what must be unique is the endpoint, not the URL.")),
        ]
        same_wrapper = bool(existing.get("qualname") == new.get("qualname")
                            and maker(new.get("qualname")))
        if same_wrapper:
            messages.append(Message(N_("Both are the wrapper `{new}`: `{maker}` does not use "
                                       "`functools.wraps`, so every view it wraps is named "
                                       "after the wrapper."),
                                    {**params, "maker": maker(new.get("qualname"))}))
        first = self._first_registration(endpoint, note.id)
        if first is not None:
            how = first.facts
            if how.get("endpoint_given"):
                messages.append(Message(N_("`{existing}` got the endpoint first, passed "
                                           "explicitly."), params))
            else:
                messages.append(Message(N_("`{existing}` got the endpoint first, from its "
                                           "`__name__`."), params))
        if same_wrapper:
            messages.append(Message(N_("Put `@functools.wraps(...)` on the inner function of "
                                       "`{maker}` so it keeps each view's name, or pass "
                                       "`endpoint=` to each route."),
                                    {"maker": maker(new.get("qualname"))}))
        else:
            messages.append(Message(N_("Give one of them another endpoint: `endpoint=` in "
                                       "`route`/`add_url_rule`, or another name in "
                                       "`as_view(...)`.")))
        self._add([note, add], *messages,
                  sources=body_lines(self.sources, self.steps, add, lines.VIEW_COLLISION))

    def _first_registration(self, endpoint: Any, before: int) -> Step | None:
        for step in self.steps.steps[:before]:
            if step.role == Role.VIEW_REGISTERED and step.facts.get("endpoint") == endpoint:
                return self.steps.parent(step)
        return None

    # -- class-based views ---------------------------------------------------------------

    def _as_view(self, step: Step) -> None:
        facts = step.facts
        cls = facts.get("view_class")
        name = facts.get("name")
        params = {"cls": cls, "name": q(name), "methods": q(facts.get("methods") or None)}
        notes = self.steps.with_role(step, Role.CLASS_DECORATOR, kinds=("note",))
        outer = next((n.facts.get("produced") for n in reversed(notes)
                      if n.facts.get("produced")), facts.get("view"))
        if outer:
            self.as_view_calls[str(outer)] = _call(f"{cls}.as_view", dict(step.detail), ())
        self._add([step], Message(
            N_("`{cls}.as_view(name={name})` turned the class into a function: it defined "
               "`view`, which on every request creates an instance of `{cls}` "
               "(`view.view_class(...)`) and returns its `dispatch_request(**kwargs)`."),
            params), sources=def_lines(self.sources, step.file, step.line))
        if notes:
            children = [self._class_decorator(note) for note in notes]
            outermost = next((_written_as(n.facts) for n in notes
                              if n.facts.get("outermost")), _written_as(notes[-1].facts))
            written = [_written_as(n.facts) for n in notes]
            listed = (written if all(n.facts.get("expression") for n in notes)
                      else facts.get("decorators") or [])
            self._add([step, *notes], Message(
                N_("`{cls}.decorators` lists {decorators}. `for decorator in cls.decorators: "
                   "view = decorator(view)` wrapped `view` in that order, so the last one, "
                   "`{outermost}`, is the outermost layer: it runs first on every request."),
                {"cls": cls, "decorators": code_list(listed), "outermost": outermost}),
                sources=body_lines(self.sources, self.steps, step, lines.AS_VIEW_DECORATORS),
                children=children)
        if facts.get("methods"):
            attributes = Message(N_("`as_view` then set `view.view_class = {cls}`, "
                                    "`view.__name__ = {name}` (the endpoint to be) and "
                                    "`view.methods = {methods}` from `{cls}.methods`."), params)
        else:
            attributes = Message(N_("`as_view` then set `view.view_class = {cls}` and "
                                    "`view.__name__ = {name}` (the endpoint to be); `{cls}` "
                                    "has no `methods`, so `add_url_rule` will default to "
                                    "GET."), params)
        messages = [attributes]
        route = route_for(self.routes, name)
        if route is not None and facts.get("methods"):
            routed = set(route.methods)
            handlers = [link.name for link in route.chain
                        if link.kind == "method" and link.name != "dispatch_request"]
            excluded = [h for h in handlers if h.upper() not in routed]
            if excluded:
                messages.append(Message(
                    N_("`{cls}` also defines {excluded}, which `{cls}.methods` leaves out: "
                       "requests with those methods get 405 and never reach the class."),
                    {"cls": cls, "excluded": code_list(excluded)}))
        assigned = body_lines(self.sources, self.steps, step, lines.AS_VIEW_CLASS)
        if assigned:
            assigned += body_lines(self.sources, self.steps, step, lines.AS_VIEW_ATTRIBUTES,
                                   after=assigned[0][1])
        self._add([step], *messages, sources=assigned)

    def _class_decorator(self, note: Step) -> Item:
        facts = note.facts
        params = {"position": int(facts.get("position", 0)) + 1, "count": facts.get("count"),
                  "decorator": _written_as(facts), "produced": facts.get("produced")}
        if facts.get("produced") is None:
            message = Message(N_("Decorator {position} of {count}: `{decorator}` was applied, "
                                 "but what it returned could not be unwrapped."), params)
        elif facts.get("wraps"):
            message = Message(N_("Decorator {position} of {count}: `{decorator}` wrapped the "
                                 "function so far and returned `{produced}` (made with "
                                 "`functools.wraps`)."), params)
        else:
            message = Message(N_("Decorator {position} of {count}: `{decorator}` wrapped the "
                                 "function so far and returned `{produced}`, without "
                                 "`functools.wraps`."), params)
        return item([note], [message])

    # -- configuration -------------------------------------------------------------------

    def _make_config(self, step: Step) -> None:
        facts = step.facts
        params = {"root_path": short_path(facts.get("root_path")),
                  "instance_path": short_path(facts.get("instance_path"))}
        if facts.get("instance_relative"):
            message = Message(N_("`Flask(...)` made `app.config` in `make_config` with "
                                 "`instance_relative_config=True`: relative file names given "
                                 "to `from_pyfile` are looked up in the instance folder "
                                 "`{instance_path}`, not in the app's `root_path` "
                                 "`{root_path}`."), params)
        else:
            message = Message(N_("`Flask(...)` made `app.config` in `make_config`: "
                                 "`instance_relative_config` is False, so relative config file "
                                 "names are looked up in the app's `root_path` `{root_path}` "
                                 "(not in the instance folder `{instance_path}`)."), params)
        needles = lines.MAKE_CONFIG + (
            lines.MAKE_CONFIG_INSTANCE if facts.get("instance_relative") else ())
        self._add([step], message,
                  sources=body_lines(self.sources, self.steps, step, needles))

    def _config(self, step: Step) -> None:
        facts = step.facts
        style = facts.get("style")
        keys = self._keys(facts)
        params: dict[str, Any] = {"keys": keys}
        sources = def_lines(self.sources, step.file, step.line)
        if style == "item":
            key = facts.get("key")
            params.update(key=q(key), value=step.detail.get(str(key), "?"))
            message = Message(N_("`app.config[{key}] = {value}` set one key directly."), params)
        elif style == "from_pyfile":
            params.update(filename=q(facts.get("filename")),
                          resolved=short_path(facts.get("resolved")),
                          root=short_path(facts.get("config_root")))
            sources = body_lines(self.sources, self.steps, step, lines.FROM_PYFILE)
            if not facts.get("exists", True):
                message = Message(N_("`app.config.from_pyfile({filename})` joined the name to "
                                     "`config.root_path` (`{root}`) and looked for "
                                     "`{resolved}`, but that file does not exist."), params)
            elif self._instance_relative(step):
                message = Message(N_("`app.config.from_pyfile({filename})` joined the name to "
                                     "`config.root_path`, the instance folder (because "
                                     "`instance_relative_config=True`), and read `{resolved}`: "
                                     "it ran the file and kept its upper-case names: {keys}."),
                                  params)
            else:
                message = Message(N_("`app.config.from_pyfile({filename})` joined the name to "
                                     "`config.root_path`, the app's `root_path`, and read "
                                     "`{resolved}`: it ran the file and kept its upper-case "
                                     "names: {keys}."), params)
        elif style == "from_object":
            params["object"] = facts.get("object")
            message = Message(N_("`app.config.from_object({object})` copied the upper-case "
                                 "attributes of `{object}`: {keys}."), params)
        elif style == "from_envvar":
            params.update(variable=q(facts.get("variable")), value=q(facts.get("value")))
            message = Message(N_("`app.config.from_envvar({variable})` read the file named by "
                                 "that environment variable ({value})."), params)
        elif style == "from_prefixed_env":
            params["prefix"] = facts.get("prefix")
            message = Message(N_("`app.config.from_prefixed_env()` read the environment "
                                 "variables starting with `{prefix}_`: {keys}."), params)
        else:
            params["style"] = style
            message = Message(N_("`app.config.{style}(...)` set {keys}."), params)
        self._add([step], message, sources=sources)

    def _keys(self, facts: Any) -> list[str]:
        values = facts.get("values") or {}
        keys = facts.get("keys") or []
        if not keys:
            return ["—"]
        return [f"`{key}` = {values[key]}" if key in values else f"`{key}`" for key in keys]

    def _instance_relative(self, config: Step) -> bool:
        """Whether the app whose config `config` loads into made it instance-relative."""
        made = [step for step in self.steps.outermost()
                if step.role == Role.CONFIG_ROOT and not self.apps.is_other(step)]
        same = [step for step in made
                if step.facts.get("config_root") == config.facts.get("config_root")]
        for step in same or made:
            return bool(step.facts.get("instance_relative"))
        return False

    # -- blueprints ----------------------------------------------------------------------

    def _records_only(self, step: Step) -> bool:
        """A `register_blueprint` that registered nothing yet: one blueprint put in another."""
        return not self.steps.raised(step) and not self.steps.calls_within(step, (Role.BLUEPRINT,))

    def _adds(self, step: Step) -> list[Step]:
        """The `add_url_rule` calls `step` made (Flask's own calls between them looked through,
        as `--lines` records them)."""
        return self.steps.calls_within(step, (Role.ADD_URL_RULE,), (Role.ADD_URL_RULE,))

    def _blueprint(self, step: Step) -> None:
        facts = step.facts
        raised = self.steps.raised(step)
        params = {"blueprint": facts.get("blueprint"), "url_prefix": q(facts.get("url_prefix")),
                  "exception": clip(raised)}
        sources = def_lines(self.sources, step.file, step.line)
        replays = bool(self.steps.calls_within(step, (Role.BLUEPRINT,)))
        if raised and not replays:
            self._add([step], Message(N_("`register_blueprint({blueprint})` (url_prefix "
                                         "{url_prefix}) raised {exception}."), params),
                      sources=sources)
            return
        if self._records_only(step):
            self._add([step], Message(
                N_("`register_blueprint({blueprint})` (url_prefix {url_prefix}) was called on "
                   "a blueprint: it only records `{blueprint}` inside it. Its rules reach the "
                   "app when that blueprint is registered, behind its URL prefix and name."),
                params), sources=sources)
            return
        messages = [Message(
            N_("`app.register_blueprint({blueprint})` (url_prefix {url_prefix}) called "
               "`Blueprint.register`, which replays what the blueprint recorded, rule by "
               "rule."), params)]
        if raised:
            messages.append(Message(N_("It raised {exception}."), params))
        self._add([step], *messages, sources=sources)
        for inner in self.steps.find(step, Role.BLUEPRINT, Role.BLUEPRINT_RULE):
            if inner.kind != "call" or not self._wanted(inner):
                continue
            if inner.role == Role.BLUEPRINT_RULE:
                self._blueprint_rule(inner)
            elif (parent := _registering(self.steps, inner)) is not None and parent is not step:
                self._nested_blueprint(parent, inner)

    def _nested_blueprint(self, parent: Step, step: Step) -> None:
        """A blueprint registered by the registration of the blueprint it was put in."""
        self._add([step], Message(
            N_("Registering `{parent}` registered the blueprint nested in it, `{blueprint}`, "
               "under the URL prefix {url_prefix}."),
            {"parent": parent.facts.get("blueprint"), "blueprint": step.facts.get("blueprint"),
             "url_prefix": q(step.facts.get("url_prefix"))}),
            sources=def_lines(self.sources, step.file, step.line))

    def _took(self, step: Step, branch: tuple[str, ...], otherwise: bool) -> bool:
        """Whether the call `step` ran the statement of `branch`: read from the lines it
        recorded; a trace without them (an older file) says it by `otherwise`."""
        if not self.steps.lines_recorded:
            return otherwise
        return bool(body_lines(self.sources, self.steps, step, branch))

    def _blueprint_rule(self, step: Step) -> None:
        facts = step.facts
        adds = self._adds(step)
        add = adds[0] if adds else None
        inferred = self.steps.calls_within(step, (Role.ENDPOINT_INFERRED,), (Role.ADD_URL_RULE,))
        endpoint = add.facts.get("endpoint") if add is not None else None
        params = {"rule": q(facts.get("rule")), "url_prefix": q(facts.get("url_prefix")),
                  "blueprint": facts.get("blueprint"), "name_prefix": facts.get("name_prefix"),
                  "full_rule": q(add.facts.get("rule")) if add else "?",
                  "endpoint": q(endpoint), "view": leaf(facts.get("view")),
                  "prefix": str(endpoint).rpartition(".")[0]}
        messages = []
        if inferred:
            messages.append(Message(N_("No endpoint was given, so `_endpoint_from_view_func` "
                                       "took {name} from the function's `__name__`."),
                                    {"name": q(inferred[0].facts.get("endpoint"))}))
        prefix_only = self._took(step, lines.BLUEPRINT_RULE_PREFIX,
                                 bool(facts.get("url_prefix")) and not facts.get("rule"))
        if endpoint and prefix_only:
            messages.append(Message(N_("`BlueprintSetupState.add_url_rule` took the URL prefix "
                                       "{url_prefix} as the rule, {rule} being empty, prefixed "
                                       "the endpoint with `{prefix}.`, and called "
                                       "`app.add_url_rule({full_rule}, {endpoint}, {view})`."),
                                    params))
        elif endpoint and facts.get("url_prefix"):
            messages.append(Message(N_("`BlueprintSetupState.add_url_rule` joined {url_prefix} "
                                       "and {rule}, prefixed the endpoint with `{prefix}.`, and "
                                       "called `app.add_url_rule({full_rule}, {endpoint}, "
                                       "{view})`."), params))
        elif endpoint:
            messages.append(Message(N_("`BlueprintSetupState.add_url_rule` kept the rule {rule} "
                                       "(the blueprint has no URL prefix), prefixed the endpoint "
                                       "with `{prefix}.`, and called "
                                       "`app.add_url_rule({full_rule}, {endpoint}, {view})`."),
                                    params))
        else:
            messages.append(Message(N_("`BlueprintSetupState.add_url_rule` ran for the rule "
                                       "{rule} of the blueprint `{blueprint}`."), params))
        if endpoint and facts.get("name_prefix"):
            messages.append(Message(N_("`{blueprint}` is registered inside another blueprint, "
                                       "so Flask put its `name_prefix` `{name_prefix}` in front "
                                       "of its name: the endpoint is {endpoint}."), params))
        branch = (lines.BLUEPRINT_RULE_PREFIX if prefix_only
                  else lines.BLUEPRINT_RULE_JOIN if facts.get("url_prefix") else ())
        needles = branch + (lines.BLUEPRINT_RULE_NAME if add is not None else ())
        self._add([step, *inferred], *messages,
                  sources=body_lines(self.sources, self.steps, step, needles))
        if add is not None:
            self._add_url_rule(add, context="blueprint")


class _Replayed:
    """What the registration of blueprints made of what they recorded, read from its steps."""

    def __init__(self) -> None:
        #: (rule, view, endpoint argument) of a deferred `add_url_rule` → endpoints made of it.
        self.rules: dict[tuple[Any, Any, Any], set[str]] = {}
        #: blueprint name → endpoints its registrations made.
        self.blueprints: dict[Any, set[str]] = {}


def _rule_key(facts: Any) -> tuple[Any, Any, Any]:
    return (facts.get("rule"), facts.get("view"), facts.get("endpoint_argument"))


def _replayed(steps: Steps) -> _Replayed:
    """Each endpoint a `BlueprintSetupState.add_url_rule` made, by what it replayed.

    A deferred `Blueprint.add_url_rule` does not know the endpoint it will give: nesting
    and `name=` decide it when the blueprint is registered. Flask's own call says it.
    """
    replayed = _Replayed()
    for step in steps.steps:
        if step.role != Role.BLUEPRINT_RULE or step.kind != "call":
            continue
        made = {add.facts["endpoint"]
                for add in steps.calls_within(step, (Role.ADD_URL_RULE,), (Role.ADD_URL_RULE,))
                if add.facts.get("endpoint")}
        replayed.rules.setdefault(_rule_key(step.facts), set()).update(made)
        register = _registering(steps, step)
        if register is not None:
            replayed.blueprints.setdefault(register.facts.get("blueprint"), set()).update(made)
    return replayed


def _registering(steps: Steps, step: Step) -> Step | None:
    """The blueprint registration a step happened in (the nearest `Blueprint.register`)."""
    parent = steps.parent(step)
    while parent is not None and parent.role != Role.BLUEPRINT:
        parent = steps.parent(parent)
    return parent


def _written_as(facts: Any) -> str:
    """A view class's decorator as its `decorators` list writes it (`tag("first")`), else
    by the name of what it is (`tag.<locals>.deco`)."""
    expression = facts.get("expression")
    return clip(str(expression)) if expression else str(facts.get("decorator"))


def _layers_inside(chain: Sequence[ChainLink]) -> list[Message]:
    """What the registered view wraps, outermost first, each layer told apart from the
    layers with the same name (made by the same factory) by what made it."""
    inside = [layer_name(chain, index) for index, link in enumerate(chain)
              if index and link.kind in ("decorator", "view")]
    if not inside:
        return []
    outer = layer_name(chain, 0)
    if is_told_apart(outer) or any(is_told_apart(name) for name in inside):
        return [Message(N_("That is the outermost layer, {outer}; inside it: {inside}."),
                        {"outer": outer, "inside": inside})]
    return [Message(N_("That is the outermost layer; inside it: {inside}."), {"inside": inside})]
