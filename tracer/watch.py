"""Catch calls to chosen code objects that no class attribute exposes.

Decorator layers, the function a view class is wrapped in, and view-class methods are
closures and user functions: they cannot be patched without changing what the app sees.
Instead their code objects are registered here, and their calls are caught as they
happen. On Python 3.12+ `sys.monitoring` reports starts and returns of exactly those code
objects (local events), costing nothing elsewhere. On 3.11 a `sys.settrace` function is
switched on only while a view runs, on that thread, and traces only those frames. A
trace function that was already set (a debugger, coverage) is never replaced.

The watcher also records which lines of chosen framework functions ran (`watch_lines`),
as line steps under the call step a hook opened for them: what the narrative quotes must
have run. Only the lines worth quoting are reported again; on 3.12+ every other line of
those functions is disabled at its first event. On 3.11 a line can only be seen by
tracing every call made meanwhile (about 0.15 µs each, and a request makes thousands):
there the lines are recorded during registration only (`LINES_IN_REQUESTS`).
"""

from __future__ import annotations

import dis
import functools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from tracer.engine import compiled_steps
from tracer.recorder import current_request, current_request_variable

if TYPE_CHECKING:
    from tracer.recorder import Recorder

HAS_MONITORING = sys.version_info >= (3, 12)
#: Whether `watch_lines` records inside requests too (cheaply only with `sys.monitoring`).
LINES_IN_REQUESTS = HAS_MONITORING
_YIELD_VALUE = dis.opmap["YIELD_VALUE"]
_RETURN_VALUE = dis.opmap["RETURN_VALUE"]
_TOOL_NAME = "flaskscope"


@dataclass(frozen=True, slots=True)
class Watched:
    """What a watched code object is, in the `Role` vocabulary, what to record just
    before its call step (`before(frame)`: a note about how it was reached) and the facts
    of that step (`facts(frame)`: which of the functions sharing the code it is)."""

    role: str
    before: Callable[[FrameType], None] | None = None
    facts: Callable[[FrameType], Mapping[str, Any] | None] | None = None


def argument_names(code: CodeType) -> tuple[str, ...]:
    """A function's parameter names: positional, keyword-only, then *args and **kwargs."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
    return code.co_varnames[:count]


def argument_values(frame: FrameType) -> dict[str, Any]:
    """The arguments a frame was called with (positional, keyword-only, *args, **kwargs),
    but `self`: a method's step is named after its class, as line tracing records it."""
    local_values = frame.f_locals
    return {name: local_values[name] for name in argument_names(frame.f_code)
            if name in local_values and name != "self"}


class CodeWatcher:
    """Records calls of registered code objects made while a request is recorded."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.watched: dict[CodeType, Watched] = {}
        # The same by id: hashing a code object hashes its bytecode and constants, too slow
        # for every call. The code objects in `watched` keep these ids from being reused.
        self._by_id: dict[int, Watched] = {}
        self._tool: int | None = None
        self._open: dict[int, list[int | None]] = {}  # id(frame) -> open step ids (3.12+)
        self._suspended: dict[int, _FrameTracer] = {}  # paused coroutine frames (3.11)
        # Line tracing on 3.12+ opens a step for every watched call itself (its callbacks
        # run first); the watcher then stands aside rather than open a second one.
        self.lines_record_calls = False
        #: id(code) -> the lines of it worth recording as they run (`watch_lines`).
        self._lines_wanted: dict[int, frozenset[int]] = {}
        self._line_codes: list[CodeType] = []  # keeps the ids above valid
        if HAS_MONITORING:
            self._tool = _claim_tool()
        #: What `catching()` sets on 3.11 when the compiled core is built: a `Catcher`,
        #: which opens a watched call's step inside a request itself and hands
        #: `_global_trace` only the other calls that matter (else it is set itself).
        core = compiled_steps()
        self._catcher: Any = None if core is None or HAS_MONITORING else core.Catcher(
            self._by_id, self._lines_wanted, self._suspended, self._global_trace,
            current_request_variable, recorder=recorder,
            frame_tracer=functools.partial(_FrameTracer, self))
        if core is not None:  # `_Catching` compiled, made without a Python frame either
            self.catching = functools.partial(core.Catching, self)  # type: ignore[method-assign]
            self.catching_lines = functools.partial(  # type: ignore[method-assign]
                core.Catching, self, not HAS_MONITORING, unless_in=current_request_variable)

    # -- registration ---------------------------------------------------------------------

    def watch(self, code: CodeType, role: str,
              before: Callable[[FrameType], None] | None = None,
              facts: Callable[[FrameType], Mapping[str, Any] | None] | None = None) -> None:
        """Catch calls of `code` from now on (the first role given to a code object wins);
        `before(frame)` runs inside the request's record just before each call step,
        `facts(frame)` gives that step's facts."""
        if id(code) in self._by_id:
            return
        self.watched[code] = self._by_id[id(code)] = Watched(role, before, facts)
        self.recorder.remember_code(code)
        if self._tool is not None:  # added to the line events `watch_lines` may have set
            events = sys.monitoring.events
            sys.monitoring.set_local_events(
                self._tool, code, sys.monitoring.get_local_events(self._tool, code)
                | events.PY_START | events.PY_RETURN
            )

    def watch_lines(self, code: CodeType, lines: frozenset[int]) -> None:
        """Record `lines` of `code` as line steps whenever they run inside a call step opened
        for `code` (a hooked framework function); other lines and other calls cost nothing
        more on 3.12+ (disabled at their first event)."""
        if not lines or id(code) in self._lines_wanted:
            return
        self._lines_wanted[id(code)] = lines
        self._line_codes.append(code)
        if self._tool is not None:
            events = sys.monitoring.get_local_events(self._tool, code)
            sys.monitoring.set_local_events(self._tool, code, events | sys.monitoring.events.LINE)

    def watches_lines(self, code: CodeType | None) -> bool:
        """Whether lines of `code` are recorded (3.11 must then trace its calls)."""
        return code is not None and id(code) in self._lines_wanted

    def catching_lines(self) -> _Catching:
        """`catching()` for a call whose lines are watched: on 3.11 it traces the call only
        outside requests (`LINES_IN_REQUESTS`); 3.12+ needs no tracing for lines."""
        return _Catching(self, not HAS_MONITORING and current_request() is None)

    def _lines_now(self) -> bool:
        return LINES_IN_REQUESTS or current_request() is None

    def close(self) -> None:
        """Stop watching everything and give the monitoring tool id back."""
        if self._tool is not None:
            sys.monitoring.set_events(self._tool, 0)
            for code in (*self.watched, *self._line_codes):
                sys.monitoring.set_local_events(self._tool, code, 0)
            for event in (
                sys.monitoring.events.PY_START,
                sys.monitoring.events.PY_RETURN,
                sys.monitoring.events.PY_UNWIND,
                sys.monitoring.events.LINE,
            ):
                sys.monitoring.register_callback(self._tool, event, None)
            sys.monitoring.free_tool_id(self._tool)
            self._tool = None
        self.watched.clear()
        self._by_id.clear()
        self._lines_wanted.clear()
        self._line_codes.clear()

    def start(self) -> None:
        """Register the monitoring callbacks (3.12+); a no-op on 3.11."""
        if self._tool is None:
            return
        events = sys.monitoring.events
        on_start: Any = self._on_start
        on_return: Any = self._on_return
        on_unwind: Any = self._on_unwind
        on_line: Any = self._on_line
        core = self.recorder.steps_core
        if core is not None:  # the four callbacks compiled
            on_start, on_return, on_unwind = (
                core.CallWatch(event, self, self._by_id, self._open, current_request_variable,
                               self.recorder) for event in ("start", "return", "unwind"))
            on_line = core.LineWatch(self._lines_wanted, self.recorder.ran_line,
                                     sys.monitoring.DISABLE, self.recorder.failed)
        sys.monitoring.register_callback(self._tool, events.PY_START, on_start)
        sys.monitoring.register_callback(self._tool, events.PY_RETURN, on_return)
        sys.monitoring.register_callback(self._tool, events.PY_UNWIND, on_unwind)
        sys.monitoring.register_callback(self._tool, events.LINE, on_line)
        sys.monitoring.set_events(self._tool, events.PY_UNWIND)

    @property
    def watched_by_code_id(self) -> Mapping[int, Watched]:
        """id(code) -> what is watched of it: the dict itself, changed in place (the line
        engine's compiled core looks a starting code up in it)."""
        return self._by_id

    def role_of(self, code: CodeType) -> str | None:
        """The role of a watched code object, None for any other."""
        watched = self._by_id.get(id(code))
        return None if watched is None else watched.role

    def before_call(self, frame: FrameType) -> None:
        """Run what a watched code object records before its call step (whoever opens it:
        the watcher, or the line engine)."""
        watched = self._by_id.get(id(frame.f_code))
        if watched is not None and watched.before is not None:
            watched.before(frame)

    def call_facts(self, frame: FrameType) -> Mapping[str, Any] | None:
        """The facts of a watched code object's call step (whoever opens it)."""
        watched = self._by_id.get(id(frame.f_code))
        if watched is None or watched.facts is None:
            return None
        return watched.facts(frame)

    # -- catching on 3.11 -----------------------------------------------------------------

    def catching(self, start: bool = True) -> _Catching:
        """Trace watched frames on this thread for the duration (3.11; no-op on 3.12+).

        `with watcher.catching() as caught:` gives whether watched calls will be caught:
        False when another trace function is set, which is left untouched. With `start`
        False nothing is switched on: it only tells whether an enclosing call already did
        (tracing slows down everything that runs under it on 3.11, so it is started only
        where watched layers lie further in).
        """
        return _Catching(self, start)

    def _global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        resumed = self._suspended.pop(id(frame), None)
        # A coroutine or generator carrying on after a yield; the same frame only if the same
        # code in the same request (one resumed while nothing traced it, then finished, may
        # have left its id to a new frame).
        if resumed is not None and resumed.code is frame.f_code and (
                resumed.record is current_request()):
            return resumed
        watched = self._by_id.get(id(frame.f_code))
        wanted = self._lines_wanted.get(id(frame.f_code))
        if watched is None or current_request() is None:
            return None if wanted is None or not self._lines_now() else self._trace_lines
        try:
            if watched.before is not None:
                watched.before(frame)
            step_id = self.recorder.call(
                frame.f_code, self.recorder.named(argument_values(frame)), role=watched.role,
                facts=watched.facts(frame) if watched.facts is not None else None,
            )
        except Exception as exc:
            self.recorder.failed(exc)
            return None
        frame.f_trace_lines = wanted is not None and LINES_IN_REQUESTS
        return _FrameTracer(self, step_id, frame.f_code)

    def _trace_lines(self, frame: FrameType, event: str, arg: Any) -> Any:
        """Local trace function of a frame whose lines are watched (3.11)."""
        if event == "line":
            self._ran(frame.f_code, frame.f_lineno)
        return self._trace_lines

    def _ran(self, code: CodeType, line: int) -> None:
        if line in self._lines_wanted.get(id(code), ()):
            try:
                self.recorder.ran_line(code, line)
            except Exception as exc:
                self.recorder.failed(exc)

    # -- catching on 3.12+ ----------------------------------------------------------------
    # With the compiled step core, `tracer._stepcore.CallWatch` does these three instead.

    def _on_start(self, code: CodeType, offset: int) -> Any:
        watched = self._by_id.get(id(code))
        if watched is None or self.lines_record_calls or current_request() is None:
            return None
        try:
            frame = sys._getframe(1)
            if watched.before is not None:
                watched.before(frame)
            step_id = self.recorder.call(
                code, self.recorder.named(argument_values(frame)), role=watched.role,
                facts=watched.facts(frame) if watched.facts is not None else None,
            )
            self._open.setdefault(id(frame), []).append(step_id)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_line(self, code: CodeType, line: int) -> Any:
        # With the compiled step core, `tracer._stepcore.LineWatch` does this instead.
        wanted = self._lines_wanted.get(id(code))
        if wanted is None or line not in wanted:
            return sys.monitoring.DISABLE
        try:
            self.recorder.ran_line(code, line)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_return(self, code: CodeType, offset: int, value: Any) -> Any:
        if id(code) not in self._by_id or self.lines_record_calls or current_request() is None:
            return None
        try:
            frame = sys._getframe(1)
            self.recorder.leave(self._pop_frame(frame), result=value, line=frame.f_lineno)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_unwind(self, code: CodeType, offset: int, error: BaseException) -> Any:
        if id(code) not in self._by_id or self.lines_record_calls or current_request() is None:
            return None
        try:
            frame = sys._getframe(1)
            self.recorder.leave(self._pop_frame(frame), error=error, line=frame.f_lineno)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _pop_frame(self, frame: FrameType) -> int | None:
        open_steps = self._open.get(id(frame))
        if not open_steps:
            return None
        step_id = open_steps.pop()
        if not open_steps:
            del self._open[id(frame)]
        return step_id


class _Catching:
    """The context manager `CodeWatcher.catching` returns (a class: it runs on every proxied
    call, where a generator-based one costs too much). The compiled core has it as
    `tracer._stepcore.Catching`, which `catching` then makes instead."""

    __slots__ = ("watcher", "start", "started")

    def __init__(self, watcher: CodeWatcher, start: bool) -> None:
        self.watcher = watcher
        self.start = start
        self.started = False

    def __enter__(self) -> bool:
        if HAS_MONITORING:
            return True
        previous = sys.gettrace()
        catcher = self.watcher._catcher
        # equal, not identical: a bound method (set again by an app restoring what it saved)
        if previous is not None and (previous is catcher
                                     or previous == self.watcher._global_trace):
            return True
        if previous is not None or not self.start:
            return False
        if catcher is None:
            sys.settrace(self.watcher._global_trace)
        else:
            catcher.start()
        self.started = True
        return True

    def __exit__(self, *exc_info: Any) -> None:
        if self.started:
            sys.settrace(None)


class _FrameTracer:
    """Local trace function of one watched frame (3.11): sees how the frame ends.

    The instruction a `return` event stops at tells the ways apart: `RETURN_VALUE` is a
    return, `YIELD_VALUE` a coroutine or generator pausing (it resumes with a new `call`
    event), anything else the frame being left by the exception last seen in it.
    """

    __slots__ = ("watcher", "step_id", "pending", "code", "record")

    def __init__(self, watcher: CodeWatcher, step_id: int | None, code: CodeType) -> None:
        self.watcher = watcher
        self.step_id = step_id
        self.pending: BaseException | None = None
        self.code = code
        self.record = current_request()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.watcher._ran(frame.f_code, frame.f_lineno)
        elif event == "exception":
            self.pending = arg[1]
        elif event == "return":
            opcode = frame.f_code.co_code[frame.f_lasti]
            if opcode == _YIELD_VALUE:
                self.watcher._suspended[id(frame)] = self
                return self
            recorder = self.watcher.recorder
            try:
                if opcode == _RETURN_VALUE or self.pending is None:
                    recorder.leave(self.step_id, result=arg, line=frame.f_lineno)
                else:
                    recorder.leave(self.step_id, error=self.pending, line=frame.f_lineno)
            except Exception as exc:
                recorder.failed(exc)
        return self


def _claim_tool() -> int | None:
    """A free `sys.monitoring` tool id, preferring the profiler's."""
    for tool in (sys.monitoring.PROFILER_ID, 3, 4):
        if sys.monitoring.get_tool(tool) is None:
            sys.monitoring.use_tool_id(tool, _TOOL_NAME)
            return tool
    return None
