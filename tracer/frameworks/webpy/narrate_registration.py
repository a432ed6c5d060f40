"""The registration of a web.py app, told in web.py's terms: the mapping the app gave
`web.application` (regex, class name, regex, class name, …) kept as pairs, each a route
whose class is found by name when a request comes."""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, q
from tracer.frameworks.narration.steps import code_list
from tracer.frameworks.wsgi.narrate_registration import WsgiRegistration
from tracer.model import Role, Step, Trace


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return WebpyRegistration(trace, endpoints).build()


class WebpyRegistration(WsgiRegistration):
    """`init_mapping` and `add_mapping`: the pairs web.py tries in order."""

    def __init__(self, trace: Trace, endpoints: Iterable[str] | None = None) -> None:
        super().__init__(trace, endpoints)
        self.handlers[Role.ADD_URL_RULE] = self._mapping

    def _mapping(self, step: Step) -> None:
        rules = [str(rule) for rule in step.facts.get("rules") or ()]
        names = [str(name) for name in step.facts.get("endpoints") or ()]
        if not rules and step.facts.get("rule") is not None:
            rules, names = [str(step.facts["rule"])], [str(step.facts.get("endpoint"))]
        if self.endpoints is not None and not set(names) & self.endpoints:
            return
        pairs = [f"{q(rule)} → `{name}`" for rule, name in zip(rules, names, strict=False)]
        if step.facts.get("reloaded"):
            self._add([step], Message(
                N_("web.py's reloader (`reload_mapping`, on because `web.config.debug` is "
                   "true) imported the app's module again and called `{function}` with the "
                   "mapping it found there: {pairs}."),
                {"function": step.name, "pairs": pairs or code_list(names)}))
            return
        self._add([step], Message(
            N_("`{function}` kept the URL mapping as (regex, class) pairs, tried in this order "
               "for every request: {pairs}. A request to a path one regex matches in full "
               "goes to that class, found by its name among the app's globals."),
            {"function": step.name, "pairs": pairs or code_list(names)}))
