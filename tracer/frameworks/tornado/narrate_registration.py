"""The registration of a Tornado app, told in Tornado's terms: the handler list given to
`Application` (or `add_handlers`) turned into rules, each a regex and a handler class,
tried in order when a request comes."""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, item, q
from tracer.frameworks.narration.steps import Steps
from tracer.model import Role, Step, Trace


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    wanted = None if endpoints is None else set(endpoints)
    steps = Steps(trace.registration.steps)
    items: list[Item] = []
    for step in steps.top():
        if step.role == Role.ADD_URL_RULE:
            items.extend(_rules_kept(steps, step, wanted))
    return items


def _rules_kept(steps: Steps, step: Step, wanted: set[str] | None) -> list[Item]:
    added = [s for s in steps.descendants(step) if s.role == Role.RULE_ADDED]
    if wanted is not None:
        added = [s for s in added if s.facts.get("endpoint") in wanted]
        if not added:
            return []
    rules = [f"{q(s.facts.get('rule'))} → `{s.facts.get('handler')}`"
             + (f" (name {q(s.facts.get('name'))})" if s.facts.get("name") else "")
             for s in added]
    params = {"function": step.name, "rules": rules or ["—"],
              "host": q(step.facts.get("host_pattern"))}
    if step.facts.get("host_pattern") is not None:
        message = N_("`{function}` added the rules of host {host}, tried before the others: "
                     "{rules}.")
    else:
        message = N_("`{function}` turned the handler list into rules (a regex ending in "
                     "`$`, a handler class), tried in this order for every request: {rules}. "
                     "A request whose path one regex matches goes to a new instance of that "
                     "class.")
    return [item([step, *added], [Message(message, params)], ())]
