"""Traces for the viewer tests: fixture apps recorded and made deterministic (times,
threads, object addresses) so screens can be pinned, and a hand-built trace with line
steps."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flaskscope_testing import record_fixture

from tracer.model import ChainLink, Registration, Request, Role, Route, SourceFile, Step, Trace

ROOT = Path(__file__).resolve().parents[2]
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_RULE_METHODS = re.compile(r"(<Rule '[^']*' \()([A-Z, ]+)(\))")  # a set: order varies per run


def _sorted_methods(match: re.Match[str]) -> str:
    return match[1] + ", ".join(sorted(match[2].split(", "))) + match[3]


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _RULE_METHODS.sub(_sorted_methods, _ADDRESS.sub("0x0", value))
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_clean(v) for v in value)
    return value


def _steady(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    return tuple(
        dataclasses.replace(
            step, time_ns=1_000 * step.id, thread=1, detail=_clean(step.detail),
            facts=_clean(step.facts),
        )
        for step in steps
    )


def steady(trace: Trace) -> Trace:
    """The trace with run-dependent values fixed: times, threads, `0x...` addresses and
    the order of a Rule's methods in its repr."""
    requests = tuple(
        dataclasses.replace(
            request, steps=_steady(request.steps), start_ns=0,
            duration_ns=1_000_000 * (request.id + 1), thread=1, error=_clean(request.error),
        )
        for request in trace.requests
    )
    registration = dataclasses.replace(
        trace.registration, steps=_steady(trace.registration.steps)
    )
    meta = {**trace.meta, "created": "2026-01-01T00:00:00+00:00"}
    return dataclasses.replace(trace, meta=meta, registration=registration, requests=requests)


def _without_lines(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """The steps without line steps, renumbered (a step's id is its position)."""
    kept = [step for step in steps if step.kind != "line"]
    new_id = {step.id: index for index, step in enumerate(kept)}
    return tuple(dataclasses.replace(step, id=new_id[step.id],
                                     parent=None if step.parent is None else new_id[step.parent])
                 for step in kept)


def same_on_every_python(trace: Trace) -> Trace:
    """A hook-mode trace as 3.11 records it: 3.12+ also records the quotable lines that ran
    inside requests (`tracer.watch.LINES_IN_REQUESTS`); pinned screens must not depend on
    the Python running them."""
    if trace.meta.get("ran_lines") != "all":
        return trace
    requests = tuple(dataclasses.replace(request, steps=_without_lines(tuple(request.steps)))
                     for request in trace.requests)
    return dataclasses.replace(trace, requests=requests,
                               meta={**trace.meta, "ran_lines": "registration"})


def record(name: str, *requests: str) -> Trace:
    """Record fixture app `name` serving "METHOD /path" requests, made steady and the same
    on every Python."""
    recording = record_fixture(name, *requests)
    assert recording.app_error is None, recording.app_error
    return steady(same_on_every_python(recording.trace))


# -- a hand-built trace with line steps ----------------------------------------------------

LINE_FILE = "/srv/app/shop.py"
LINE_SOURCE = {
    1: "def total(items):",
    2: "    subtotal = 0",
    3: "    for item in items:",
    4: "        subtotal += price(item)",
    5: "    return subtotal",
    6: "",
    7: "def price(item):",
    8: "    return item * 2",
}


class _Steps:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, parent: int | None, kind: str, name: str, line: int | None,
            detail: dict[str, str] | None = None, role: str | None = None,
            facts: dict[str, Any] | None = None, file: str | None = LINE_FILE) -> int:
        step_id = len(self.steps)
        self.steps.append(Step(step_id, parent, kind, name, file, line, step_id, 1,  # type: ignore[arg-type]
                               detail or {}, role, facts or {}))
        return step_id


def line_steps() -> tuple[Step, ...]:
    """`total([1, 2])` traced line by line: calls, lines with changed locals, a note.

    ids: 0 call total · 1 line 2 · 2 line 3 (subtotal=0) · 3 line 4 (item=1) · 4 call price
    · 5 line 8 · 6 return price · 7 line 3 (subtotal=2) · 8 line 4 (item=2) · 9 call price
    · 10 line 8 · 11 return price · 12 note · 13 line 5 (subtotal=6) · 14 return total
    """
    b = _Steps()
    total = b.add(None, "call", "total", 1, {"items": "[1, 2]"}, Role.VIEW)
    b.add(total, "line", "total", 2)
    b.add(total, "line", "total", 3, {"subtotal": "0"})
    b.add(total, "line", "total", 4, {"item": "1"})
    price = b.add(total, "call", "price", 7, {"item": "1"})
    b.add(price, "line", "price", 8)
    b.add(price, "return", "price", 8, {"result": "2"})
    b.add(total, "line", "total", 3, {"subtotal": "2"})
    b.add(total, "line", "total", 4, {"item": "2"})
    price = b.add(total, "call", "price", 7, {"item": "2"})
    b.add(price, "line", "price", 8)
    b.add(price, "return", "price", 8, {"result": "4"})
    b.add(total, "note", "discount checked", None, {"discount": "None"}, Role.SIGNAL,
          {"signal": "discount"}, file=None)
    b.add(total, "line", "total", 5, {"subtotal": "6"})
    b.add(total, "return", "total", 5, {"result": "6"}, Role.VIEW)
    return tuple(b.steps)


def line_trace() -> Trace:
    """One request running `total([1, 2])` with line steps, on a route `/total`."""
    steps = line_steps()
    request = Request(0, "GET", "/total", 200, "total", "/total", {}, "ok", steps,
                      duration_ns=1_000_000, thread=1)
    route = Route("/total", "total", ("GET", "HEAD", "OPTIONS"), None,
                  (ChainLink("view", "total", "total", LINE_FILE, 1),), ("HEAD", "OPTIONS"))
    return Trace(
        meta={"python": "3.11", "created": "2026-01-01T00:00:00+00:00", "lines": True},
        routes=(route,),
        registration=Registration(),
        requests=(request,),
        sources={LINE_FILE: SourceFile("0" * 64, LINE_SOURCE)},
    )
