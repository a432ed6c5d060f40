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
import functools
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from tracer.engine import compiled_core
from tracer.paths import OWN_DIRS
from tracer.recorder import StepRecord, bookkeeping, current_request, current_request_variable
from tracer.values import DELETED, kept
from tracer.watch import HAS_MONITORING, argument_names

if TYPE_CHECKING:
    from tracer.recorder import Recorder
    from tracer.watch import CodeWatcher

#: Instructions after which a local may hold another object (a cell or free variable may
#: be rebound by another frame: reading one counts too).
_REBINDING_OPS = frozenset({
    "STORE_FAST", "DELETE_FAST", "LOAD_FAST_AND_CLEAR", "STORE_FAST_LOAD_FAST",
    "STORE_FAST_STORE_FAST", "STORE_DEREF", "DELETE_DEREF", "LOAD_DEREF", "LOAD_CLOSURE",
})
#: Instructions that only read a plain local: the same object afterwards, maybe changed
#: in place.
_READING_OPS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_LOAD_FAST"})
#: CO_GENERATOR | CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR
_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200
_FINGERPRINT_LIMIT = 64
#: Types whose values can change in place: compared by fingerprint, copied when kept.
_MUTABLE = frozenset({list, dict, set, bytearray})
_MISSING = object()
#: Line -> (names it may rebind, plain locals it only reads). Looked up with a frame's
#: `last_line`, None when it has no line step yet: never a key.
LineNames = dict[int | None, tuple[tuple[str, ...], tuple[str, ...]]]
_NO_NAMES: LineNames = {}
#: (line, callback, code): `callback(frame)` runs once `line` of `code` has run in a frame.
AfterLine = tuple[int, Callable[[FrameType], None], CodeType]

#: True while registration (app import) is being recorded in this context.
registration_window: ContextVar[bool] = ContextVar("flaskscope_registration", default=False)


@dataclass(frozen=True)
class Scope:
    """Which files are traced line by line."""

    roots: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def contains(self, filename: str) -> bool:
        if filename.startswith(OWN_DIRS):
            return False
        if any(fnmatch.fnmatch(filename, pattern) for pattern in self.exclude):
            return False
        if any(fnmatch.fnmatch(filename, pattern) for pattern in self.include):
            return True
        return filename.startswith(self.roots)


class _CodeInfo:
    """What the engine decided about one code object.

    Kept by id: hashing a code object hashes its bytecode and constants, too slow for
    every call. `code` keeps the object, so the id cannot be reused while it is kept.
    """

    __slots__ = ("code", "traced", "transparent", "ignored", "touched", "arguments")

    def __init__(self, code: CodeType, traced: bool, transparent: bool, ignored: bool) -> None:
        self.code = code
        self.traced = traced  # in scope: traced line by line
        self.transparent = transparent  # a wrapper that is looked through, never a step
        self.ignored = ignored  # never a step: transparent or flaskscope's own code
        self.touched: LineNames | None = None  # line -> local names it uses
        self.arguments = argument_names(code)


class _FrameState:
    """What the engine remembers about one traced frame."""

    __slots__ = ("record", "step_id", "owned", "traced", "touched", "seen", "containers",
                 "last_line", "last_step", "pending", "after_line")

    def __init__(self, record: StepRecord, step_id: int | None, owned: bool, info: _CodeInfo
                 ) -> None:
        self.record = record  # the request (or registration) the frame runs in
        self.step_id = step_id
        self.owned = owned  # the engine opened the call step (else a hook did and closes it)
        self.traced = info.traced
        self.touched = info.touched if info.traced and info.touched is not None else _NO_NAMES
        self.seen: dict[str, tuple[Any, Any]] = {}  # name -> (value, fingerprint)
        # Whether a local may hold a list, dict or set: only then can a line that merely
        # reads locals change one (in place). Also set while some local is still unseen.
        self.containers = False
        self.last_line: int | None = None  # None also when its step was dropped (cap)
        self.last_step: int | None = None
        self.pending: BaseException | None = None  # 3.11: the exception being raised
        self.after_line: AfterLine | None = None  # what to note once a given line has run


def _nothing_to_hide(arguments: dict[str, Any]) -> None:
    """The pure engine's `out_of_sight`: Python cannot take a container from the
    collector, so its records stay in sight."""


def _returned(value: Any) -> dict[str, Any]:
    """The raw detail of a frame's return step."""
    return {"result": kept(value)}


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
                 transparent: Iterable[CodeType] = (), *, compiled: bool = True) -> None:
        self.recorder = recorder
        self.watcher = watcher
        self.scope = scope
        self.transparent = set(transparent)
        self._codes: dict[int, _CodeInfo] = {}
        self._after_lines: dict[int, AfterLine] = {}  # id(code) -> (line, callback, code)
        self._frames: dict[int, _FrameState] = {}
        self._tool: int | None = None
        self.unavailable: str | None = None
        self._lock = threading.Lock()
        # The per-line work: compiled when the core is there (`tracer.engine`), else the
        # methods below; each engine keeps its own frame states and fingerprints.
        core = compiled_core() if compiled else None
        self.core = core
        self._compiled_tracer: Any = None  # core.Tracer, made when first tracing (3.11)
        self._fingerprint: Callable[[Any], Any] = _fingerprint
        self._kept: Callable[[Any], Any] = kept
        self._returned: Callable[[Any], dict[str, Any]] = _returned
        self._state: Callable[..., _FrameState] = _FrameState
        self._out_of_sight: Callable[[dict[str, Any]], None] = _nothing_to_hide
        if core is not None:
            self._out_of_sight = core.out_of_sight
            self._fingerprint = core.fingerprint
            self._kept = core.kept
            self._returned = core.returned
            self._state = core.FrameState
            self._line = core.line  # type: ignore[method-assign]
            self._settle = core.settle  # type: ignore[method-assign]

    def _compiled_starts(self, fallback: Callable[..., Any], disable: Any,
                         set_events: Callable[[CodeType, int], Any] | None,
                         call_mask: int | None) -> Any:
        """The compiled core's handler of the common calls (`core.StartEvents`), sharing
        this engine's dicts; any other call goes to `fallback`."""
        assert self.core is not None
        return self.core.StartEvents(
            self._codes, self.watcher.watched_by_code_id, self._frames, self._after_lines,
            fallback, self.recorder, current_request_variable, registration_window,
            bookkeeping, disable, set_events, call_mask, self.recorder.failed)

    def _unavailable(self, reason: str) -> None:
        """Fall back to hook steps only, and say why in the trace."""
        self.unavailable = reason
        self.recorder.meta["lines_unavailable"] = reason

    def after_line(self, code: CodeType, line: int,
                   callback: Callable[[FrameType], None]) -> None:
        """Run `callback(frame)` when `line` of `code` has just run (before the next line's
        step): an adapter notes a decision that line made in its time order, from the
        frame's locals (the first callback given for a code object wins)."""
        self._after_lines.setdefault(id(code), (line, callback, code))

    # -- scope ----------------------------------------------------------------------------

    def _info(self, code: CodeType) -> _CodeInfo:
        info = self._codes.get(id(code))
        if info is None:
            transparent = code in self.transparent
            ignored = transparent or code.co_filename.startswith(OWN_DIRS)
            traced = not ignored and self.scope.contains(code.co_filename)
            info = self._codes[id(code)] = _CodeInfo(code, traced, transparent, ignored)
        return info

    @staticmethod
    def _touched_by_line(code: CodeType) -> LineNames:
        """Line -> the local names its bytecode may rebind, and those it only reads."""
        rebound: dict[int, set[str]] = {}
        read: dict[int, set[str]] = {}
        line = code.co_firstlineno
        for instruction in dis.get_instructions(code):
            if instruction.positions and instruction.positions.lineno:
                line = instruction.positions.lineno
            kind = (rebound if instruction.opname in _REBINDING_OPS
                    else read if instruction.opname in _READING_OPS else None)
            if kind is not None:
                value = instruction.argval
                kind.setdefault(line, set()).update(value if isinstance(value, tuple)
                                                    else (value,))
        return {n: (tuple(sorted(rebound.get(n, ()))),
                    tuple(sorted(read.get(n, set()) - rebound.get(n, set()))))
                for n in rebound.keys() | read.keys()}

    @staticmethod
    def recording() -> bool:
        """Whether this context is inside a request or a recorded registration."""
        return ((current_request() is not None or registration_window.get())
                and not bookkeeping.muted)

    # -- frame events (shared by both engines) --------------------------------------------

    def _enter(self, frame: FrameType, info: _CodeInfo, resumed: bool = False) -> _FrameState:
        """Open (or adopt) the call step of a frame and remember its arguments."""
        values = frame.f_locals
        arguments: dict[str, Any] = {}
        seen: dict[str, tuple[Any, Any]] = {}
        containers = resumed  # a resumed frame's other locals are not seen yet
        for name in info.arguments:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                containers = True
                continue
            if type(value) in _MUTABLE:
                seen[name] = (value, self._fingerprint(value))
                arguments[name] = self._kept(value)
                containers = True
            else:
                seen[name] = (value, None)
                arguments[name] = value
        arguments.pop("self", None)
        code = info.code
        facts = None
        if not resumed:
            self.watcher.before_call(frame)
            facts = self.watcher.call_facts(frame)
        record, step_id, owned = self.recorder.open_frame(
            code, arguments, self.watcher.role_of(code), {"resumed": True} if resumed else facts)
        if owned:  # stored as the step's raw detail: out of the collector's sight meanwhile
            self._out_of_sight(arguments)
        if info.traced and info.touched is None:
            info.touched = self._touched_by_line(code)
        state = self._state(record, step_id, owned, info)
        state.after_line = self._after_lines.get(id(code))
        state.seen = seen
        state.containers = containers
        self._frames[id(frame)] = state
        return state

    def _line(self, frame: FrameType, state: _FrameState, line: int) -> None:
        """A new line starts: settle what the previous one changed, then record this one."""
        names = state.touched.get(state.last_line)
        if names is not None and (names[0] or state.containers):
            self._settle(frame, state)
        state.pending = None
        after = state.after_line
        if after is not None and state.last_line == after[0]:
            after[1](frame)
        step = state.last_step = state.record.add_line(state.step_id, line)
        state.last_line = None if step is None else line

    @staticmethod
    def _settle(frame: FrameType, state: _FrameState) -> None:
        """Attach to the previous line step the locals that line changed.

        Only the names the line's bytecode uses are looked at: by identity, and by
        fingerprint for the containers that can change in place. A plain local the line
        only reads still holds the object last seen, so it is fingerprinted without reading
        the frame's locals, which costs most (on 3.12 `f_locals` copies them all). Callers
        check first that there is a previous line step (`last_line` is set) and that its line
        may rebind a local, or reads one while the frame may hold containers (it runs per
        line).
        """
        rebound, only_read = state.touched[state.last_line]
        assert state.last_step is not None  # set with `last_line`, which callers checked
        changed = None
        seen = state.seen
        for name in only_read:
            old = seen.get(name)
            if old is None:  # not seen yet: read it with the rest
                rebound += (name,)
            elif old[1] is not None:  # a container: changed in place?
                fingerprint = _fingerprint(old[0])
                if fingerprint != old[1]:
                    seen[name] = (old[0], fingerprint)
                    if changed is None:
                        changed = {}
                    changed[name] = kept(old[0])
        if not rebound:
            if changed:
                state.record.add_raw(state.last_step, changed)
            return
        values = frame.f_locals
        for name in rebound:
            value = values.get(name, _MISSING)
            old = seen.get(name)
            if value is _MISSING:
                if old is not None:
                    del seen[name]
                    if changed is None:
                        changed = {}
                    changed[name] = DELETED
                continue
            mutable = type(value) in _MUTABLE
            if old is not None and old[0] is value:
                if not mutable:
                    continue
                fingerprint = _fingerprint(value)
                if fingerprint == old[1]:
                    continue
            elif mutable:
                fingerprint = _fingerprint(value)
                state.containers = True
            else:
                fingerprint = None
            seen[name] = (value, fingerprint)
            if changed is None:
                changed = {}
            changed[name] = kept(value) if mutable else value
        if changed:
            state.record.add_raw(state.last_step, changed)

    def _exit(self, frame: FrameType, state: _FrameState, result: Any = None,
              error: BaseException | None = None) -> None:
        names = state.touched.get(state.last_line)
        if names is not None and (names[0] or state.containers):
            self._settle(frame, state)
        if state.owned:
            self.recorder.close_frame(state.record, state.step_id, frame.f_lineno,
                                      None if error is not None else self._returned(result),
                                      error)

    # -- Python 3.11: sys.settrace --------------------------------------------------------

    @contextmanager
    def tracing(self) -> Iterator[bool]:
        """Trace this thread for the duration (3.11); a no-op on 3.12+ (always on)."""
        if HAS_MONITORING:
            yield self._tool is not None
            return
        previous = sys.gettrace()
        if previous is self._global_trace or (previous is not None
                                              and previous is self._compiled_tracer):
            yield True
            return
        if previous is not None:
            self._unavailable("another trace function (a debugger or coverage) is active")
            yield False
            return
        if self.core is None:
            sys.settrace(self._global_trace)
        else:  # the same functions, called from a C-level trace function
            if self._compiled_tracer is None:
                self._compiled_tracer = self.core.Tracer(
                    self._frames, self._global_trace, self._trace_return, self.recorder.failed,
                    self._compiled_starts(self._global_trace, None, None, None))
            self._compiled_tracer.start()
        try:
            yield True
        finally:
            sys.settrace(None)

    def _global_trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call":
            return None
        code = frame.f_code
        info = self._codes.get(id(code)) or self._info(code)
        if info.ignored or not self.recording():
            return None
        try:
            if info.traced:
                self._enter(frame, info, resumed=self._is_resume(frame))
                return self._local_trace
            if self.watcher.role_of(code) is not None or (
                    self._called_from_scope(frame) and not self._is_resume(frame)):
                self._enter(frame, info)
                frame.f_trace_lines = False
                return self._local_trace
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _called_from_scope(self, frame: FrameType) -> bool:
        """An out-of-scope call made by traced in-scope code (past transparent wrappers):
        one collapsed step. Calls from flaskscope's own code are bookkeeping, not the app;
        its frames are never traced, so they never count as in scope."""
        caller = frame.f_back
        while caller is not None:
            state = self._frames.get(id(caller))
            if state is not None:
                return state.traced
            info = self._codes.get(id(caller.f_code))
            if info is None or not info.transparent:
                return False
            caller = caller.f_back
        return False

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
                self._trace_return(frame, state, arg)
        except Exception as exc:
            self.recorder.failed(exc)
        return self._local_trace

    def _trace_return(self, frame: FrameType, state: _FrameState, value: Any) -> None:
        """A traced frame returns, yields, or ends by the exception it last saw (3.11)."""
        opcode = frame.f_code.co_code[frame.f_lasti]
        if opcode in (_RETURN_VALUE, _YIELD_VALUE) or state.pending is None:
            self._exit(frame, state, result=value)
        else:
            self._exit(frame, state, error=state.pending)

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
        on_start: Any = self._on_start
        if self.core is not None:  # the common calls in C, any other through `_on_start`
            on_start = self._compiled_starts(
                self._on_start, monitoring.DISABLE,
                functools.partial(monitoring.set_local_events, self._tool),
                events.PY_RETURN | events.PY_YIELD | events.PY_RESUME)
        register(self._tool, events.PY_START, on_start)
        register(self._tool, events.PY_RESUME, self._on_resume)
        register(self._tool, events.LINE,
                 self._on_line if self.core is None
                 else self.core.LineEvents(self._frames, self.recorder.failed))
        on_return = (self._on_return if self.core is None
                     else self.core.ReturnEvents(self._frames, self.recorder.failed))
        register(self._tool, events.PY_RETURN, on_return)
        register(self._tool, events.PY_YIELD, on_return)
        register(self._tool, events.PY_UNWIND, self._on_unwind)
        monitoring.set_events(self._tool, events.PY_START | events.PY_UNWIND)
        self.watcher.lines_record_calls = True

    def stop(self) -> None:
        """Release the monitoring tool (3.12+)."""
        if self._tool is None:
            return
        self.watcher.lines_record_calls = False
        monitoring = sys.monitoring
        monitoring.set_events(self._tool, 0)
        for info in self._codes.values():
            monitoring.set_local_events(self._tool, info.code, 0)
        for event in (monitoring.events.PY_START, monitoring.events.PY_RESUME,
                      monitoring.events.LINE, monitoring.events.PY_RETURN,
                      monitoring.events.PY_YIELD, monitoring.events.PY_UNWIND):
            monitoring.register_callback(self._tool, event, None)
        monitoring.free_tool_id(self._tool)
        self._tool = None

    def _local_events_for(self, code: CodeType, lines: bool) -> None:
        events = sys.monitoring.events
        mask = events.PY_RETURN | events.PY_YIELD | events.PY_RESUME
        if lines:
            mask |= events.LINE
        assert self._tool is not None  # only monitoring callbacks, registered by `start`, call this
        sys.monitoring.set_local_events(self._tool, code, mask)

    def _on_start(self, code: CodeType, offset: int) -> Any:
        info = self._codes.get(id(code)) or self._info(code)
        if info.ignored:
            return sys.monitoring.DISABLE
        if not self.recording():
            return None
        try:
            frame = sys._getframe(1)
            if info.traced:
                if info.touched is None:  # first entry: line events from now on
                    self._local_events_for(code, lines=True)
                self._enter(frame, info)
            elif self._called_from_scope(frame) or self.watcher.role_of(code) is not None:
                self._local_events_for(code, lines=False)
                self._enter(frame, info)
        except Exception as exc:
            self.recorder.failed(exc)
        return None

    def _on_resume(self, code: CodeType, offset: int) -> Any:
        if not self.recording():
            return None
        try:
            frame = sys._getframe(1)
            info = self._codes.get(id(code)) or self._info(code)
            # Out of scope, a call is one collapsed step: its first entry, not each resumption.
            if id(frame) not in self._frames and (
                    info.traced or self.watcher.role_of(code) is not None):
                self._enter(frame, info, resumed=True)
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
