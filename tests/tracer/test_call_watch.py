"""The code watcher's compiled call callbacks (`tracer._stepcore.CallWatch`, 3.12+) answer
as `CodeWatcher._on_start`, `_on_return` and `_on_unwind` do: inside a recorded request a
watched call opens a step with its arguments stored as `recorder.named` stores them (`self`
left out, a secret-named one hidden), after the watched `before(frame)` and with the
watched `facts(frame)`; it is closed with its result or exception and the line it ended
on; a failure of the bookkeeping is counted, never raised into the app.

The engines' differential test (`test_engines_agree.py`) holds the same against the
Python callbacks on every fixture and corpus app; this one runs the callbacks alone."""

from __future__ import annotations

import sys
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pytest

from tracer.engine import compiled_steps
from tracer.saferepr import REDACTED
from tracer.watch import Watched

pytestmark = pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring, 3.12+")


class Service:
    def handle(self, number: int, *rest: Any, password: str = "", **options: Any) -> int:
        total = number + len(rest)
        return total + len(options)

    def fail(self, number: int) -> int:
        raise LookupError(f"no {number}")


@dataclass
class FakeRecorder:
    redact: bool = True
    calls: list[tuple] = field(default_factory=list)
    leaves: list[tuple] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    def call(self, code, detail, *, role=None, facts=None) -> int:
        self.calls.append((code.co_name, detail, role, facts))
        return len(self.calls)

    def leave(self, step_id, *, result=None, error=None, line=None) -> None:
        self.leaves.append((step_id, result, error, line))

    def failed(self, error: BaseException) -> None:
        self.failures.append(error)


class FakeWatcher:
    lines_record_calls = False


REQUEST: ContextVar[object] = ContextVar("request", default=None)


def _recorded(watched: dict, run, *, recorder: FakeRecorder | None = None,
              watcher: Any = None, in_request: bool = True) -> FakeRecorder:
    """Run `run()` with `watched` (code -> Watched) caught by the compiled callbacks."""
    core = compiled_steps()
    if core is None:
        pytest.skip("the compiled step core is not built")
    recorder = recorder or FakeRecorder()
    by_id = {id(code): what for code, what in watched.items()}
    open_steps: dict[int, list] = {}  # the watcher's `_open`, shared by the three
    tool = next(tool for tool in range(6) if sys.monitoring.get_tool(tool) is None)
    events = sys.monitoring.events
    sys.monitoring.use_tool_id(tool, "call-watch-test")
    try:
        for event, name in ((events.PY_START, "start"), (events.PY_RETURN, "return"),
                            (events.PY_UNWIND, "unwind")):
            sys.monitoring.register_callback(tool, event, core.CallWatch(
                name, watcher or FakeWatcher(), by_id, open_steps, REQUEST, recorder))
        for code in watched:
            sys.monitoring.set_local_events(tool, code, events.PY_START | events.PY_RETURN)
        sys.monitoring.set_events(tool, events.PY_UNWIND)
        token = REQUEST.set("a request") if in_request else None
        try:
            run()
        finally:
            if token is not None:
                REQUEST.reset(token)
    finally:
        sys.monitoring.set_events(tool, 0)
        for code in watched:
            sys.monitoring.set_local_events(tool, code, 0)
        sys.monitoring.free_tool_id(tool)
    assert open_steps == {}, "every step opened was closed"
    return recorder


def test_a_watched_call_is_a_step_with_its_arguments_result_and_last_line() -> None:
    seen_before: list[str] = []
    watched = Watched("handler", before=lambda frame: seen_before.append(frame.f_code.co_name),
                      facts=lambda frame: {"number": frame.f_locals["number"]})
    results: list[int] = []
    code = Service.handle.__code__
    recorder = _recorded({code: watched}, lambda: results.append(
        Service().handle(4, "x", None, password="hunter2", flag=True)))
    assert results == [7]
    assert seen_before == ["handle"]
    assert recorder.calls == [("handle", {
        "number": "4", "rest": "('x', None)", "password": REDACTED, "options": "{'flag': True}",
    }, "handler", {"number": 4})]
    assert recorder.leaves == [(1, 7, None, code.co_firstlineno + 2)]
    assert recorder.failures == []


def test_unredacted_the_secret_named_argument_is_stored_as_it_is() -> None:
    recorder = _recorded({Service.handle.__code__: Watched("handler")},
                         lambda: Service().handle(1, password="hunter2"),
                         recorder=FakeRecorder(redact=False))
    assert recorder.calls[0][1]["password"] == "'hunter2'"


def test_a_call_that_raises_is_closed_with_its_exception() -> None:
    def run() -> None:
        with pytest.raises(LookupError):
            Service().fail(3)

    recorder = _recorded({Service.fail.__code__: Watched("handler")}, run)
    assert recorder.calls == [("fail", {"number": "3"}, "handler", None)]
    [(step, result, error, line)] = recorder.leaves
    assert (step, result, line) == (1, None, Service.fail.__code__.co_firstlineno + 1)
    assert isinstance(error, LookupError) and str(error) == "no 3"


def test_outside_a_request_or_when_line_tracing_opens_calls_nothing_is_recorded() -> None:
    code = Service.handle.__code__
    outside = _recorded({code: Watched("handler")}, lambda: Service().handle(1),
                        in_request=False)
    assert outside.calls == outside.leaves == []

    class LinesOpenCalls:
        lines_record_calls = True

    lines = _recorded({code: Watched("handler")}, lambda: Service().handle(1),
                      watcher=LinesOpenCalls())
    assert lines.calls == lines.leaves == []


def test_a_failing_before_is_counted_and_the_app_goes_on() -> None:
    def broken(frame) -> None:
        raise ValueError("bookkeeping broke")

    results: list[int] = []
    recorder = _recorded({Service.handle.__code__: Watched("handler", before=broken)},
                         lambda: results.append(Service().handle(2)))
    assert results == [2]
    assert [str(error) for error in recorder.failures] == ["bookkeeping broke"]
    assert recorder.calls == []
    assert recorder.leaves == [(None, 2, None, Service.handle.__code__.co_firstlineno + 2)]


def test_an_interrupt_in_the_bookkeeping_reaches_the_app() -> None:
    def interrupted(frame) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _recorded({Service.handle.__code__: Watched("handler", before=interrupted)},
                  lambda: Service().handle(2))


def test_it_is_called_with_its_event_s_arguments_only() -> None:
    core = compiled_steps()
    if core is None:
        pytest.skip("the compiled step core is not built")
    start = core.CallWatch("start", FakeWatcher(), {}, {}, REQUEST, FakeRecorder())
    with pytest.raises(TypeError):
        start(Service.handle.__code__, 0, None)
    with pytest.raises(ValueError):
        core.CallWatch("line", FakeWatcher(), {}, {}, REQUEST, FakeRecorder())
