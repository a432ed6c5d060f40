"""The recorder's guard and the watcher's catching window, compiled (`tracer/_stepcore.c`,
`Guard` and `Catching`) and in Python (`recorder._Guard`, `watch._Catching`): the same
answers, the same effects on the bookkeeping depth and on the thread's trace function."""

from __future__ import annotations

import sys

import pytest

from tracer.engine import compiled_steps
from tracer.recorder import Recorder, _Depth, _Guard, bookkeeping
from tracer.watch import HAS_MONITORING, CodeWatcher, _Catching

core = compiled_steps()
pytestmark = pytest.mark.skipif(core is None, reason="the compiled core is not built")


def _guards(recorder: Recorder) -> list:
    return [_Guard(recorder), core.Guard(bookkeeping, recorder.failed)]


@pytest.mark.parametrize("which", [0, 1], ids=["python", "compiled"])
def test_the_guard_mutes_bookkeeping_and_counts_what_it_swallows(which: int) -> None:
    recorder = Recorder()
    guard = _guards(recorder)[which]
    before = bookkeeping.muted
    with guard:
        assert bookkeeping.muted == before + 1
        with guard:
            assert bookkeeping.muted == before + 2
        raise ValueError("a bug in a hook")
    assert bookkeeping.muted == before
    assert recorder.errors == 1 and "a bug in a hook" in recorder.error_samples[0]
    with pytest.raises(KeyboardInterrupt), guard:  # not an Exception: it goes on up
        raise KeyboardInterrupt
    assert bookkeeping.muted == before and recorder.errors == 1


def _catchings(watcher: CodeWatcher, start: bool) -> list:
    return [_Catching(watcher, start), core.Catching(watcher, start=start)]


@pytest.mark.parametrize("start", [True, False])
@pytest.mark.parametrize("which", [0, 1], ids=["python", "compiled"])
def test_the_catching_window_says_and_sets_what_the_python_one_does(which: int,
                                                                    start: bool) -> None:
    watcher = CodeWatcher(Recorder())
    try:
        assert sys.gettrace() is None
        with _catchings(watcher, start)[which] as caught:
            inside = sys.gettrace()
        if HAS_MONITORING:
            assert caught is True and inside is None
        else:
            assert caught is start
            assert (inside is not None) is start
            if start:
                assert inside is watcher._catcher
        assert sys.gettrace() is None

        def other(frame, event, arg):
            return None

        sys.settrace(other)  # another tool's trace function is left as it is
        try:
            with _catchings(watcher, start)[which] as caught:
                assert sys.gettrace() is other
            assert caught is HAS_MONITORING
            assert sys.gettrace() is other
        finally:
            sys.settrace(None)
    finally:
        watcher.close()


def test_the_watcher_makes_the_compiled_window() -> None:
    watcher = CodeWatcher(Recorder())
    try:
        assert type(watcher.catching()) is core.Catching
        assert type(watcher.catching(start=False)) is core.Catching
        assert type(Recorder().guard()) is core.Guard
    finally:
        watcher.close()


@pytest.mark.parametrize("depth", [_Depth, lambda: core.Depth()], ids=["python", "compiled"])
def test_the_bookkeeping_depth_is_counted_per_thread(depth) -> None:
    """`bookkeeping.muted` as `recorder._Depth` (a thread-local) and the core's `Depth`
    keep it: 0 in a thread that never entered bookkeeping, whatever another thread did."""
    import threading

    counter = depth()
    assert counter.muted == 0
    counter.muted += 2
    seen = []
    thread = threading.Thread(target=lambda: seen.append(counter.muted))
    thread.start()
    thread.join()
    assert seen == [0] and counter.muted == 2
    counter.muted -= 2
    assert counter.muted == 0


def test_the_recorder_counts_its_depth_in_the_core() -> None:
    from tracer.recorder import _depth

    assert type(_depth()) is core.Depth
    assert type(bookkeeping) is core.Depth  # this process imported the recorder with it


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "compiled"])
def test_the_lines_window_starts_only_outside_requests(compiled: bool) -> None:
    """`catching_lines` traces a call whose lines are watched on 3.11 outside requests
    only (inside one the lines are caught by the request's own window, if any)."""
    from tracer.recorder import StepRecord, current_request_variable

    watcher = CodeWatcher(Recorder())
    window = watcher.catching_lines if compiled else (
        lambda: CodeWatcher.catching_lines(watcher))
    try:
        with window() as caught:
            assert (sys.gettrace() is not None) is (not HAS_MONITORING)
        assert caught is True and sys.gettrace() is None
        token = current_request_variable.set(StepRecord(10))
        try:
            with window() as caught:
                assert sys.gettrace() is None
            assert caught is HAS_MONITORING
        finally:
            current_request_variable.reset(token)
    finally:
        watcher.close()
