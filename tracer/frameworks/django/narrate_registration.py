"""The registration of a Django app, told in Django's terms: `path()` and `re_path()`
building `URLPattern`s (the URL `name` is the endpoint), `include()` pointing a prefix at
another URLconf, `as_view()` making a class view's function, `load_middleware` building
the middleware chain, and the URL tree Django tries in order."""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, q
from tracer.frameworks.narration.steps import code_list
from tracer.frameworks.wsgi.narrate_registration import WsgiRegistration
from tracer.model import Role, Step, Trace


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return DjangoRegistration(trace, endpoints).build()


class DjangoRegistration(WsgiRegistration):
    """Every step of a known role, nested or not: an `include()` imports a URLconf whose
    `path()` calls run inside it."""

    def __init__(self, trace: Trace, endpoints: Iterable[str] | None = None) -> None:
        super().__init__(trace, endpoints)
        self.handlers.update({Role.ADD_URL_RULE: self._path, Role.CLASS_VIEW: self._as_view,
                              Role.RULE_ADDED: self._tree, "": self._unnamed})
        self._tree_told = False

    def build(self) -> list[Item]:
        for step in self._all():
            handler = self.handlers.get(step.role or "")
            if handler is not None:
                handler(step)
        return self.items

    def _all(self) -> list[Step]:
        found: list[Step] = []
        for top in self.top:
            found.append(top)
            found.extend(s for s in self.steps.descendants(top) if s.kind in ("call", "note"))
        return [s for s in found if s.kind in ("call", "note")]

    def _path(self, step: Step) -> None:
        facts = step.facts
        if facts.get("include"):
            if self.endpoints is None:
                self._add([step], Message(
                    N_("`{function}()` made a `URLResolver` for the prefix {route}: a path "
                       "that starts with it has the rest matched against the `urlpatterns` "
                       "`include()` handed over, in their order."),
                    {"function": facts.get("function", step.name),
                     "route": q(facts.get("rule"))}))
            return
        endpoint = str(facts.get("endpoint"))
        if self.endpoints is not None and not any(  # `post` is `blog:post` once included
                wanted == endpoint or wanted.endswith(f":{endpoint}") for wanted in self.endpoints):
            return
        params = {"function": facts.get("function", step.name), "route": q(facts.get("rule")),
                  "view": facts.get("view", "?"), "endpoint": q(facts.get("endpoint"))}
        if facts.get("endpoint_given"):
            message = N_("`{function}()` made a `URLPattern`: the route {route} leads to "
                         "`{view}`, and its `name` {endpoint} is the endpoint `reverse()` "
                         "and `{{% url %}}` know it by.")
        else:
            message = N_("`{function}()` made a `URLPattern`: the route {route} leads to "
                         "`{view}`; it has no `name`, so Django knows it by the view's "
                         "dotted path, {endpoint}.")
        self._add([step], Message(message, params))

    def _as_view(self, step: Step) -> None:
        facts = step.facts
        if self.endpoints is not None:
            return
        self._add([step], Message(
            N_("`{view_class}.as_view()` made the function `view` that Django runs for each "
               "request: it makes a new `{view_class}`, runs `setup()`, then `dispatch()`. "
               "`view.view_class` is `{view_class}`, `view.view_initkwargs` holds {initkwargs}."),
            {"view_class": facts.get("view_class", "?"),
             "initkwargs": code_list(facts.get("initkwargs") or ()) or ["{}"]}))

    def _unnamed(self, step: Step) -> None:
        if step.name == "include" and step.kind == "call" and self.endpoints is None:
            facts = step.facts
            namespace = facts.get("namespace") or facts.get("app_name")
            if namespace:
                message = N_("`include()` imported the URLconf {urlconf} and handed its "
                             "`urlpatterns` to the `path()` around it; in `reverse()` and "
                             "`{{% url %}}` their names take the namespace: `{namespace}:NAME`.")
            else:
                message = N_("`include()` imported the URLconf {urlconf} and handed its "
                             "`urlpatterns` to the `path()` around it.")
            self._add([step], Message(message, {"urlconf": q(facts.get("urlconf")),
                                                "namespace": str(namespace)}))
        elif step.name == "BaseHandler.load_middleware" and step.kind == "call":
            names = step.facts.get("middleware") or ()
            if self.endpoints is None:
                self._add([step], Message(
                    N_("`load_middleware` built the middleware chain from "
                       "`settings.MIDDLEWARE`, outermost first: {middleware}. Each one wraps "
                       "the next; the innermost wraps `_get_response`, which resolves the URL "
                       "and runs the view."),
                    {"middleware": code_list(names) or ["—"]}))

    def _tree(self, step: Step) -> None:
        """The `RULE_ADDED` notes, one per `URLPattern`: told once, as the whole tree."""
        if self._tree_told:
            return
        self._tree_told = True
        notes = [s for s in self._all() if s.role == Role.RULE_ADDED and s.kind == "note"
                 and (self.endpoints is None or s.facts.get("endpoint") in self.endpoints)]
        if not notes:
            return
        routes = [f"{q(n.facts.get('rule'))} → `{n.facts.get('endpoint')}`" for n in notes]
        self._add(notes, Message(
            N_("Django's URL tree, tried in this order for every request (patterns joined "
               "from the root URLconf down, each with the name it is known by): {routes}."),
            {"routes": routes}))
