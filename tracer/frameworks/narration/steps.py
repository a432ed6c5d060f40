"""Reading a step list the way the narrative needs it: children, ends, roles, sources.

Pure helpers over `tracer.model` objects; nothing here formats a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from tracer.model import Route, SourceFile, Step
from tracer.paths import short_path

#: How many lines a quoted `def` may span (decorators above it included).
_MAX_DEF_LINES = 4


def lines_recorded(meta: Mapping[str, Any], registration: bool) -> bool:
    """Whether the trace recorded the lines worth quoting that ran in a phase's framework
    calls (every line with `--lines`; in hook mode the quotable ones, during registration
    only on 3.11). Without them (that phase on 3.11, older trace files) a quote is chosen
    from the facts alone."""
    ran = meta.get("ran_lines")
    return bool(meta.get("lines")) or ran == "all" or (registration and ran == "registration")


class Steps:
    """One section's steps, indexed by id and by parent.

    `lines_recorded`: whether a call's line steps are all the quotable lines it ran
    (`lines_recorded()`), so that a line without one did not run.
    """

    def __init__(self, steps: Sequence[Step], lines_recorded: bool = True) -> None:
        self.steps = tuple(steps)
        self.lines_recorded = lines_recorded
        self._children: dict[int | None, list[Step]] = {}
        for step in self.steps:
            self._children.setdefault(step.parent, []).append(step)

    def __getitem__(self, step_id: int) -> Step:
        return self.steps[step_id]

    def children(self, step: Step | None, *kinds: str) -> list[Step]:
        """Direct children, optionally only of some kinds (``call``, ``note``...)."""
        found = self._children.get(step.id if step is not None else None, [])
        return [s for s in found if not kinds or s.kind in kinds]

    def top(self) -> list[Step]:
        """The steps without a parent, in order."""
        return self.children(None)

    def outermost(self, step: Step | None = None) -> list[Step]:
        """The first steps with a role on each path down, looking through calls without one.

        Recorded with `--lines`, the registration's steps sit inside the app module's own
        `<module>` call (and whatever it called): the roles are what the narrative reads.
        """
        found: list[Step] = []
        for child in self.children(step):
            if child.role is not None and child.kind in ("call", "note"):
                found.append(child)
            elif child.kind == "call":
                found.extend(self.outermost(child))
        return found

    def end(self, step: Step) -> Step | None:
        """The `return` or `exception` step closing a call."""
        kids = self._children.get(step.id, [])
        if kids and kids[-1].kind in ("return", "exception"):
            return kids[-1]
        return None

    def raised(self, step: Step) -> str | None:
        """The exception repr a call ended with, if it raised."""
        end = self.end(step)
        return end.detail.get("exception") if end is not None and end.kind == "exception" else None

    def result(self, step: Step) -> str | None:
        """The repr of what a call returned, if it returned."""
        end = self.end(step)
        return end.detail.get("result") if end is not None and end.kind == "return" else None

    def with_role(self, step: Step | None, *roles: str, kinds: Iterable[str] = ("call", "note")
                  ) -> list[Step]:
        """Direct children with one of `roles`."""
        wanted = set(kinds)
        return [s for s in self.children(step) if s.role in roles and s.kind in wanted]

    def descendants(self, step: Step) -> Iterator[Step]:
        """Every step under `step`, depth first in recorded order."""
        for child in self._children.get(step.id, []):
            yield child
            yield from self.descendants(child)

    def find(self, step: Step, *roles: str) -> list[Step]:
        """Call and note steps with one of `roles` anywhere under `step`."""
        return [s for s in self.descendants(step)
                if s.role in roles and s.kind in ("call", "note")]

    def calls_within(self, step: Step, roles: Iterable[str], stop: Iterable[str] = ()
                     ) -> list[Step]:
        """Calls with one of `roles` under `step`, not looking inside a call with a `stop` role.

        The functions a call ran belong to it, not to a call of the same kind nested in one of
        them (a template rendered while another renders has context processors of its own).
        """
        wanted, stopped = set(roles), set(stop)
        found: list[Step] = []
        for child in self.children(step, "call"):
            if child.role in wanted:
                found.append(child)
            if child.role not in stopped:
                found.extend(self.calls_within(child, wanted, stopped))
        return found

    def plain_calls(self, step: Step) -> list[Step]:
        """Calls without a role under `step`, not looking inside a call with one: the helper
        functions a recorded call went through (`render_template` → `_render`)."""
        found: list[Step] = []
        for child in self.children(step, "call"):
            if child.role is None:
                found.append(child)
                found.extend(self.plain_calls(child))
        return found

    def ran(self, step: Step) -> frozenset[int]:
        """The lines the trace shows ran in the call `step` (its own frame only)."""
        return frozenset(line.line for line in self.children(step, "line")
                         if line.line is not None)

    def parent(self, step: Step) -> Step | None:
        return self.steps[step.parent] if step.parent is not None else None


def leaf(qualname: str | None) -> str:
    """The last part of a qualified name: `auth.<locals>.inner` → `inner`."""
    return (qualname or "?").rsplit(".", 1)[-1]


def maker(qualname: str | None) -> str | None:
    """The function that defined a nested one: `auth.<locals>.inner` → `auth`."""
    if qualname and ".<locals>." in qualname:
        return qualname.rsplit(".<locals>.", 1)[0]
    return None


def where(file: str | None, line: int | None) -> str:
    """`file:line`, short."""
    if not file:
        return "?"
    return f"{short_path(file)}:{line}" if line else short_path(file)


def route_for(routes: Iterable[Route], endpoint: str | None) -> Route | None:
    """The first route of an endpoint."""
    for route in routes:
        if route.endpoint == endpoint:
            return route
    return None


def code_list(names: Iterable[Any]) -> list[str]:
    """Names quoted as code, for list parameters."""
    return [f"`{name}`" for name in names]


# -- source lines ---------------------------------------------------------------------------


def def_lines(sources: Mapping[str, SourceFile], file: str | None, line: int | None
              ) -> list[tuple[str, int]]:
    """The first line of a function and, when that is a decorator, the lines to its `def`."""
    if not file or not line or file not in sources:
        return []
    lines = sources[file].lines
    if line not in lines:
        return []
    found = [(file, line)]
    number = line
    while lines.get(number, "").lstrip().startswith("@") and len(found) < _MAX_DEF_LINES:
        number += 1
        if number not in lines:
            break
        found.append((file, number))
    return found


def body_lines(sources: Mapping[str, SourceFile], steps: Steps, call: Step | None,
               needles: Iterable[str], *, after: int | None = None) -> list[tuple[str, int]]:
    """The first line containing each of `needles` that ran in the function `call` entered.

    Only the lines the trace shows ran in that call (its line steps: every line with
    `--lines`, the lines worth quoting in hook mode) are candidates, so a branch not taken
    is never quoted. Where the phase has no line steps (`Steps.lines_recorded` False) the
    caller's choice of `needles`, made from the facts, is all there is.

    The trace embeds whole bodies of the functions it watched; a body is the run of
    consecutive embedded lines from the first line on, up to the first line indented no
    deeper than its `def` (a nested function ends there, not at the end of the one holding
    it). `after` skips the lines up to that number, for a statement written twice in one
    function. A needle that is not there (another Flask version) is simply not quoted.
    """
    if call is None or not call.file or not call.line or call.file not in sources:
        return []
    ran = steps.ran(call) if steps.lines_recorded else None
    lines = sources[call.file].lines
    found = []
    wanted = list(needles)
    for number, text in _function(lines, call.line):
        if ran is not None and number not in ran:
            continue
        hits = [needle for needle in wanted if needle in text]
        if hits and (after is None or number > after):
            found.append((call.file, number))
            wanted = [needle for needle in wanted if needle not in hits]
    return found


def _function(lines: Mapping[int, str], first: int) -> Iterator[tuple[int, str]]:
    """The embedded lines of the function starting at `first` (decorators included)."""
    indent: int | None = None  # the `def` line's, once seen
    in_body = False
    number = first
    while number in lines:
        text = lines[number]
        code = text.split("#", 1)[0].rstrip()
        if in_body and code.strip() and _indent(text) <= (indent or 0):
            return
        yield number, text
        if indent is None and text.lstrip().startswith(("def ", "async def ")):
            indent = _indent(text)
        in_body = in_body or (indent is not None and code.endswith(":"))
        number += 1


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def step_lines(sources: Mapping[str, SourceFile], steps: Steps, step: Step
               ) -> list[tuple[str, int]]:
    """What a step points at: a call's def line, and the line its return/exception left from."""
    found: list[tuple[str, int]] = []
    if step.kind == "call":
        found.extend(def_lines(sources, step.file, step.line))
        end = steps.end(step)
        if end is not None and end.line and end.file is not None and end.file in sources:
            if end.line in sources[end.file].lines and (end.file, end.line) not in found:
                found.append((end.file, end.line))
    elif step.file and step.line and step.file in sources:
        if step.line in sources[step.file].lines:
            found.append((step.file, step.line))
    return found
