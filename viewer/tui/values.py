"""The values the Locals pane shows at a step, and which of them changed there.

A call step carries the function's arguments, each line step the locals that changed
since the previous line of the same frame, a return step the result and a note step
its own detail and facts. The locals of a frame at a line step are therefore its
arguments overlaid with every earlier line step of that frame; to keep this cheap in
frames with many thousands of lines, snapshots are kept every `_CHECKPOINT` lines.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from tracer.steptable import KIND_CODES
from viewer.tui.navigation import StepIndex

_CHECKPOINT = 64


@dataclass(frozen=True)
class Value:
    """One name and its safe repr; `changed` when this step bound or changed it."""

    name: str
    value: str
    changed: bool = False


@dataclass(frozen=True)
class StepValues:
    """What the Locals pane shows: a heading, the values and the step's facts."""

    heading: str
    values: tuple[Value, ...] = ()
    facts: tuple[Value, ...] = field(default_factory=tuple)


class FrameValues:
    """Locals at any step of a phase, computed lazily per frame."""

    def __init__(self, index: StepIndex) -> None:
        self.index = index
        self._lines: dict[int, list[int]] = {}
        self._snapshots: dict[int, dict[int, dict[str, str]]] = {}

    def at(self, step_id: int) -> StepValues:
        """The values to show when `step_id` is the current step."""
        step = self.index.steps[step_id]
        facts = tuple(Value(str(k), _plain(v)) for k, v in step.facts.items())
        if step.kind == "call":
            values = tuple(Value(k, v, True) for k, v in step.detail.items())
            heading = f"arguments of {step.name}" if values else f"{step.name}: no arguments"
            return StepValues(heading, values, facts)
        if step.kind == "note":
            values = tuple(Value(k, v, True) for k, v in step.detail.items())
            return StepValues(f"note: {step.name}", values, facts)
        frame = step.parent
        if frame is None or self.index.kinds[frame] != KIND_CODES["call"]:
            values = tuple(Value(k, v, True) for k, v in step.detail.items())
            return StepValues(step.name, values, facts)
        frame_name = self.index.steps[frame].name
        if step.kind == "line":
            before = self._locals_before(frame, step_id)
            changed = step.detail
            merged = {**before, **changed}
            values = tuple(Value(k, v, k in changed) for k, v in merged.items())
            return StepValues(f"locals of {frame_name} at line {step.line}", values, facts)
        if step.kind == "return":
            items = [Value("return value", step.detail.get("result", "?"), True)]
            heading = f"{frame_name} returned"
        else:
            items = [Value("raised", step.detail.get("exception", "?"), True)]
            heading = f"{frame_name} raised"
        items += [Value(k, v, True) for k, v in step.detail.items()
                  if k not in ("result", "exception")]
        before = self._locals_before(frame, step_id)  # what the frame held, under the result
        items += [Value(k, v) for k, v in before.items()]
        return StepValues(heading, tuple(items), facts)

    def _locals_before(self, frame: int, step_id: int) -> dict[str, str]:
        """The frame's arguments overlaid with its line steps before `step_id`."""
        lines = self._line_children(frame)
        count = bisect_right(lines, step_id - 1)  # line steps strictly before step_id
        snapshots = self._snapshots.setdefault(frame, {0: dict(self.index.steps[frame].detail)})
        base = (count // _CHECKPOINT) * _CHECKPOINT
        while base not in snapshots:
            base -= _CHECKPOINT
        values = dict(snapshots[base])
        steps = self.index.steps
        for position in range(base, count):
            values.update(steps[lines[position]].detail)
            if (position + 1) % _CHECKPOINT == 0 and position + 1 not in snapshots:
                snapshots[position + 1] = dict(values)
        return values

    def _line_children(self, frame: int) -> list[int]:
        found = self._lines.get(frame)
        if found is None:
            kinds = self.index.kinds
            line = KIND_CODES["line"]
            found = [c for c in self.index.children(frame) if kinds[c] == line]
            self._lines[frame] = found
        return found


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
