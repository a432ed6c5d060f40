"""The compiled trace functions of 3.11: the Catcher of watched calls (`_stepcore`), the
pause of them and of the line core's tracer while the recorder's bookkeeping runs, and the
line core's reading of fast locals straight from 3.11's frames.

The Catcher hands a call to the watcher only when its code is watched, and sends a frame's
later events to the frame's own trace function as CPython's trampoline does: reading that
function straight from the frame must find it however it got there.
"""

from __future__ import annotations

import sys

import pytest

from tracer.engine import compiled_steps

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


def _catching(on_call, run) -> None:
    """Run `run()` with a Catcher watching `watched` set, handing its calls to `on_call`."""
    catcher = core.Catcher(watched={id(watched.__code__): None}, lines={}, suspended={},
                           on_call=on_call)
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
