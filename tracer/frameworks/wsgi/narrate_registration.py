"""The registration of an app on WSGI: the walk over its top-level steps, told by role.

A plain WSGI app registers nothing, so this base has no words of its own. The frameworks
built on WSGI subclass `WsgiRegistration` and add their roles to its role → handler table,
in their own words (`tracer.frameworks.werkzeug.narrate_registration`,
`tracer.frameworks.bottle.narrate_registration`); which steps concern the endpoints asked
about is decided here, by the shared roles that name an endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tracer.frameworks.narration.items import Item, Message, item
from tracer.frameworks.narration.steps import Steps
from tracer.model import Role, Step, Trace


def narrate_wsgi_registration(trace: Trace, endpoints: Iterable[str] | None = None
                              ) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return WsgiRegistration(trace, endpoints).build()


class WsgiRegistration:
    """Tells each top-level step whose role has a handler, in the order they were made."""

    def __init__(self, trace: Trace, endpoints: Iterable[str] | None = None) -> None:
        self.trace = trace
        self.steps = Steps(trace.registration.steps)
        self.sources = trace.sources
        self.endpoints = None if endpoints is None else set(endpoints)
        self.items: list[Item] = []
        self.top = self.steps.top()
        #: Top-level steps a handler already told along with the one before them.
        self.told: set[int] = set()
        #: role → handler; a framework's subclass adds its own roles.
        self.handlers: dict[str, Callable[[Step], None]] = {}

    def build(self) -> list[Item]:
        for step in self.top:
            handler = self.handlers.get(step.role or "")
            if handler is not None and step.id not in self.told:
                handler(step)
        return self.items

    def following(self, step: Step) -> Step | None:
        """The top-level step made right after `step`, if there is one."""
        index = next(i for i, each in enumerate(self.top) if each.id == step.id)
        return self.top[index + 1] if index + 1 < len(self.top) else None

    def _wanted(self, step: Step) -> bool:
        if self.endpoints is None:
            return True
        found = {s.facts.get("endpoint") for s in (step, *self.steps.descendants(step))
                 if s.role in (Role.ADD_URL_RULE, Role.RULE_ADDED)}
        return bool(found & self.endpoints)

    def _add(self, steps: Iterable[Step], *messages: Message,
             sources: Iterable[tuple[str, int]] = (), children: tuple[Item, ...] = ()) -> None:
        self.items.append(item(steps, messages, sources, children))
