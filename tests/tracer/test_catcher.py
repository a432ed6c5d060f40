"""The compiled trace functions of 3.11: the Catcher of watched calls (`_stepcore`), the
pause of them and of the line core's tracer while the recorder's bookkeeping runs, and the
line core's reading of fast locals straight from 3.11's frames.

The Catcher hands a call to the watcher only when its code is watched, and sends a frame's
later events to the frame's own trace function as CPython's trampoline does: reading that
function straight from the frame must find it however it got there.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar

import pytest

from tracer.engine import compiled_steps
from tracer.saferepr import REDACTED
from tracer.watch import Watched

core = compiled_steps()
pytestmark = pytest.mark.skipif(
    core is None or sys.version_info[:2] != (3, 11),
    reason="the Catcher traces on 3.11 only, when the compiled core is built")


def watched() -> int:
    total = 0
    for number in range(3):
        total += number
    return total


def unwatched(events: list) -> int:
    frame = sys._getframe()

    def local(frame_, event: str, arg: object):
        events.append((frame_.f_code.co_name, event))
        return local

    frame.f_trace = local  # as a debugger sets it on a frame already running
    value = 1
    value += 1
    return value


def test_the_frame_layout_of_this_interpreter_was_confirmed() -> None:
    """Without it every event falls back to an attribute lookup: correct, but slower."""
    assert core.FRAME_TRACE_READ_DIRECTLY == 1


def test_the_line_core_reads_fast_locals_from_their_slots() -> None:
    """Without it every argument and changed local is read through `f_locals`, which
    copies every local of the frame: correct, but slower."""
    from tracer.engine import compiled_core

    line_core = compiled_core()
    assert line_core is not None and line_core.FAST_LOCALS_READ_DIRECTLY == 1


def test_watched_calls_and_frames_given_a_trace_function_get_their_events() -> None:
    events: list[tuple[str, str]] = []

    def local(frame, event: str, arg: object):
        events.append((frame.f_code.co_name, event))
        return local

    def on_call(frame, event: str, arg: object):
        events.append((frame.f_code.co_name, event))
        return local

    def run() -> None:
        assert watched() == 3
        assert unwatched(events) == 2

    _catching(on_call, run)
    assert events[0] == ("watched", "call")
    assert ("watched", "line") in events and ("watched", "return") in events
    # not handed over at its call, seen from the moment it set its own trace function
    assert ("unwatched", "call") not in events
    assert [event for name, event in events if name == "unwatched"] == [
        "line", "line", "line", "return"]


def test_a_code_whose_lines_only_are_wanted_is_handed_over_outside_requests_only() -> None:
    """3.11 records the quotable lines of Flask's functions at registration only: inside a
    request such a call is not even handed to the watcher."""
    request: ContextVar[object] = ContextVar("request", default=None)

    def run() -> None:
        watched()
        token = request.set("a request")
        try:
            watched()
        finally:
            request.reset(token)

    seen: list[str] = []
    _catching(lambda frame, event, arg: seen.append(frame.f_code.co_name), run,
              lines={id(watched.__code__): frozenset({27})}, watched_codes={}, request=request)
    assert seen == ["watched"]


def handler(number: int, password: str = "", *rest: object) -> int:
    return number + len(rest)


class StepsSeen:
    """What a Catcher recording watched calls itself tells the recorder."""

    redact = True

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.failures: list[BaseException] = []

    def call(self, code, detail, *, role=None, facts=None) -> int:
        self.calls.append((code.co_name, detail, role, facts))
        return len(self.calls)

    def failed(self, error: BaseException) -> None:
        self.failures.append(error)


def _recording(what: Watched, run, *, in_request: bool = True) -> tuple[StepsSeen, list]:
    """Run `run()` under a Catcher that records calls of `handler` itself (the compiled
    `_global_trace`); gives what the recorder was told and the frame tracers' events."""
    request: ContextVar[object] = ContextVar("request", default=None)
    recorder, events = StepsSeen(), []

    def frame_tracer(step, code):
        def local(frame, event: str, arg: object):
            events.append((step, code.co_name, event, arg, frame.f_trace_lines))
            return local
        return local

    def on_call(frame, event: str, arg: object) -> None:
        events.append(("handed over", frame.f_code.co_name))

    def inside() -> None:
        token = request.set("a request") if in_request else None
        try:
            run()
        finally:
            if token is not None:
                request.reset(token)

    _catching(on_call, inside, watched_codes={id(handler.__code__): what}, request=request,
              recorder=recorder, frame_tracer=frame_tracer)
    return recorder, events


def test_a_watched_call_in_a_request_is_recorded_by_the_catcher_itself() -> None:
    before: list[int] = []
    what = Watched("handler", before=lambda frame: before.append(frame.f_locals["number"]),
                   facts=lambda frame: {"first": frame.f_code.co_firstlineno})
    recorder, events = _recording(what, lambda: handler(2, "hunter2", "x"))
    assert before == [2]
    assert recorder.calls == [("handler", {"number": "2", "password": REDACTED,
                                           "rest": "('x',)"},
                               "handler", {"first": handler.__code__.co_firstlineno})]
    # the frame's own tracer sees how it ends (its lines are not reported)
    assert events == [(1, "handler", "return", 3, False)]
    assert recorder.failures == []


def test_outside_a_request_the_watcher_s_python_decides() -> None:
    recorder, events = _recording(Watched("handler"), lambda: handler(1), in_request=False)
    assert recorder.calls == [] and events == [("handed over", "handler")]


def test_a_failing_before_is_counted_and_the_frame_left_untraced() -> None:
    def broken(frame) -> None:
        raise ValueError("bookkeeping broke")

    results: list[int] = []
    recorder, events = _recording(Watched("handler", before=broken),
                                  lambda: results.append(handler(5)))
    assert results == [5]
    assert [str(error) for error in recorder.failures] == ["bookkeeping broke"]
    assert recorder.calls == [] and events == []


def test_an_interrupt_in_the_bookkeeping_reaches_the_app_and_stops_tracing() -> None:
    def interrupted(frame) -> None:
        raise KeyboardInterrupt

    tracing_after: list[object] = []

    def run() -> None:
        with pytest.raises(KeyboardInterrupt):
            handler(1)
        tracing_after.append(sys.gettrace())

    _recording(Watched("handler", before=interrupted), run)
    assert tracing_after == [None]


def _catching(on_call, run, *, lines: dict | None = None, watched_codes: dict | None = None,
              request: ContextVar | None = None, **recording: object) -> None:
    """Run `run()` with a Catcher watching `watched` set (or `watched_codes`, and the codes
    of `lines` for their lines), handing its calls to `on_call`; with `recording`
    (recorder, frame_tracer) it records a watched call in a request itself."""
    catcher = core.Catcher(
        watched={id(watched.__code__): None} if watched_codes is None else watched_codes,
        lines=lines or {}, suspended={}, on_call=on_call,
        request_var=request or ContextVar("request", default=None), **recording)
    catcher.start()
    try:
        run()
    finally:
        sys.settrace(None)


def _calls_seen(run) -> list[str]:
    """The watched calls a Catcher hands over while `run()` runs."""
    seen: list[str] = []

    def on_call(frame, event: str, arg: object):
        seen.append(frame.f_code.co_name)

    _catching(on_call, run)
    return seen


def _paused(function) -> None:
    """Call `function` between pause_tracing() and resume_tracing()."""
    core.pause_tracing()
    try:
        function()
    finally:
        core.resume_tracing()


def test_bookkeeping_paused_is_not_traced_and_pauses_nest() -> None:
    def run() -> None:
        watched()  # seen
        core.pause_tracing()
        try:
            watched()  # paused: not seen
            core.pause_tracing()  # nested: the outer pause still holds after it
            core.resume_tracing()
            watched()
        finally:
            core.resume_tracing()
        watched()  # seen again

    assert _calls_seen(run) == ["watched", "watched"]


def test_a_pause_leaves_any_other_trace_function_alone() -> None:
    """A debugger's or coverage's trace function sees everything, paused or not."""
    seen: list[str] = []

    def tracer_function(frame, event: str, arg: object):
        if event == "call":
            seen.append(frame.f_code.co_name)

    sys.settrace(tracer_function)
    try:
        _paused(watched)
    finally:
        sys.settrace(None)
    assert "watched" in seen


def test_a_pause_inside_a_trace_callback_changes_nothing() -> None:
    """The recorder's bookkeeping also runs inside the Catcher's callbacks, where CPython
    has paused tracing itself: resuming there must not switch it back on early."""
    seen: list[str] = []

    def on_call(frame, event: str, arg: object):
        core.pause_tracing()
        core.resume_tracing()
        seen.append(frame.f_code.co_name)

    _catching(on_call, lambda: (watched(), watched()))
    assert seen == ["watched", "watched"]


def test_no_pause_while_a_profiler_runs() -> None:
    """cProfile would see the frames that pause enter and never return."""
    calls: list[str] = []

    def profiler(frame, event: str, arg: object) -> None:
        if event in ("call", "return"):
            calls.append(f"{event} {frame.f_code.co_name}")

    def run() -> None:
        sys.setprofile(profiler)
        try:
            _paused(watched)
        finally:
            sys.setprofile(None)

    assert _calls_seen(run) == ["watched"]
    assert calls.count("call watched") == calls.count("return watched") == 1


def test_the_line_tracer_is_paused_too() -> None:
    """Line mode's bookkeeping runs under the line core's tracer (3.11): paused as well."""
    from tracer.engine import compiled_core

    line_core = compiled_core()
    assert line_core is not None
    seen: list[str] = []

    def on_call(frame, event: str, arg: object) -> None:
        seen.append(frame.f_code.co_name)

    def ignored(*args: object) -> None:
        return None

    line_tracer = line_core.Tracer({}, on_call, ignored, ignored)
    line_tracer.start()
    try:
        _paused(watched)
        watched()
    finally:
        sys.settrace(None)
    assert seen.count("watched") == 1
