"""Mistakes read from the recorded registration: endpoint collisions and nameless wrappers.

Both work on the trace alone, so they report even when the app failed to import (which
is what an endpoint collision does). The trace holds every app the import made: a finding
read from another app's steps says which app (`tracer.frameworks.narration.apps`).
"""

from __future__ import annotations

from typing import Any

from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.findings import Finding, elsewhere, user_frame
from tracer.frameworks.narration.items import N_, Message
from tracer.frameworks.narration.steps import leaf, maker, where
from tracer.model import Role, Step, Trace

#: `as_view` names its function itself: its endpoint is never the wrapper's own name.
_AS_VIEW = "View.as_view"


def endpoint_collisions(trace: Trace, error: BaseException | None,
                        owners: AppOwners | None = None) -> list[Finding]:
    """One finding per VIEW_COLLISION step, placed at the registration call that failed."""
    findings = []
    for step in trace.registration.steps:
        if step.role != Role.VIEW_COLLISION:
            continue
        facts = step.facts
        existing = facts.get("existing") or {}
        new = facts.get("new") or {}
        params = {
            "endpoint": repr(facts.get("endpoint")),
            "existing": existing.get("qualname"),
            "existing_at": where(existing.get("file"), existing.get("line")),
            "new": new.get("qualname"),
            "new_at": where(new.get("file"), new.get("line")),
            "maker": maker(new.get("qualname")) or "?",
        }
        problem = [Message(N_("The endpoint {endpoint} was asked for twice: "
                              "`view_functions[{endpoint}]` already held `{existing}` "
                              "({existing_at}) when `add_url_rule` got `{new}` ({new_at}), so "
                              "Flask raised `AssertionError` and the app did not load."), params)]
        same_wrapper = (existing.get("qualname") == new.get("qualname")
                        and maker(new.get("qualname")))
        if same_wrapper:
            problem.append(Message(N_("Both are the wrapper `{new}`: `{maker}` does not use "
                                      "`functools.wraps`, so every view it wraps is named after "
                                      "the wrapper."), params))
            fix = Message(N_("Put `@functools.wraps(...)` on the inner function of `{maker}` so "
                             "it keeps each view's name, or pass `endpoint=` to each route."),
                          params)
        else:
            fix = Message(N_("Give one of the two another endpoint: `endpoint=\"...\"` in "
                             "`route`/`add_url_rule`, or another name in `as_view(\"...\")`."))
        other = elsewhere(owners, step)
        if other is not None:
            problem.append(other)
        file, line = user_frame(error)
        if file is None:
            file, line = new.get("file"), new.get("line")
        findings.append(Finding("endpoint_collision", file, line, tuple(problem), fix,
                                (step.id,)))
    return findings


def wrappers_without_wraps(trace: Trace, owners: AppOwners | None = None) -> list[Finding]:
    """Endpoints named after a decorator's inner function, one finding per wrapper (and per
    other app using it)."""
    steps = trace.registration.steps
    by_wrapper: dict[tuple[str, str | None], list[Step]] = {}
    for step in steps:
        if step.role != Role.ENDPOINT_INFERRED or step.kind != "call":
            continue
        view = step.facts.get("view")
        made_by = maker(view)
        if made_by and made_by != _AS_VIEW and leaf(view) == step.facts.get("endpoint"):
            other = owners.owner(step) if owners is not None and owners.is_other(step) else None
            by_wrapper.setdefault((str(view), other), []).append(step)
    findings = []
    for (wrapper, _), inferred in by_wrapper.items():
        rules = [_rule_of(steps, step) for step in inferred]
        file, line = _wrapper_location(trace, wrapper)
        params = {"wrapper": wrapper, "maker": maker(wrapper), "name": leaf(wrapper),
                  "endpoint": repr(leaf(wrapper)),
                  "rules": [repr(rule) for rule in rules if rule]}
        problem = [Message(N_("`{maker}` returns its inner function `{wrapper}` without "
                              "`functools.wraps`, so `_endpoint_from_view_func` named the "
                              "endpoint of {rules} after the wrapper: {endpoint}. Every view "
                              "it wraps gets that endpoint, and `url_for` cannot tell them "
                              "apart."), params)]
        named = elsewhere(owners, inferred[0])
        if named is not None:
            problem.append(named)
        fix = Message(N_("Put `@functools.wraps(...)` on `def {name}` inside `{maker}`, passing "
                         "the function it wraps, so the wrapper keeps the view's `__name__`; "
                         "or pass `endpoint=` to the route."), params)
        findings.append(Finding("wrapper_without_wraps", file, line, tuple(problem), fix,
                                tuple(step.id for step in inferred)))
    return findings


def _rule_of(steps: Any, step: Step) -> str | None:
    parent = steps[step.parent] if step.parent is not None else None
    return parent.facts.get("rule") if parent is not None else None


def _wrapper_location(trace: Trace, wrapper: str) -> tuple[str | None, int | None]:
    for route in trace.routes:
        for link in route.chain:
            if link.qualname == wrapper and link.file:
                return link.file, link.line
    for step in trace.registration.steps:
        if step.role == Role.VIEW_COLLISION:
            for side in ("new", "existing"):
                place = step.facts.get(side) or {}
                if place.get("qualname") == wrapper and place.get("file"):
                    return place["file"], place.get("line")
    return None, None
