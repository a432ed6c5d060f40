"""Collects steps while an app registers routes and serves requests.

The recorder is framework-neutral: adapters (``tracer/frameworks``) call `call`,
`leave` and `note`, and it files each step under the record that is current in this
context — the request being served, or registration when no request is. Context
variables keep concurrent requests (threads, asyncio tasks) apart. The hot path stores
tuples; frozen model objects are built only when a `Trace` is asked for.
"""

from __future__ import annotations

import collections
import dataclasses
import gc
import hashlib
import itertools
import linecache
import platform
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import CodeType
from typing import Any, Protocol

from tracer.engine import INTERFACE as LINES_INTERFACE
from tracer.engine import built_core, compiled_steps, tracing_pauses
from tracer.model import Registration, Request, Role, Route, SourceFile, Step, Trace
from tracer.plain import PlainValues
from tracer.saferepr import (
    REDACTED,
    is_secret_name,
    safe_repr,
    safe_value,
    scrubbing,
    stop_scrubbing,
)
from tracer.secret_values import Secrets, config_secrets, is_secret_config_key
from tracer.steptable import KIND_CODES, StepTable
from tracer.values import DELETED, rendered_detail

DEFAULT_MAX_STEPS = 100_000
_MAX_ERROR_SAMPLES = 5

RouteProvider = Callable[[Any], Iterable[Route]]
#: What `begin_request` returns and `end_request` takes back.
RequestHandle = tuple["StepRecord", Token, Token, Token]


class StepRecord:
    """The steps of one request, or of registration, while they are being recorded.

    Steps are rows keyed by id. Ids come from a counter, so adding a step takes no lock
    (an uncontended lock alone costs about a third of adding a step): `next()` on the
    counter and a dict assignment are each atomic, and a request whose code runs on
    several threads still gets unique ids. `lock` guards the rare rewrites of facts and
    the count of steps dropped past the cap.

    A row holds only numbers and strings: (id, parent, kind, name, file, line, time,
    thread, role). A line step, the most frequent by far, is the short row (parent, line,
    time): its name, file and thread are its parent call's, filled in by `rows()`. The
    compiled line core keeps the line steps and returns of the frames it traces out of
    `steps`, in `logged` (a `StepLog`, a few machine integers a step): `size()` counts
    both, `rows()` reads both.
    Detail and facts, when a step has them, are kept by id beside it. A
    tuple holding a dict stays tracked by the garbage collector, and every collection
    walks it again; rows of plain values are dropped from its lists at their first one
    (registering 2,000 routes keeps 22,000 rows).

    Detail comes two ways: rendered strings (`details`, from hooks) and values kept raw
    (`raw`, from line tracing: see `tracer.values`), rendered when the trace is built.
    """

    __slots__ = ("steps", "logged", "details", "raw", "facts", "ids", "dropped", "max_steps",
                 "info", "lock", "start_ns", "thread", "secrets", "last_ran", "revision")

    def __init__(self, max_steps: int) -> None:
        self.steps: dict[int, tuple] = {}
        self.logged: LoggedSteps = _new_step_log()
        self.details: dict[int, Mapping[str, str]] = {}
        self.raw: dict[int, dict[str, Any]] = {}
        self.facts: dict[int, Mapping[str, Any]] = {}
        self.ids = itertools.count()
        self.dropped = 0
        self.max_steps = max_steps
        self.info: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.start_ns = time.perf_counter_ns()
        self.thread = threading.get_ident()
        #: Secret values this request carries (`tracer.secret_values`), hidden everywhere.
        self.secrets = Secrets()
        #: (parent, line, number of steps) of the last line `Recorder.ran_line` added.
        self.last_ran: tuple[int, int, int] | None = None
        #: Counts changes to steps already stored (facts or raw values added to them), which
        #: a frozen copy of the record (`Recorder.trace`) would not show.
        self.revision = 0

    def track_kept(self) -> None:
        """Give the collector back the containers of this record's raw values, which the
        compiled line core keeps out of its sight while recording (`tracer/_linecore.c`,
        `out_of_sight`): called when the record leaves the recorder or the recording ends,
        so a cycle through them (an app value leading back to the recorder) is collected."""
        if _track_kept is not None:
            _track_kept(self.raw)

    def add_line(self, parent: int | None, line: int) -> int | None:
        """`add` for a line step of the frame whose call step is `parent` (the hot path of
        line tracing): a short row, with no detail, role or facts yet. `parent` is None when
        the call step was dropped past the cap, and then so is the line step."""
        step_id = next(self.ids)
        if step_id >= self.max_steps:
            self.drop()
            return None
        self.steps[step_id] = (parent, line, _now())
        return step_id

    def drop(self) -> None:
        """Count one step past the cap (under the lock: exact counts under threads)."""
        with self.lock:
            self.dropped += 1

    def add(self, parent: int | None, kind: str, name: str, file: str | None,
            line: int | None, detail: Mapping[str, str] | None, role: str | None,
            facts: Mapping[str, Any] | None, raw: dict[str, Any] | None = None
            ) -> int | None:
        """Store one step; its id, or None past the cap (then it is only counted)."""
        step_id = next(self.ids)
        if step_id >= self.max_steps:
            self.drop()
            return None
        if detail:
            self.details[step_id] = detail
        if raw:
            self.raw[step_id] = raw
        if facts:
            self.facts[step_id] = _collectable(facts)
        # The row last: `rows()` reading on another thread sees a step whole or not at all.
        self.steps[step_id] = (step_id, parent, kind, name, file, line, _now(), _thread(),
                               _PLAIN_ROLES.get(role, role))
        return step_id

    def add_raw(self, step_id: int, values: dict[str, Any]) -> None:
        """Add named values kept raw to a step's detail (only the thread running the step's
        frame adds to it, so no lock)."""
        known = self.raw.get(step_id)
        self.raw[step_id] = values if not known else {**known, **values}
        self.revision += 1

    def add_facts(self, step_id: int, facts: Mapping[str, Any]) -> None:
        """Add facts to a step (under the lock: hooks on other threads may add too)."""
        with self.lock:
            self.facts[step_id] = _collectable({**self.facts.get(step_id, {}), **facts})
            self.revision += 1

    def size(self) -> int:
        """How many steps are stored: rows, and the steps in the step log."""
        return len(self.steps) + len(self.logged)

    def calls_since(self, start: int) -> set[tuple[str | None, int | None]]:
        """(file, first line) of every call step from id `start` on: which functions ran
        inside a step, without building its rows."""
        steps, logged = self.steps, self.logged
        ran = set()
        for step_id in range(start, self.size()):
            row = steps.get(step_id)
            if row is None:
                if step_id in logged:
                    continue
                break
            if row[2] == "call":
                ran.add((row[4], row[5]))
        return ran

    def rows(self, start: int = 0) -> list[tuple]:
        """The rows from id `start` on, in id order, up to the first id issued but not yet
        stored (a step another thread is adding right now): (id, parent, kind, name, file,
        line, time, thread, detail, role, facts, raw detail)."""
        steps, details, facts, raw = self.steps, self.details, self.facts, self.raw
        logged = self.logged.since(start, steps) if self.logged else {}
        core = compiled_steps()
        if core is not None:  # the same rows, built in C
            return core.record_rows(  # type: ignore[no-any-return]
                steps, logged, details, facts, raw, start, self.size())
        rows = []
        for step_id in range(start, self.size()):
            row = steps.get(step_id) or logged.get(step_id)
            if row is None:
                break
            if len(row) == 3:  # a line step: (parent, line, time)
                parent, line, time_ns = row
                call = steps[parent]
                rows.append((step_id, parent, "line", call[3], call[4], line, time_ns, call[7],
                             None, None, None, raw.get(step_id)))
                continue
            rows.append((*row[:8], details.get(step_id), row[8], facts.get(step_id),
                         raw.get(step_id)))
        return rows


def _collectable(facts: Mapping[str, Any]) -> Mapping[str, Any]:
    """Facts with their lists as tuples, for as long as the trace is in memory.

    The collector stops tracking a tuple of strings, and then the dict holding it, at the
    first collection they survive; a list it tracks, and walks again at every collection,
    forever. Registering 2,000 routes keeps 14,000 such lists (`methods`, `arguments`).
    `_freeze` turns them back into lists, as a trace file has them.
    """
    for value in facts.values():
        if type(value) is list:
            return {name: tuple(value) if type(value) is list else value
                    for name, value in facts.items()}
    return facts


#: Roles as plain strings: an enum member is an object the garbage collector tracks, and a
#: row holding one would be tracked with it.
_PLAIN_ROLES: dict[Any, str] = {role: role.value for role in Role}
_now = time.perf_counter_ns
_thread = threading.get_ident
#: `tracer._linecore.track_kept` wherever the line core was built, even when switched off:
#: a record it kept values for must get them back.
_track_kept: Callable[[dict], None] | None = getattr(built_core("_linecore"), "track_kept",
                                                      None)


class LoggedSteps(Protocol):
    """What a record's step log answers (`tracer._linecore.StepLog`, or `_NoStepLog`)."""

    def __len__(self) -> int: ...
    def __contains__(self, step_id: object) -> bool: ...
    def since(self, start: int, steps: dict[int, tuple]) -> dict[int, tuple]: ...


class _NoStepLog:
    """The step log of a record where the compiled line core is not built (or is out of
    date): always empty, the pure engine's steps are all rows in `steps`."""

    __slots__ = ()

    def __len__(self) -> int:
        return 0

    def __contains__(self, step_id: object) -> bool:
        return False

    def since(self, start: int, steps: dict[int, tuple]) -> dict[int, tuple]:
        return {}


_NO_STEP_LOG = _NoStepLog()
#: `tracer._linecore.StepLog` where a current line core was built, switched off or not:
#: a record made while the pure engine records keeps its log empty.
_STEP_LOG: Callable[[], LoggedSteps] | None = getattr(
    built_core("_linecore", LINES_INTERFACE), "StepLog", None)


def _new_step_log() -> LoggedSteps:
    return _NO_STEP_LOG if _STEP_LOG is None else _STEP_LOG()


_record: ContextVar[StepRecord | None] = ContextVar("flaskscope_record", default=None)
_stack: ContextVar[tuple[int, ...]] = ContextVar("flaskscope_stack", default=())


class _Depth(threading.local):
    """How deep the running thread is in recorder bookkeeping (0: the app's own code).

    Per thread, not per context: bookkeeping never awaits, so no other task can run in
    the middle of it, and a thread-local costs no allocation where setting a context
    variable allocates (the guard runs several times at every step).
    """

    muted = 0


def _depth() -> Any:
    """`_Depth`, or the compiled core's `Depth` (the same count, without a
    `threading.local`'s attribute lookups) when it is built and used."""
    core = compiled_steps()
    return _Depth() if core is None else core.Depth()


bookkeeping = _depth()


def muted() -> bool:
    """Whether the code running now is flaskscope's own bookkeeping, not the app's."""
    return bookkeeping.muted > 0


def _collection_started(phase: str, info: Mapping[str, Any]) -> None:
    if phase == "start":
        bookkeeping.muted += 1


def _collection_stopped(phase: str, info: Mapping[str, Any]) -> None:
    if phase == "stop" and bookkeeping.muted > 0:
        bookkeeping.muted -= 1


def mute_collections(on: bool = True) -> None:
    """Treat whatever runs inside a garbage collection as bookkeeping: never recorded.

    Finalizers, weakref callbacks and `gc.callbacks` run at whatever allocation set off
    the collection, which may be inside the app's own `ContextVar.set`. Recording them
    would set flaskscope's context variables in the middle of that one, and CPython's
    context then keeps a pointer to a freed value: the interpreter crashes. The
    collector's callbacks bracket every collection, first and last in `gc.callbacks`;
    `on=False` removes them.
    """
    with _callbacks_lock:  # requests on several threads may put the bracket back at once
        for callback in (_collection_started, _collection_stopped):
            while callback in gc.callbacks:
                gc.callbacks.remove(callback)
        if on:
            gc.callbacks.insert(0, _collection_started)
            gc.callbacks.append(_collection_stopped)


_callbacks_lock = threading.Lock()


def _keep_collections_muted() -> None:
    """Put the bracket back around callbacks the app has added (or removed) since; called
    while recording is installed, cheap when nothing changed."""
    callbacks = gc.callbacks
    if callbacks and callbacks[0] is _collection_started and callbacks[-1] is _collection_stopped:
        return
    mute_collections()


class _Guard:
    """Marks recorder bookkeeping (so line tracing skips it) and swallows its errors.

    One per recorder, without state of its own (see `_Depth`). The compiled core has it
    as `tracer._stepcore.Guard`, which a recorder using the core holds instead.
    """

    __slots__ = ("recorder", "pause", "resume")

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.pause = recorder.pause_tracing
        self.resume = recorder.resume_tracing

    def __enter__(self) -> None:
        bookkeeping.muted += 1
        self.pause()

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> bool:
        self.resume()
        bookkeeping.muted -= 1
        if isinstance(error, Exception):
            self.recorder.failed(error)
            return True
        return False


def _close(step_id: int) -> None:
    """Take call `step_id` (and anything left open inside it) off this context's stack."""
    stack = _stack.get()
    if stack and stack[-1] == step_id:
        _stack.set(stack[:-1])
    elif step_id in stack:
        _stack.set(stack[: stack.index(step_id)])


#: `current_request()`: the request record of this context, if a request is being
#: recorded here (the variable's own `get`, called at every traced call: no Python frame).
current_request: Callable[[], StepRecord | None] = _record.get
#: The variable itself, for the line engine's compiled core.
current_request_variable: ContextVar[StepRecord | None] = _record


class Recorder:
    """Process-wide collector of registration and request steps.

    Args:
        redact: hide secrets in every stored value (the default; opt out for local debugging).
        max_steps: per-record cap; further steps are counted as dropped, never stored.
    """

    def __init__(self, *, redact: bool = True, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.redact = redact
        self.max_steps = max_steps
        self.registration = StepRecord(max_steps)
        self.requests: list[StepRecord] = []
        self.errors = 0
        self.error_samples: list[str] = []
        self.meta: dict[str, Any] = {}
        self._lock = threading.Lock()
        #: Ids of filed requests, in filing order: unique though requests are let go.
        self._request_ids = itertools.count()
        #: The recording ended (`track_kept`): a record filed now keeps nothing out of sight.
        self._ended = False
        #: Around bookkeeping: 3.11's tracing mode off while it runs (`tracing_pauses`).
        self.pause_tracing, self.resume_tracing = tracing_pauses()
        self._guard = _Guard(self)
        # Code objects to embed the source of, by id: hashing a code object hashes its
        # bytecode and constants, too slow for every step. The values keep the ids valid.
        self._codes: dict[int, CodeType] = {}
        self._subjects: list[tuple[weakref.ref, RouteProvider]] = []
        #: Secret values of the apps (config), hidden in registration and every request.
        self.app_secrets = Secrets()
        #: Requests to file at the next safe moment (`file_dropped`), and the ids of records
        #: filed from another context, still current in their own (`settle_late`).
        self._late: collections.deque[RequestHandle] = collections.deque()
        self._filed_elsewhere: set[int] = set()
        #: What `trace()` built last and may build the same again: the frozen registration
        #: and the sources read. A dict, so that shallow copies (`Spool._snapshot`) share it.
        self._built: dict[str, Any] = {"sources": SourceCache()}
        #: The compiled step core when it records (`tracer/_stepcore.c`), else None: hooks
        #: then stand in for functions with its `Hook` (`AdapterHooks.traced`).
        self.steps_core: Any = None
        self._use_compiled_steps()

    def _use_compiled_steps(self) -> None:
        """Let the compiled core (`tracer/_stepcore.c`) do `call`, `leave` and `ran_line`,
        the bookkeeping of every hooked call, when it is built and allowed: the same rows
        in the same records, several times faster than the methods below."""
        core = compiled_steps()
        if core is None:
            return
        steps = core.Steps(self, _record, _stack, _PLAIN_ROLES, _collectable, _raising_line,
                           bookkeeping)
        self.steps_core = core
        self._guard = core.Guard(bookkeeping, self.failed)
        self.call = steps.call  # type: ignore[method-assign]
        self.leave = steps.leave  # type: ignore[method-assign]
        self.ran_line = steps.ran_line  # type: ignore[method-assign]

    def guard(self) -> AbstractContextManager[None]:
        """`with recorder.guard():` around bookkeeping that runs inside the traced app.

        Errors inside are counted in the trace and never reach the app; line tracing
        ignores what runs inside.
        """
        return self._guard

    # -- values ---------------------------------------------------------------------------

    def repr(self, value: Any) -> str:
        """The stored form of a value: bounded, never failing, redacted unless opted out."""
        return safe_repr(value, redact=self.redact)

    def named(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Stored forms of named values (arguments, locals); secret names hide the value."""
        if self.steps_core is not None:  # the same, without a Python call per value
            return self.steps_core.named(values, self.redact)  # type: ignore[no-any-return]
        return {name: safe_value(name, value, redact=self.redact) for name, value in values.items()}

    def config_values(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Stored forms of config values: hidden when the key names a secret, not when it
        names a setting about one (`SESSION_COOKIE_NAME` is "session"); secrets known by
        value, a database URL's password among them, are hidden when the trace is built."""
        return {name: REDACTED if self.redact and value is not None
                and is_secret_config_key(name) else safe_repr(value, redact=self.redact)
                for name, value in values.items()}

    def view_args(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Stored forms of the arguments a URL matched: a secret-named one (`<token>`) is
        also a secret of the request, hidden in its path and wherever else it appears."""
        self.add_secrets(str(value) for name, value in values.items()
                         if is_secret_name(name) and value is not None)
        return self.named(values)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Learn secret values of the request being recorded (or of the app, outside one)."""
        record = _record.get()
        (self.app_secrets if record is None else record.secrets).add(values)

    # -- steps ----------------------------------------------------------------------------

    def target(self) -> StepRecord:
        """The record steps of this context go to: its request's, else registration's."""
        record = _record.get()
        return self.registration if record is None else record

    def call(
        self,
        code: CodeType | None,
        detail: Mapping[str, str] | None = None,
        *,
        name: str | None = None,
        role: str | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Open a call step for `code` (or a named callable without code) and nest under it."""
        record = _record.get() or self.registration
        stack = _stack.get()
        file: str | None
        line: int | None
        if code is not None:
            self._codes[id(code)] = code
            name = name or code.co_qualname
            file, line = code.co_filename, code.co_firstlineno
        else:
            file = line = None
        step_id = record.add(stack[-1] if stack else None, "call", name or "?", file, line,
                             detail, role, facts)
        if step_id is not None:
            _stack.set((*stack, step_id))
        return step_id

    def leave(
        self,
        step_id: int | None,
        *,
        result: Any = None,
        error: BaseException | None = None,
        line: int | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        """Close the call `step_id` with its return value or exception, as its last child."""
        if step_id is None:
            return
        record = _record.get() or self.registration
        _close(step_id)
        call = record.steps[step_id]
        if error is not None and line is None:
            line = _raising_line(error, call[4], call[5], call[3])
        if error is None:
            kind, detail = "return", {"result": self.repr(result)}
        else:
            kind, detail = "exception", {"exception": self.repr(error)}
        record.add(step_id, kind, call[3], call[4], line, detail, call[8], facts)

    def ran_line(self, code: CodeType, line: int) -> None:
        """Record that `line` of `code` ran, as a line step of the call step open for `code`.

        Only when the innermost open step is `code`'s own: a call a hook passed through
        (not recorded, or flaskscope's bookkeeping) has none, and its lines are not told.
        The same line again with nothing recorded since is one statement written over
        several lines (Python reports its first line again after the others): one step.
        """
        stack = _stack.get()
        if not stack or bookkeeping.muted:
            return
        parent = stack[-1]
        record = _record.get() or self.registration
        top = record.steps.get(parent)
        if (top is None or len(top) < 9 or top[5] != code.co_firstlineno
                or top[4] != code.co_filename or top[3] != code.co_qualname):
            return
        if record.last_ran == (parent, line, record.size()):
            return
        record.add_line(parent, line)
        record.last_ran = (parent, line, record.size())

    def open_frame(self, code: CodeType, arguments: dict[str, Any], role: str | None,
                   facts: Mapping[str, Any] | None) -> tuple[StepRecord, int | None, bool]:
        """The call step of a frame line tracing entered: (record, step id, owned).

        A hook that has just opened a call step for the same code owns it (not owned): the
        frame's arguments are added to its detail (`self`/`cls` left out). Otherwise a call
        step is opened with `arguments` (kept raw, rendered when the trace is built). A step
        some frame has already taken (it has raw arguments, if only `{}`) is never taken
        again, but by a coroutine or generator frame resuming in it: the same code called
        inside it (two layers one decorator factory made, a recursion) is a call of its
        own. One method for the whole path: it runs at every traced call.
        """
        record = _record.get() or self.registration
        stack = _stack.get()
        parent = stack[-1] if stack else None
        resumed = bool(facts and facts.get("resumed"))  # the frame that took it, going on
        if parent is not None and (parent not in record.raw or resumed):
            top = record.steps.get(parent)
            if (top is not None and top[5] == code.co_firstlineno and top[3] == code.co_qualname
                    and top[4] == code.co_filename):
                arguments.pop("cls", None)
                record.add_raw(parent, arguments)
                return record, parent, False
        self._codes[id(code)] = code
        step_id = record.add(parent, "call", code.co_qualname, code.co_filename,
                             code.co_firstlineno, None, role, facts, arguments)
        if step_id is not None:
            if not arguments:  # taken by this frame all the same
                record.raw[step_id] = arguments
            _stack.set((*stack, step_id))
        return record, step_id, True

    def close_frame(self, record: StepRecord, step_id: int | None, line: int | None,
                    returned: dict[str, Any] | None = None,
                    error: BaseException | None = None) -> None:
        """Close a call step `open_frame` opened: with `returned`, the raw detail of the
        frame's return value (`{"result": kept value}`, made by the line engine), or with
        its exception."""
        if step_id is None:
            return
        _close(step_id)
        call = record.steps[step_id]
        if error is None:
            record.add(step_id, "return", call[3], call[4], line, None, call[8], None,
                       returned)
        else:
            record.add(step_id, "exception", call[3], call[4], line,
                       {"exception": self.repr(error)}, call[8], None)

    def note(
        self,
        role: str,
        name: str,
        facts: Mapping[str, Any] | None = None,
        detail: Mapping[str, str] | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
    ) -> int | None:
        """Record a derived fact under the current call step."""
        record = _record.get() or self.registration
        stack = _stack.get()
        return record.add(stack[-1] if stack else None, "note", name, file, line, detail, role,
                          facts)

    def annotate(self, step_id: int | None, facts: Mapping[str, Any]) -> None:
        """Add facts to a step already recorded (what was learned only after it began)."""
        if step_id is None:
            return
        self.target().add_facts(step_id, facts)

    def open_role(self) -> str | None:
        """The role of the innermost call step still open in this context."""
        stack = _stack.get()
        if not stack:
            return None
        return self.target().steps[stack[-1]][8]

    def remember_code(self, code: CodeType) -> None:
        """Embed this function's source in the trace even if no step enters it."""
        self._codes[id(code)] = code

    def failed(self, error: BaseException) -> None:
        """Count an error inside the recorder itself; the traced app never sees it."""
        with self._lock:
            self.errors += 1
            if len(self.error_samples) < _MAX_ERROR_SAMPLES:
                self.error_samples.append(f"{type(error).__name__}: {error}")

    # -- requests -------------------------------------------------------------------------

    def begin_request(self, secrets: Iterable[str] = (), **info: Any) -> RequestHandle:
        """Start a request record current in this context until `end_request`.

        `secrets`: values the request carries (credentials, cookies, secret fields); they
        and the apps' secrets are hidden in every value stored from now on.
        """
        _keep_collections_muted()
        record = StepRecord(self.max_steps)
        record.info.update(info)
        record.secrets.add(self.app_secrets.values)
        record.secrets.add(secrets)
        scrub = record.secrets.scrub if self.redact else None
        return record, _record.set(record), _stack.set(()), scrubbing(scrub)

    def end_request(self, handle: RequestHandle) -> None:
        """File a finished request and make the previous record current again."""
        record, record_token, stack_token, scrub_token = handle
        try:
            stop_scrubbing(scrub_token)
            _stack.reset(stack_token)
            _record.reset(record_token)
        except ValueError:  # filed from another context: that context lets go of it later
            self._filed_elsewhere.add(id(record))
        record.info["duration_ns"] = time.perf_counter_ns() - record.start_ns
        with self._lock:
            record.info.setdefault("id", next(self._request_ids))
            self.requests.append(record)
            ended = self._ended
        if ended:
            record.track_kept()

    def file_dropped(self, handle: RequestHandle) -> None:
        """File a request whose end no one will announce (a finalizer's call: it may run
        inside any code). Now, when its record is the current one here and the lock is
        free; else at the next `settle_late` or trace."""
        if _record.get() is handle[0] and not self._lock.locked():
            self.end_request(handle)
        else:
            self._late.append(handle)

    def settle_late(self) -> None:
        """File what `file_dropped` left for later, and stop treating a request filed from
        another context as current in this one. Cheap when there is nothing to do."""
        while self._late:
            try:
                handle = self._late.popleft()
            except IndexError:
                break
            self.end_request(handle)
        record = _record.get()
        if record is not None and id(record) in self._filed_elsewhere:
            self._filed_elsewhere.discard(id(record))
            _record.set(None)
            _stack.set(())
            scrubbing(None)

    # -- routes ---------------------------------------------------------------------------

    def add_subject(self, subject: Any, routes_of: RouteProvider) -> None:
        """Remember an app (weakly) so its final routes go into the trace, and learn the
        secrets of its config (again when the trace is built: config may change later)."""
        with self._lock:
            if any(ref() is subject for ref, _ in self._subjects):
                return
            self._subjects.append((weakref.ref(subject), routes_of))
        self._learn_config(subject)

    def _learn_config(self, subject: Any) -> None:
        config = getattr(subject, "config", None)
        if isinstance(config, Mapping):
            found = config_secrets(config)
            self.app_secrets.add(found)
            record = _record.get()
            if record is not None:
                record.secrets.add(found)

    # -- the trace ------------------------------------------------------------------------

    def trace(self, *, app: str | None = None, lazy_steps: bool = False) -> Trace:
        """A frozen snapshot of everything recorded so far.

        Each phase's steps are a tuple of `Step`; with `lazy_steps` a `StepTable`, whose
        steps are built only when read: for callers that write the trace (a live server's
        writer, which encodes the columns without building a step) or print it whole.
        """
        self.settle_late()
        routes: list[Route] = []
        for ref, routes_of in list(self._subjects):
            subject = ref()
            if subject is not None:
                self._learn_config(subject)
                routes.extend(routes_of(subject))
        app_secrets = self.app_secrets if self.redact else None
        routes = _expressions_scrubbed(routes, app_secrets)
        registration = Registration(
            steps=self._frozen_registration(app_secrets, lazy_steps),
            dropped_steps=self.registration.dropped,
        )
        with self._lock:
            finished = list(self.requests)
        requests = tuple(_freeze_request(record, self.redact, app_secrets, lazy_steps)
                         for record in finished)
        gaps = [f"request {record.info['id']}: {record.info['redaction_gap']}"
                for record in finished if record.info.get("redaction_gap")] if self.redact else []
        meta = {
            "python": platform.python_version(),
            **self.meta,
            "app": app or self.meta.get("app"),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "redacted": self.redact and not gaps,
            **({"redaction_gaps": gaps} if gaps else {}),
            "recorder_errors": self.errors,
            "recorder_error_samples": list(self.error_samples),
        }
        places = itertools.chain(_places(registration.steps),
                                 *(_places(request.steps) for request in requests))
        return Trace(
            meta=meta,
            routes=tuple(routes),
            registration=registration,
            requests=requests,
            sources=collect_sources(places, routes, list(self._codes.values()),
                                    self._built["sources"]),
        )

    def let_go(self, count: int | None = None) -> None:
        """Take the first `count` finished requests (all by default) off `requests`, once
        written or given up: their kept values go back in the collector's sight."""
        with self._lock:
            gone = self.requests[:count]
            del self.requests[:len(gone)]
        for record in gone:
            record.track_kept()

    def track_kept(self) -> None:
        """Every record's kept values back in the collector's sight: the recording ended
        (a request still running then gets them back when it is filed)."""
        with self._lock:
            self._ended = True
            records = [self.registration, *self.requests]
        for record in records:
            record.track_kept()

    def forget_built(self) -> None:
        """Drop what `trace()` kept to build the next trace faster: called once nothing
        records here any more (`tracer.uninstall`). A stand-in the app still holds keeps
        this recorder alive to the end of the process; without this, a frozen copy of every
        registration step would stay alive with it, for the collector to walk."""
        self._built.clear()
        self._built["sources"] = SourceCache()

    def _frozen_registration(self, secrets: Secrets | None, lazy: bool) -> Sequence[Step]:
        """The registration's steps frozen, built again only when it changed since: a live
        server builds a trace for every request it writes, and registration is as long as
        the app's routes are many. Kept apart for `lazy` and not: a pytest run stores each
        test's requests (lazy) and may read them too."""
        record = self.registration
        key = (record.size(), record.dropped, record.revision, self.redact,
               None if secrets is None else frozenset(secrets.values))
        form = "registration columns" if lazy else "registration"
        known = self._built.get(form)
        if known is not None and known[0] == key:
            return known[1]
        steps = _freeze(record, self.redact, secrets, lazy)
        self._built[form] = (key, steps)
        return steps


def _raising_line(error: BaseException, file: str | None, first_line: int | None,
                  name: str) -> int | None:
    """The line of the function `name` (file, first line) an exception left it from."""
    traceback = error.__traceback__
    line = None
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if (code.co_filename == file and code.co_firstlineno == first_line
                and code.co_qualname == name):
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _freeze(record: StepRecord, redact: bool = True, secrets: Secrets | None = None,
            lazy: bool = False) -> Sequence[Step]:
    """The steps of a record, every value a plain JSON value, with every secret known by
    value hidden (raw values are rendered with them hidden, before they are cut short).

    A tuple of `Step`; with `lazy` a `StepTable` of the same, its steps built only when
    read: a live server writes each request's columns straight from it (`tracer.tracefile`).
    """
    rows = record.rows()
    plain = PlainValues(secrets.scrub if secrets else None,
                        frozenset(row[3] for row in rows if row[2] == "call"))
    token = scrubbing(plain.scrub)
    memo: dict[int, str] = {}
    try:
        core = compiled_steps()
        if core is not None:  # the same values, converted in C
            names, extras = core.plain_extras(rows, plain, secrets.scrub if secrets else None,
                                              plain.code_names, redact, memo, DELETED)
        else:
            name_of, detail_of, facts_of = plain.name, plain.detail, plain.facts
            names = [name_of(row[3]) for row in rows]
            extras = [(row[6], detail_of(rendered_detail(row[8], row[11], redact, memo)),
                       facts_of(row[10]), row[7]) for row in rows]
        if not lazy:
            return tuple(Step(row[0], row[1], row[2], name, row[4], row[5], row[6], row[7],
                              extra[1], row[9], extra[2])
                         for row, name, extra in zip(rows, names, extras, strict=True))
        return StepTable.from_rows(
            parents=[row[1] for row in rows],
            kinds="".join([KIND_CODES[row[2]] for row in rows]),
            names=names,
            files=[row[4] for row in rows],
            lines=[row[5] for row in rows],
            roles={row[0]: row[9] for row in rows if row[9] is not None},
            extras=extras,
        )
    finally:
        stop_scrubbing(token)


def _freeze_request(record: StepRecord, redact: bool, app_secrets: Secrets | None,
                    lazy_steps: bool = False) -> Request:
    info = record.info
    secrets = record.secrets.merged(app_secrets) if redact else None
    plain = PlainValues(secrets.scrub if secrets else None).value
    return Request(
        id=info["id"],
        method=plain(info.get("method", "?")),
        path=plain(info.get("path", "?")),
        status=info.get("status"),
        endpoint=plain(info.get("endpoint")),
        rule=plain(info.get("rule")),
        view_args=plain(dict(info.get("view_args", {}))),
        outcome=info.get("outcome", "ok"),
        steps=_freeze(record, redact, secrets, lazy_steps),
        query=plain(info.get("query", "")),
        allowed_methods=tuple(plain(list(info.get("allowed_methods", ())))),
        redirect_to=plain(info.get("redirect_to")),
        error=plain(info.get("error")),
        start_ns=record.start_ns,
        duration_ns=info.get("duration_ns", 0),
        thread=record.thread,
        dropped_steps=record.dropped,
    )


def _expressions_scrubbed(routes: list[Route], secrets: Secrets | None) -> list[Route]:
    """The routes with the app's secret values hidden in their decorator expressions: source
    text, read from the app's files, redacted by value like every recorded value."""
    if not secrets:
        return routes
    return [dataclasses.replace(route, chain=tuple(
        dataclasses.replace(link, expression=secrets.scrub(link.expression))
        if link.expression else link for link in route.chain)) for route in routes]


class SourceCache:
    """What `collect_sources` learned of code objects and files, for the next trace: the
    lines each code object spans (by id: the recorder keeps every code object it names
    alive), and each file's recorded lines and hash with the very list `linecache` gave (a
    changed file is a new list)."""

    def __init__(self) -> None:
        self.spans: dict[int, tuple[int, int]] = {}
        self.files: dict[str, tuple[list[str], set[int], SourceFile]] = {}
        #: The code objects of the last `bodies` call (held, and their ids) and the lines
        #: of their bodies by file: a live server builds a trace for every few requests,
        #: naming the same code objects each time.
        self._bodies: tuple[list[CodeType], tuple[int, ...], dict[str, frozenset[int]]] = (
            [], (), {})

    def span(self, code: CodeType) -> tuple[int, int]:
        known = self.spans.get(id(code))
        if known is None:
            numbers = {line for _, _, line in code.co_lines() if line is not None}
            numbers.add(code.co_firstlineno)
            known = self.spans[id(code)] = (min(numbers), max(numbers))
        return known

    def bodies(self, codes: list[CodeType]) -> dict[str, frozenset[int]]:
        """Every line of the bodies of `codes`, by file (worked out again only when the
        code objects are not those of the last call)."""
        ids = tuple(map(id, codes))
        if ids == self._bodies[1]:
            return self._bodies[2]
        lines: dict[str, set[int]] = {}
        for code in codes:
            first, last = self.span(code)
            lines.setdefault(code.co_filename, set()).update(range(first, last + 1))
        bodies = {file: frozenset(numbers) for file, numbers in lines.items()}
        self._bodies = (codes, ids, bodies)
        return bodies

    def source(self, file: str, lines: list[str], numbers: set[int]) -> SourceFile:
        """The recorded lines `numbers` of a file: the same as last time when they are, its
        hash the same as last time when the file is."""
        known = self.files.get(file)
        if known is not None and known[0] is lines:
            if known[1] == numbers:
                return known[2]
            digest = known[2].sha256
        else:
            digest = hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()
        source = SourceFile(
            sha256=digest,
            lines={n: lines[n - 1].rstrip("\n") for n in sorted(numbers) if 0 < n <= len(lines)},
        )
        self.files[file] = (lines, numbers, source)
        return source


def _places(steps: Sequence[Step]) -> Iterable[tuple[str | None, int | None]]:
    """(file, line) of each step, read from a table's columns without building steps."""
    if isinstance(steps, StepTable):
        return zip(steps.files, steps.lines, strict=True)
    return ((step.file, step.line) for step in steps)


def collect_sources(
    places: Iterable[tuple[str | None, int | None]], routes: Iterable[Route],
    codes: Iterable[CodeType], cache: SourceCache | None = None,
) -> dict[str, SourceFile]:
    """The lines steps point at (their (file, line) `places`) plus whole function bodies,
    read once per file."""
    cache = SourceCache() if cache is None else cache
    wanted: dict[str, set[int]] = {}
    for file, line in places:
        if file and line:
            wanted.setdefault(file, set()).add(line)
    for route in routes:
        for link in route.chain:
            if link.file and link.line:
                wanted.setdefault(link.file, set()).add(link.line)
        for above in route.decorators_above_route:  # the `@decorator` lines no request ran
            if above.file and above.line:
                wanted.setdefault(above.file, set()).add(above.line)
    bodies = cache.bodies(list(codes))
    sources: dict[str, SourceFile] = {}
    for file in {**wanted, **bodies}:
        lines = linecache.getlines(file)
        if not lines:
            continue
        numbers = wanted.get(file, set())
        numbers |= bodies.get(file, frozenset())
        sources[file] = cache.source(file, lines, numbers)
    return sources
