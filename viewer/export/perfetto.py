"""A trace as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing open.

Every call step becomes a complete (`X`) event lasting from the call to its `return` or
`exception` step, so the nesting Perfetto draws is the call tree flaskscope recorded.
Notes and line steps become instant (`i`) events on the same track. Each request gets a
track of its own (a thread, in the format's words) named after the request, so requests
served one after another on one OS thread stay apart; steps a request ran on another
thread (an async view bridged through a worker thread) get a second track of that request.
Times are microseconds from the earliest exported step, with nanosecond decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracer.model import Request, Step, Trace
from tracer.paths import short_path

#: One process for the whole recording: Perfetto groups the tracks under it.
PID = 1
_PHASES_END = ("return", "exception")


@dataclass(frozen=True)
class _Phase:
    """The registration or one request: its steps and the name of its tracks."""

    steps: Sequence[Step]
    title: str
    thread: int
    request: Request | None = None


def trace_events(trace: Trace, *, request_id: int | None = None,
                 registration: bool = True) -> dict[str, Any]:
    """The JSON document (a dict) of `trace` in the trace-event format.

    Args:
        trace: The recording.
        request_id: Export only this request (and no registration).
        registration: Include the registration phase when exporting every request.

    Raises:
        KeyError: `request_id` is not in the trace (the message lists the ids there are).
    """
    phases = list(_phases(trace, request_id, registration))
    base = _earliest(phases)
    events: list[dict[str, Any]] = [{
        "name": "process_name", "ph": "M", "pid": PID, "tid": 0,
        "args": {"name": f"flaskscope: {trace.meta.get('app') or 'recording'}"},
    }]
    tracks = _Tracks()
    for number, phase in enumerate(phases):
        events.extend(_phase_events(number, phase, base, tracks))
    events.extend(tracks.metadata())
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            key: str(trace.meta[key])
            for key in ("app", "created", "python", "flask", "werkzeug", "framework")
            if trace.meta.get(key) is not None
        },
    }


def _phases(trace: Trace, request_id: int | None, registration: bool) -> Iterable[_Phase]:
    if request_id is not None:
        request = trace.request(request_id)
        yield _request_phase(request)
        return
    steps = trace.registration.steps
    if registration and steps:
        yield _Phase(steps, "registration", steps[0].thread)
    for request in trace.requests:
        yield _request_phase(request)


def _request_phase(request: Request) -> _Phase:
    status = "-" if request.status is None else request.status
    title = f"#{request.id} {request.method} {request.path} → {status}"
    if request.endpoint:
        title += f" ({request.endpoint})"
    thread = request.steps[0].thread if request.steps else request.thread
    return _Phase(request.steps, title, thread, request)


def _earliest(phases: list[_Phase]) -> int:
    times = [phase.steps[0].time_ns for phase in phases if phase.steps]
    times += [phase.request.start_ns for phase in phases
              if phase.request is not None and phase.request.start_ns]
    return min(times, default=0)


class _Tracks:
    """Hands out track ids (`tid`) per (phase, OS thread) and names them."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, int], int] = {}
        self._names: list[tuple[int, str, int]] = []

    def tid(self, phase_number: int, phase: _Phase, thread: int) -> int:
        key = (phase_number, thread)
        tid = self._ids.get(key)
        if tid is None:
            tid = self._ids[key] = len(self._ids) + 1
            name = phase.title if thread == phase.thread else f"{phase.title} · thread {thread}"
            self._names.append((tid, name, thread))
        return tid

    def metadata(self) -> list[dict[str, Any]]:
        events = []
        for tid, name, _ in self._names:
            events.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid,
                           "args": {"name": name}})
            events.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
                           "args": {"sort_index": tid}})
        return events


def _phase_events(number: int, phase: _Phase, base: int, tracks: _Tracks
                  ) -> list[dict[str, Any]]:
    steps = phase.steps
    ends = _ends(steps)
    finish = _finish_times(steps, ends)
    events: list[dict[str, Any]] = []
    for step in steps:
        tid = tracks.tid(number, phase, step.thread)
        if step.kind == "call":
            start = step.time_ns
            end = max(finish[step.id], start)
            parent = steps[step.parent] if step.parent is not None else None
            if parent is not None and parent.thread == step.thread:
                end = min(end, finish[parent.id])  # keep the nesting strict on this track
                finish[step.id] = end
            events.append({
                "name": step.name,
                "cat": step.role or "call",
                "ph": "X",
                "ts": _us(start - base),
                # From the rounded ends, so a child never ends after its parent once rounded.
                "dur": round(_us(end - base) - _us(start - base), 3),
                "pid": PID,
                "tid": tid,
                "args": _call_args(step, ends.get(step.id)),
            })
        elif step.kind in ("note", "line"):
            events.append({
                "name": _instant_name(step),
                "cat": step.kind if step.role is None else f"{step.kind},{step.role}",
                "ph": "i",
                "s": "t",
                "ts": _us(step.time_ns - base),
                "pid": PID,
                "tid": tid,
                "args": _instant_args(step),
            })
    return events


def _ends(steps: Sequence[Step]) -> dict[int, Step]:
    """Each call's closing `return`/`exception` step (its last child)."""
    return {step.parent: step for step in steps
            if step.kind in _PHASES_END and step.parent is not None}


def _finish_times(steps: Sequence[Step], ends: Mapping[int, Step]) -> dict[int, int]:
    """When each step ends: a call at its closing step, else at its last descendant (a
    call left open by dropped steps or a crash still covers what ran inside it)."""
    finish = {step.id: step.time_ns for step in steps}
    for step in reversed(steps):  # children come after their parents
        end = ends.get(step.id)
        if end is not None:
            finish[step.id] = max(finish[step.id], end.time_ns)
        if step.parent is not None and step.parent in finish:
            finish[step.parent] = max(finish[step.parent], finish[step.id])
    return finish


def _us(nanoseconds: int) -> float:
    return round(nanoseconds / 1000, 3)


def _where(step: Step) -> str | None:
    if not step.file:
        return None
    return f"{short_path(step.file)}:{step.line}" if step.line else short_path(step.file)


def _call_args(step: Step, end: Step | None) -> dict[str, Any]:
    args: dict[str, Any] = {"step": step.id}
    where = _where(step)
    if where:
        args["location"] = where
    if step.role:
        args["role"] = step.role
    if step.detail:
        args["arguments"] = dict(step.detail)
    if step.facts:
        args["facts"] = dict(step.facts)
    if end is not None:
        if end.kind == "return":
            args["returned"] = end.detail.get("result", "")
        else:
            args["raised"] = end.detail.get("exception", "")
            if end.line:
                args["raised_at_line"] = end.line
        if end.facts:
            args["facts_at_end"] = dict(end.facts)
    return args


def _instant_name(step: Step) -> str:
    if step.kind == "line":
        return f"line {step.line}"
    return f"{step.role}: {step.name}" if step.role else step.name


def _instant_args(step: Step) -> dict[str, Any]:
    args: dict[str, Any] = {"step": step.id}
    where = _where(step)
    if where:
        args["location"] = where
    if step.kind == "line":
        args["function"] = step.name
        if step.detail:
            args["changed"] = dict(step.detail)
        return args
    if step.detail:
        args["detail"] = dict(step.detail)
    if step.facts:
        args["facts"] = dict(step.facts)
    return args
