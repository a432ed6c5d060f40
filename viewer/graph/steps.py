"""What the graphs read from a request's steps: who called whom, and where the request went.

Only `call` steps stand for functions; notes and line steps hang under them and are skipped
when walking up to a caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from tracer.model import Request, Role, Step

#: Roles that stand for the code a request was routed to, innermost last.
_VIEW_ROLES = frozenset({Role.LAYER, Role.VIEW, Role.CLASS_DISPATCH})


class StepIndex:
    """Steps by id, with each call step's nearest calling step and depth."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self.by_id = {step.id: step for step in self.steps}
        self.depth: dict[int, int] = {}
        self.ends: dict[int, Step] = {}
        for step in self.steps:
            parent = step.parent
            self.depth[step.id] = self.depth.get(parent, -1) + 1 if parent is not None else 0
            if step.kind in ("return", "exception") and parent is not None:
                self.ends[parent] = step

    def calls(self) -> list[Step]:
        """The call steps, in recorded order."""
        return [step for step in self.steps if step.kind == "call"]

    def caller(self, step: Step) -> Step | None:
        """The nearest enclosing call step, or None for a root."""
        parent = step.parent
        while parent is not None:
            above = self.by_id.get(parent)
            if above is None:
                return None
            if above.kind == "call":
                return above
            parent = above.parent
        return None

    def path_to(self, step: Step) -> list[Step]:
        """The call steps from the outermost one down to `step`, both included."""
        path = [step]
        above = self.caller(step)
        while above is not None:
            path.append(above)
            above = self.caller(above)
        return path[::-1]

    def target(self) -> Step | None:
        """Where the request was going: the handler method, else the innermost view or layer.

        An early return (a decorator that refuses the request) leaves that decorator's layer
        as the innermost one entered.
        """
        calls = self.calls()
        for step in calls:
            if step.role == Role.HANDLER:
                return step
        routed = [step for step in calls if step.role in _VIEW_ROLES]
        if not routed:
            return None
        return max(routed, key=lambda step: (self.depth[step.id], -step.id))

    def raised(self, step: Step) -> str | None:
        """The exception a call ended with, as recorded, or None."""
        end = self.ends.get(step.id)
        if end is None or end.kind != "exception":
            return None
        return end.detail.get("exception") or "an exception"

    def result(self, step: Step) -> str | None:
        """The recorded repr of what a call returned, or None."""
        end = self.ends.get(step.id)
        if end is None or end.kind != "return":
            return None
        return end.detail.get("result")


def readable(request: Request) -> Request:
    """The request with its path as the user typed it.

    The recorded path comes from the WSGI environ, where PEP 3333 carries the URL's bytes
    as latin-1 characters, so `/引号` arrives as `/å¼å·`. Undo that when the text is
    such a carrier (only latin-1 characters, valid UTF-8 underneath); leave it otherwise.
    """
    try:
        decoded = request.path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return request
    return request if decoded == request.path else replace(request, path=decoded)


def match_facts(request: Request) -> Mapping[str, Any]:
    """The facts of the request's URL-matching step ({} when it was not recorded)."""
    for step in request.steps:
        if step.kind == "call" and step.role == Role.MATCH:
            return step.facts
    return {}
