"""Line-level tracing: every executed line in scope and the locals it changed.

Scope is a set of directories (Flask, Werkzeug, the app) adjusted by globs. In-scope
functions get a call step (or reuse the step a hook already opened for the same code),
one `line` step per executed line carrying the locals that changed since the previous
line of that frame, and a return or exception step. A Python function out of scope called
from in-scope code is one collapsed call step, never traced line by line.

Cost is kept down by looking only at the locals a line can touch: each code object's
bytecode is read once to map every line to the local names it loads or stores, and only
those are compared (by identity, plus a cheap fingerprint for lists, dicts and sets that
can change in place). Values that cannot change (numbers, strings) are stored raw and
rendered when the trace is built. On Python 3.12+ `sys.monitoring` delivers line events
only for in-scope code objects; on 3.11 a `sys.settrace` function traces only in-scope
frames, switched on per thread while a request or registration is being recorded.
"""

from __future__ import annotations

import dis
import fnmatch
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from .recorder import Deferred, current_request, muted
from .watch import HAS_MONITORING, argument_values

if TYPE_CHECKING:
    from .recorder import Recorder
    from .watch import CodeWatcher

_TRACER_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LOCAL_OPS = frozenset({
    "LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_AND_CLEAR",
    "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST", "LOAD_DEREF",
    "STORE_DEREF", "DELETE_DEREF", "LOAD_CLOSURE",
})
#: CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200
_FINGERPRINT_LIMIT = 64

#: True while registration (app import) is being recorded in this context.
registration_window: ContextVar[bool] = ContextVar("flaskscope_registration", default=False)


@dataclass(frozen=True)
class Scope:
    """Which files are traced line by line."""

    roots: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def contains(self, filename: str) -> bool:
        if filename.startswith(_TRACER_DIR):
            return False
        if any(fnmatch.fnmatch(filename, pattern) for pattern in self.exclude):
            return False
        if any(fnmatch.fnmatch(filename, pattern) for pattern in self.include):
            return True
        return filename.startswith(self.roots)


@dataclass
class _FrameState:
    """What the engine remembers about one traced frame."""

    step_id: int | None
    owned: bool  # the engine opened the call step (else a hook did and closes it)
    touched: dict[int, tuple[str, ...]]
    seen: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # name -> (value, print)
    last_line: int | None = None
    last_step: int | None = None
    pending: BaseException | None = None


def _fingerprint(value: Any) -> Any:
    """Something that changes when a small list, dict or set is changed in place."""
    kind = type(value)
    if kind is list or kind is set or kind is frozenset:
        if len(value) > _FINGERPRINT_LIMIT:
            return len(value)
        return (len(value), tuple(map(id, value)))
    if kind is dict:
        if len(value) > _FINGERPRINT_LIMIT:
            return len(value)
        return (len(value), tuple(map(id, value)), tuple(map(id, value.values())))
    if kind is bytearray:
        return bytes(value[:_FINGERPRINT_LIMIT])
    return None


class LineEngine:
    """Records lines and changed locals of in-scope code while a record is open."""

    def __init__(self, recorder: Recorder, watcher: CodeWatcher, scope: Scope,
                 transparent: Iterable[CodeType] = ()) -> None:
        self.recorder = recorder
        self.watcher = watcher
        self.scope = scope
        self.transparent = set(transparent)
        self._in_scope: dict[CodeType, bool] = {}
        self._touched: dict[CodeType, dict[int, tuple[str, ...]]] = {}
        self._frames: dict[int, _FrameState] = {}
        self._tool: int | None = None
        self.unavailable: str | None = None
        self._lock = threading.Lock()

    def _unavailable(self, reason: str) -> None:
        """Fall back to hook steps only, and say why in the trace."""
        self.unavailable = reason
        self.recorder.meta["lines_unavailable"] = reason

    # -- scope ----------------------------------------------------------------------------

    def in_scope(self, code: CodeType) -> bool:
        known = self._in_scope.get(code)
        if known is None:
            known = code not in self.transparent and self.scope.contains(code.co_filename)
            self._in_scope[code] = known
        return known

    def _touched_by_line(self, code: CodeType) -> dict[int, tuple[str, ...]]:
        table = self._touched.get(code)
        if table is None:
            names: dict[int, set[str]] = {}
            line = code.co_firstlineno
            for instruction in dis.get_instructions(code):
                if instruction.positions and instruction.positions.lineno:
                    line = instruction.positions.lineno
                if instruction.opname in _LOCAL_OPS:
                    value = instruction.argval
                    for name in value if isinstance(value, tuple) else (value,):
                        names.setdefault(line, set()).add(name)
            table = {n: tuple(sorted(v)) for n, v in names.items()}
            self._touched[code] = table
        return table

    @staticmethod
    def recording() -> bool:
        """Whether this context is inside a request or a recorded registration."""
        return (current_request() is not None or registration_window.get()) and not muted()

    # -- frame events (shared by both engines) --------------------------------------------

    def _enter(self, frame: FrameType, code: CodeType, resumed: bool = False) -> _FrameState:
        recorder = self.recorder
        top = recorder.open_step_code()
        values = argument_values(frame)
        if top is not None and top[1] == (code.co_filename, code.co_firstlineno, code.co_qualname):
            step_id, owned = top[0], False  # a hook opened this call: fill in the defaults
            recorder.add_detail(step_id, recorder.deferred(
                {k: v for k, v in values.items() if k not in ("self", "cls")}))
        else:
            watched = self.watcher.watched.get(code)
            step_id = recorder.call(
                code, recorder.deferred({k: v for k, v in values.items() if k != "self"}),
                role=watched.role if watched else None,
                facts={"resumed": True} if resumed else None,
            )
            owned = True
        state = _FrameState(step_id, owned, self._touched_by_line(code))
        for name, value in values.items():
            state.seen[name] = (value, _fingerprint(value))
        self._frames[id(frame)] = state
        return state

    def _line(self, frame: FrameType, state: _FrameState, line: int) -> None:
        """A new line starts: settle what the previous one changed, then record this one."""
        self._settle(frame, state)
        state.last_line = line
        state.pending = None
        state.last_step = self.recorder.line_step(state.step_id, frame.f_code, line)

    def _settle(self, frame: FrameType, state: _FrameState) -> None:
        """Attach to the previous line step the locals that line changed."""
        names = state.touched.get(state.last_line, ()) if state.last_step is not None else ()
        if not names:
            return
        changed: dict[str, Any] = {}
        values = frame.f_locals
        seen = state.seen
        for name in names:
            if name not in values:
                if name in seen:
                    del seen[name]
                    changed[name] = "<deleted>"
                continue
            value = values[name]
            old = seen.get(name)
            fingerprint = _fingerprint(value)
            if old is not None and old[0] is value and fingerprint == old[1]:
                continue
            seen[name] = (value, fingerprint)
            changed[name] = Deferred(name, value)
        if changed:
            self.recorder.add_detail(state.last_step, changed)

    def _exit(self, frame: FrameType, state: _FrameState, result: Any = None,
              error: BaseException | None = None) -> None:
        self._settle(frame, state)
        if state.owned:
            self.recorder.leave(state.step_id, result=result, error=error, line=frame.f_lineno,
                                defer=True)

    # -- Python 3.11: sys.settrace --------------------------------------------------------

    @contextmanager
    def tracing(self) -> Iterator[bool]:
        """Trace this thread for the duration (3.11); a no-op on 3.12+ (always on)."""
        if HAS_MONITORING:
            yield self._tool is not None
            return
        previous = sys.gettrace()
        if previous is self._global_trace:
            yield True
            return
        if previous is not None:
            self._unavailable("another trace function (a debugger or coverage) is active")
            yield False
            return
        sys.settrace(self._global_trace)
        try:
            yield True
        finally:
            sys.settrace(None)

    def _global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call" or not self.recording():
            return None
        code = frame.f_code
        try:
            if self.in_scope(code):
                self._enter(frame, code, resumed=self._is_resume(frame))
                return self._local_trace
            if code in self.transparent or code.co_filename.startswith(_TRACER_DIR):
                return None
            if self._called_from_scope(frame) or code in self.watcher.watched:
                state = self._enter(frame, code)
                state.touched = {}
                frame.f_trace_lines = False
                return self._local_trace
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _called_from_scope(self, frame: FrameType) -> bool:
        """An out-of-scope call made by traced in-scope code: one collapsed step."""
        caller = self._caller(frame)
        return caller is not None and id(caller) in self._frames and self.in_scope(caller.f_code)

    def _caller(self, frame: FrameType) -> FrameType | None:
        """The in-scope frame an out-of-scope call comes from, past transparent wrappers.

        None when flaskscope's own code made the call: that is bookkeeping, not the app.
        """
        back = frame.f_back
        if back is not None and back.f_code.co_filename.startswith(_TRACER_DIR):
            return None
        while back is not None and back.f_code in self.transparent:
            back = back.f_back
        return back

    @staticmethod
    def _is_resume(frame: FrameType) -> bool:
        """A generator or coroutine carrying on after a yield (RESUME with a non-zero arg)."""
        code = frame.f_code
        if not code.co_flags & _GENERATOR_FLAGS or frame.f_lasti < 0:
            return False
        return code.co_code[frame.f_lasti] == _RESUME and code.co_code[frame.f_lasti + 1] != 0

    def _local_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        state = self._frames.get(id(frame))
        if state is None:
            return None
        try:
            if event == "line":
                self._line(frame, state, frame.f_lineno)
            elif event == "exception":
                state.pending = arg[1]
            elif event == "return":
                del self._frames[id(frame)]
                opcode = frame.f_code.co_code[frame.f_lasti]
                if opcode in (_RETURN_VALUE, _YIELD_VALUE) or state.pending is None:
                    self._exit(frame, state, result=arg)
                else:
                    self._exit(frame, state, error=state.pending)
        except Exception as exc:
            self.recorder.failed(exc)
        return self._local_trace

    # -- Python 3.12+: sys.monitoring -----------------------------------------------------

    def start(self) -> None:
        """Claim a monitoring tool and switch function-start events on (3.12+)."""
        if not HAS_MONITORING or self._tool is not None:
            return
        monitoring = sys.monitoring
        for tool in (3, 4, monitoring.OPTIMIZER_ID):
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, "flaskscope-lines")
                self._tool = tool
                break
        else:
            self._unavailable("no free sys.monitoring tool id")
            return
        events = monitoring.events
        register = monitoring.register_callback
        register(self._tool, events.PY_START, self._on_start)
        register(self._tool, events.PY_RESUME, self._on_resume)
        register(self._tool, events.LINE, self._on_line)
        register(self._tool, events.PY_RETURN, self._on_return)
        register(self._tool, events.PY_YIELD, self._on_return)
        register(self._tool, events.PY_UNWIND, self._on_unwind)
        register(self._tool, events.RAISE, self._on_raise)
        monitoring.set_events(self._tool, events.PY_START | events.PY_UNWIND | events.RAISE)

    def stop(self) -> None:
        """Release the monitoring tool (3.12+)."""
        if self._tool is None:
            return
        monitoring = sys.monitoring
        monitoring.set_events(self._tool, 0)
        for code in self._in_scope:
            monitoring.set_local_events(self._tool, code, 0)
        for event in (monitoring.events.PY_START, monitoring.events.PY_RESUME,
                      monitoring.events.LINE, monitoring.events.PY_RETURN,
                      monitoring.events.PY_YIELD, monitoring.events.PY_UNWIND,
                      monitoring.events.RAISE):
            monitoring.register_callback(self._tool, event, None)
        monitoring.free_tool_id(self._tool)
        self._tool = None

    def _local_events_for(self, code: CodeType, lines: bool) -> None:
        events = sys.monitoring.events
        mask = events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
        if lines:
            mask |= events.LINE
        sys.monitoring.set_local_events(self._tool, code, mask)

    def _on_start(self, code: CodeType, offset: int) -> Any:
        if code in self.transparent or code.co_filename.startswith(_TRACER_DIR):
            return sys.monitoring.DISABLE
        in_scope = self.in_scope(code)
        if not self.recording():
            return None
        try:
            frame = sys._getframe(1)
            if in_scope:
                if code not in self._touched:
                    self._local_events_for(code, lines=True)
                self._enter(frame, code)
            else:
                if self._called_from_scope(frame) or code in self.watcher.watched:
                    self._local_events_for(code, lines=False)
                    state = self._enter(frame, code)
                    state.touched = {}
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_resume(self, code: CodeType, offset: int) -> Any:
        if not self.recording():
            return None
        try:
            frame = sys._getframe(1)
            if id(frame) not in self._frames:
                state = self._enter(frame, code, resumed=True)
                if not self.in_scope(code):
                    state.touched = {}
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_line(self, code: CodeType, line: int) -> Any:
        frame = sys._getframe(1)
        state = self._frames.get(id(frame))
        if state is None:
            return None
        try:
            self._line(frame, state, line)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_return(self, code: CodeType, offset: int, value: Any) -> Any:
        frame = sys._getframe(1)
        state = self._frames.pop(id(frame), None)
        if state is None:
            return None
        try:
            self._exit(frame, state, result=value)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_raise(self, code: CodeType, offset: int, error: BaseException) -> Any:
        state = self._frames.get(id(sys._getframe(1)))
        if state is not None:
            state.pending = error
        return None

    def _on_unwind(self, code: CodeType, offset: int, error: BaseException) -> Any:
        frame = sys._getframe(1)
        state = self._frames.pop(id(frame), None)
        if state is None:
            return None
        try:
            self._exit(frame, state, error=error)
        except Exception as exc:
            self.recorder.failed(exc)
        return None


_RETURN_VALUE = dis.opmap["RETURN_VALUE"]
_YIELD_VALUE = dis.opmap["YIELD_VALUE"]
_RESUME = dis.opmap["RESUME"]
