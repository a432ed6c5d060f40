"""What every pane reads: the loaded trace, its phases and where the reader is in each.

A phase is the registration or one request. Each phase gets its own `Navigator` the
first time it is opened and keeps it, so going back to a request returns to the step
left there. Per-phase facts that need a pass over all steps (entered chain links, the
resolution) are computed once, when the phase is first opened.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tracer.model import Request, Step, Trace
from tracer.steptable import StepTable, as_table
from viewer.tui.highlight import SourceCache
from viewer.tui.navigation import Navigator
from viewer.tui.onion import EnteredCalls, Onion, build_onion, entered_calls
from viewer.tui.resolution import Line, resolve_registration, resolve_request
from viewer.tui.values import FrameValues, StepValues


@dataclass(frozen=True)
class Phase:
    """The registration (index 0, no request) or one request (index 1 and up); its steps
    as one `StepTable` that every pane shares."""

    index: int
    steps: StepTable
    request: Request | None = None

    @classmethod
    def of(cls, index: int, request: Request | None, steps: Sequence[Step]) -> Phase:
        return cls(index, as_table(steps), request)


class Phases(Sequence[Phase]):
    """The registration and each request as a `Phase`, made when first asked for.

    A trace file's phases are all made up front (its steps are decoded in the background
    anyway). A store's requests are read one at a time as they are opened: the Requests
    pane draws its rows from `headline`, the stored columns, so a store of 100,000
    requests shows its first screen without reading any of them.
    """

    def __init__(self, trace: Trace) -> None:
        self._requests = trace.requests
        self._made: dict[int, Phase] = {0: Phase.of(0, None, trace.registration.steps)}
        self._added: list[Phase] = []
        self._rows = getattr(trace.requests, "rows", None)  # a store's list rows
        if self._rows is None:
            for index in range(1, len(self)):
                self[index]

    def __len__(self) -> int:
        return 1 + len(self._requests) + len(self._added)

    def __getitem__(self, index: int) -> Phase:  # type: ignore[override]
        if index < 0:
            index += len(self)
        phase = self._made.get(index)
        if phase is not None:
            return phase
        if 1 <= index <= len(self._requests):
            request = self._requests[index - 1]
            phase = self._made[index] = Phase.of(index, request, request.steps)
            return phase
        if index > len(self._requests) and index - 1 - len(self._requests) < len(self._added):
            return self._added[index - 1 - len(self._requests)]
        raise IndexError(index)

    def append(self, phase: Phase) -> None:
        """Live mode: a request that just arrived."""
        self._added.append(phase)

    def made(self) -> list[Phase]:
        """The phases made so far (every one of a trace file)."""
        return [*(self._made[index] for index in sorted(self._made)), *self._added]

    def headline(self, index: int) -> tuple[Request | None, int]:
        """What a row of the Requests pane shows: the request (without its steps, for a
        store's request not yet opened) and its number of steps."""
        phase = self._made.get(index)
        if phase is None and self._rows is not None and 1 <= index <= len(self._rows):
            row = self._rows[index - 1]
            return row.headline(), row.steps
        phase = self[index]
        return phase.request, len(phase.steps)


class Position(NamedTuple):
    """What the panes observe: the phase, the current step and a revision number that
    changes whenever rows change without a move (folds, line steps, bookmarks)."""

    phase: int
    step: int | None
    revision: int = 0


@dataclass(frozen=True)
class Location:
    """Where the Source pane points for a step."""

    file: str | None
    line: int | None
    qualname: str


class ViewState:
    """The trace and the reader's place in it; pure data, no UI."""

    show_lines: bool

    def __init__(self, trace: Trace, *, show_lines: bool = True) -> None:
        self.reset(trace, show_lines=show_lines)

    def reset(self, trace: Trace, *, show_lines: bool | None = None) -> None:
        """Show another trace (a store's requests filtered anew) from its first request."""
        if show_lines is None:
            show_lines = self.show_lines
        self.trace = trace
        self.sources = SourceCache(trace.sources)
        self.phases = Phases(trace)
        self.show_lines = show_lines
        self._navigators: dict[int, Navigator] = {}
        self._values: dict[int, FrameValues] = {}
        self._entered: dict[int, EnteredCalls] = {}
        self._resolution: dict[int, tuple[Line, ...]] = {}
        self.phase_index = 1 if trace.requests else 0

    # -- phases ------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self.phases[self.phase_index]

    def select_phase(self, index: int) -> bool:
        """Open the registration (0) or request `index`; False when there is none."""
        if not 0 <= index < len(self.phases):
            return False
        self.phase_index = index
        self.navigator.set_show_lines(self.show_lines)
        return True

    @property
    def navigator(self) -> Navigator:
        navigator = self._navigators.get(self.phase_index)
        if navigator is None:
            navigator = Navigator(self.phase.steps, show_lines=self.show_lines)
            self._navigators[self.phase_index] = navigator
        return navigator

    @property
    def current(self) -> Step | None:
        current = self.navigator.current
        return None if current is None else self.phase.steps[current]

    def position(self, revision: int = 0) -> Position:
        return Position(self.phase_index, self.navigator.current, revision)

    def set_show_lines(self, show: bool) -> None:
        self.show_lines = show
        self.navigator.set_show_lines(show)

    # -- what the panes show ------------------------------------------------------------

    def values(self) -> StepValues | None:
        current = self.navigator.current
        if current is None:
            return None
        values = self._values.get(self.phase_index)
        if values is None:
            values = self._values[self.phase_index] = FrameValues(self.navigator.index)
        return values.at(current)

    def stack(self) -> list[int]:
        """The current step and its ancestors, innermost first."""
        current = self.navigator.current
        if current is None:
            return []
        return [current, *self.navigator.index.ancestors(current)]

    def onion(self) -> Onion | None:
        request = self.phase.request
        if request is None:
            return None
        entered = self._entered.get(self.phase_index)
        if entered is None:
            entered = self._entered[self.phase_index] = entered_calls(self.phase.steps)
        return build_onion(self.trace, request, entered, self.stack())

    def resolution(self) -> tuple[Line, ...]:
        lines = self._resolution.get(self.phase_index)
        if lines is None:
            request = self.phase.request
            lines = (
                resolve_registration(self.trace.routes)
                if request is None
                else resolve_request(request, self.trace.routes, self.phase.steps)
            )
            self._resolution[self.phase_index] = lines
        return lines

    def location(self, step_id: int | None = None) -> Location | None:
        """The file and line the Source pane shows for a step (default: the current one).

        Calls point at their `def` line, lines and returns at their own line; a return
        without a line and a note without a place borrow the latest line of their frame
        when every line was recorded (`--lines`). Hook mode records only the lines the
        narrative may quote: the latest of those is not where the frame was, so they point
        at the `def` line.
        """
        if step_id is None:
            step_id = self.navigator.current
        if step_id is None:
            return None
        steps = self.phase.steps
        step = steps[step_id]
        if step.file is not None and step.line is not None:
            return Location(step.file, step.line, step.name)
        index = self.navigator.index
        frame = index.frame(step_id) if step.kind != "note" else step.parent
        if frame is None:
            return Location(step.file, step.line, step.name)
        call = steps[frame]
        line = call.line
        if not self.trace.meta.get("lines"):
            return Location(call.file, line, call.name)
        children = index.children(frame)
        for position in range(bisect_left(children, step_id) - 1, -1, -1):
            if steps[children[position]].kind == "line":
                line = steps[children[position]].line
                break
        return Location(call.file, line, call.name)
