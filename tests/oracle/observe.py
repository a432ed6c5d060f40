"""What happened during each request, seen from outside the recorder.

`Observer` wraps `Flask.__call__` (which flaskscope leaves alone), so each WSGI call of any
Flask app is one `Observation`: the status and Location the server is handed, the exception
that left the app, Flask's signals (`request_started`, `got_request_exception`,
`request_finished`), Werkzeug's answer for the environ `Flask.wsgi_app` received (asked
after the request, of `MapAdapter.match` as Werkzeug defines it, so that asking is no step),
and the tree of Python calls made meanwhile, seen by a `sys.setprofile` function of its own
(flaskscope never sets one; Python hides every profile and trace function from the others,
so neither sees the other's callbacks). Threads the request starts and waits for (asgiref's
event loop for an async view) are followed; their calls hang under the waiting call.

Which calls the oracle requires to be recorded (`Call.required`), by one rule:

- a function of the app or of its extensions (`user_roots`) that Flask called — its nearest
  caller that is not plumbing (`functools`, `contextlib`, threads, `asyncio`, blinker's
  signals, asgiref) or the recorder's own pass-through wrapper is Flask, or Werkzeug with
  no app frame above it (a URL converter during matching; not a `LocalProxy` the view
  reads);
- Flask's `render_template`, `render_template_string` and `url_for`, whoever calls them:
  a call step for them or for a Flask function they call (`Flask.url_for`, `_render`);

and only inside `Flask.wsgi_app` (a middleware around it runs before the request begins).

Calls the recorder makes for its own bookkeeping (a `repr`, Werkzeug asked why a URL did not
match) are not the app's and are left out with everything under them: a frame of the
recorder's package passes a call through only when the function it calls is one it holds
(a wrapper's `original`); any other call it makes is its own. Calls made while the garbage
collector runs (finalizers) are left out too.
"""

from __future__ import annotations

import dis
import functools
import gc
import inspect
import os
import sys
import sysconfig
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import CodeType, FrameType, FunctionType, MethodType
from typing import Any

import flask
import flask.signals
import werkzeug
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import MapAdapter, RequestRedirect

import tracer.model

_GENERATOR_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # generator, coroutine, async generator
_RESUME = dis.opmap["RESUME"]
_THREAD_START = threading.Thread.start.__code__

# Where a code object lives.
USER, FLASK, WERKZEUG, PLUMBING, OTHER, RECORDER, ORACLE = range(7)
AREA_NAMES = ("app", "flask", "werkzeug", "plumbing", "other", "recorder", "oracle")

#: Flask helpers a trace must show whoever calls them: (file name, qualname).
ENTRY_POINTS = frozenset({
    ("templating.py", "render_template"),
    ("templating.py", "render_template_string"),
    ("helpers.py", "url_for"),
})
#: The standard library's ways of calling a function for someone else (the rest of it, as
#: `json` calling an `object_hook` or `logging` a handler, calls on its own account).
_STDLIB_PLUMBING = ("functools.py", "contextlib.py", "threading.py",
                    os.path.join("asyncio", ""), os.path.join("concurrent", ""))
#: Flask methods whose argument `e` is the exception being handled.
_HANDLING = frozenset({
    "Flask.handle_user_exception", "Flask.handle_http_exception", "Flask.handle_exception",
})


def _directory(module: Any) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(module.__file__)), "")


def _optional_directory(name: str) -> str | None:
    try:
        module = __import__(name)
    except ImportError:
        return None
    return _directory(module)


class Call:
    """One function call the oracle saw (a frame), with the calls it made."""

    __slots__ = ("file", "line", "name", "area", "children", "parent", "required", "caller",
                 "resumed", "concurrent", "origin")

    def __init__(self, code: CodeType, area: int, parent: Call | None) -> None:
        self.file = code.co_filename
        self.line = code.co_firstlineno
        self.name = code.co_qualname
        self.area = area
        self.children: list[Call] = []
        self.parent = parent
        self.required = False
        self.caller: str | None = None  # the Flask or Werkzeug function that called it
        self.resumed = False  # a generator or coroutine going on after a yield or await
        #: made on a thread the request started: its calls are not ordered with its
        #: siblings' (the request's thread runs on while it does)
        self.concurrent = False
        self.origin: Call | None = None  # a resumption's first call (same frame)

    @property
    def key(self) -> tuple[str, int]:
        return self.file, self.line

    def __repr__(self) -> str:
        return f"<Call {self.name} {os.path.basename(self.file)}:{self.line}>"


class _Root(Call):
    """The top of an observation's call tree (no frame of its own)."""

    def __init__(self) -> None:  # noqa: D107 - nothing to say
        self.file, self.line, self.name, self.area = "", 0, "<request>", OTHER
        self.children, self.parent, self.required, self.caller = [], None, False, None
        self.resumed = self.concurrent = False
        self.origin = None


@dataclass(frozen=True)
class Match:
    """What Werkzeug's `MapAdapter.match` says about the request's environ."""

    kind: str  # matched | not_found | method_not_allowed | redirect | unknown (| unasked)
    rule: str | None = None
    endpoint: str | None = None
    view_args: dict[str, Any] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()
    new_url: str | None = None
    why: str | None = None  # for unknown


@dataclass
class Observation:
    """One WSGI call of a Flask app, as the oracle saw it."""

    method: str
    path: str
    label: str = ""
    status: int | None = None
    location: str | None = None
    propagated: str | None = None  # the exception type that left the app
    #: (type, is HTTPException) of each exception got_request_exception was sent for:
    #: Flask sends it for what it does not handle, extensions (Flask-RESTful) for theirs.
    signalled: list[tuple[str, bool]] = field(default_factory=list)
    handled: list[tuple[str, bool]] = field(default_factory=list)  # (type, is HTTPException)
    signals: list[str] = field(default_factory=list)  # the signals Flask sent, in order
    finished_status: int | None = None  # the response request_finished was sent with
    match: Match | None = None
    matched: bool = False  # Flask asked for a match (`RequestContext.match_request` ran)
    environ: dict[str, Any] | None = None  # as `Flask.wsgi_app` received it
    root: Call = field(default_factory=_Root)
    blind: str | None = None  # why no calls could be watched
    errors: list[str] = field(default_factory=list)  # the oracle's own failures


# Entry fields: one tuple per live frame on the watched thread.
_FID, _FRAME, _NODE, _AREA, _HIDDEN, _EFFECTIVE, _CALLER, _USER_ABOVE, _INSIDE = range(9)


class _Watch:
    """The shadow stack of one observation while its request runs."""

    __slots__ = ("observation", "entries", "profiling", "spawning", "owner", "closed")

    def __init__(self, observation: Observation, owner: _Watch | None = None) -> None:
        self.observation = observation
        self.entries: list[tuple] = []
        self.profiling = False  # this window set the thread's profile function
        self.spawning = False  # and the one of threads started meanwhile
        self.owner = owner  # the window of the thread that started this one's
        self.closed = False


class Observer:
    """Observes every request any Flask app serves while it is started.

    Args:
        user_roots: files and directories of the app and its extensions.
        label: names the observation being made (a test id), for messages.
        recorder_dir: where the recorder's code lives (default: the `tracer` package).
    """

    def __init__(self, user_roots: Iterable[str], label: Callable[[], str] = lambda: "",
                 recorder_dir: str | None = None) -> None:
        self.user_roots = tuple(
            os.path.join(os.path.abspath(root), "") if os.path.isdir(root)
            else os.path.abspath(root) for root in user_roots)
        self.label = label
        self.observations: list[Observation] = []
        self.apps = 0  # how many Flask apps served the requests observed
        self._seen_apps: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._areas: dict[int, tuple[CodeType, int]] = {}
        #: The thread a garbage collection runs in (its finalizers' calls are not the
        #: request's); another thread may run meanwhile and its calls are.
        self._collecting: int | None = None
        self._original_call: Any = None
        self._active = False
        self._windows: list[_Watch] = []  # open, on any thread
        #: generator and coroutine frames that left by a yield or await (or ended), by id:
        #: the call a resumption carries on
        self._suspended: dict[int, Call] = {}
        #: threads a watched call started (`Thread.start`), not yet running: the window that
        #: started each and the entry its calls hang under
        self._started: weakref.WeakKeyDictionary[threading.Thread, tuple[_Watch, tuple | None]] = (
            weakref.WeakKeyDictionary())
        self._recorder_dir = (os.path.join(os.path.abspath(recorder_dir), "")
                              if recorder_dir else _directory(tracer.model))
        self._oracle_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")
        self._flask_dir = _directory(flask)
        self._werkzeug_dir = _directory(werkzeug)
        stdlib = sysconfig.get_paths()["stdlib"]
        plumbing = [os.path.join(stdlib, name) for name in _STDLIB_PLUMBING]
        self._stdlib = tuple(plumbing)
        plumbing += [d for d in map(_optional_directory, ("blinker", "asgiref")) if d]
        self._plumbing = tuple(plumbing)
        self._match = inspect.unwrap(MapAdapter.match)  # as Werkzeug defines it
        for root in self.user_roots:
            for library in (self._flask_dir, self._werkzeug_dir, self._recorder_dir):
                if library.startswith(root):
                    raise ValueError(f"the app root {root!r} holds {library!r}: name the "
                                     "app's own files and packages, not a directory above them")

    # -- start and stop -------------------------------------------------------------------

    def __enter__(self) -> Observer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self) -> None:
        """Wrap `Flask.__call__`, listen to Flask's signals and to the garbage collector."""
        if self._active:
            return
        self._original_call = flask.Flask.__dict__["__call__"]
        flask.Flask.__call__ = self._window(self._original_call)  # type: ignore[method-assign]
        flask.signals.request_started.connect(self._on_started, weak=False)
        flask.signals.request_finished.connect(self._on_finished, weak=False)
        flask.signals.got_request_exception.connect(self._on_exception, weak=False)
        gc.callbacks.append(self._on_collection)
        self._active = True

    def stop(self) -> None:
        """Put `Flask.__call__` back (the identical object) and stop listening."""
        if not self._active:
            return
        self._active = False
        flask.Flask.__call__ = self._original_call  # type: ignore[method-assign]
        flask.signals.request_started.disconnect(self._on_started)
        flask.signals.request_finished.disconnect(self._on_finished)
        flask.signals.got_request_exception.disconnect(self._on_exception)
        while self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)

    def take(self) -> list[Observation]:
        """The observations finished so far, in the order the requests ended; forgets them."""
        with self._lock:
            taken, self.observations = self.observations, []
        return taken

    # -- one request ----------------------------------------------------------------------

    def _window(self, original: Callable) -> Callable:
        observer = self

        @functools.wraps(original)
        def __call__(app: Any, environ: dict, start_response: Callable) -> Any:  # noqa: N807
            if not observer._active:
                return original(app, environ, start_response)
            return observer._observe(original, app, environ, start_response)

        return __call__

    def _open(self) -> list[_Watch]:
        try:
            return self._local.open
        except AttributeError:
            self._local.open = []
            return self._local.open

    def _observe(self, original: Callable, app: Any, environ: dict,
                 start_response: Callable) -> Any:
        method, path = _method_and_path(environ)
        observation = Observation(method=method, path=path, label=self.label())
        asked = dict(environ)
        with self._lock:
            if app not in self._seen_apps:
                self._seen_apps.add(app)
                self.apps += 1
        watch = _Watch(observation)
        opened = self._open()
        current = sys.getprofile()
        if current is None:
            sys.setprofile(self._profile)
            watch.profiling = True
            if threading.getprofile() is None:  # threads the request starts (asgiref's loop)
                threading.setprofile(self._spawned)
                watch.spawning = True
        elif current != self._profile:  # equal, not identical: a bound method
            observation.blind = f"another profile function was set: {current!r}"
        opened.append(watch)
        with self._lock:
            self._windows.append(watch)

        def start_response_seen(status: str, headers: list, *exc_info: Any) -> Any:
            try:
                observation.status = int(str(status).split(None, 1)[0])
                observation.location = next(
                    (value for name, value in headers if name.lower() == "location"), None)
            except (ValueError, IndexError) as error:
                observation.errors.append(f"status line {status!r}: {error}")
            return start_response(status, headers, *exc_info)

        try:
            return original(app, environ, start_response_seen)
        except BaseException as error:
            observation.propagated = type(error).__qualname__
            raise
        finally:
            if watch.profiling:
                sys.setprofile(None)
            if watch.spawning:
                threading.setprofile(None)  # type: ignore[arg-type]
            opened.pop()
            with self._lock:
                watch.closed = True
                self._windows.remove(watch)
            if observation.environ is not None:
                asked = observation.environ
                observation.method, observation.path = _method_and_path(asked)
            observation.match = self._ask_werkzeug(app, asked)
            with self._lock:
                self.observations.append(observation)

    def _ask_werkzeug(self, app: Any, environ: dict) -> Match:
        """Werkzeug's own answer for the environ, through the adapter Flask would build."""
        try:
            adapter = app.create_url_adapter(app.request_class(environ))
        except HTTPException as error:
            return Match("unknown", why=f"no URL adapter: {error!r}")
        except Exception as error:
            return Match("unknown", why=f"no URL adapter: {error!r}")
        if adapter is None:
            return Match("unknown", why="the app builds no URL adapter for this request")
        try:
            rule, values = self._match(adapter, return_rule=True)
        except RequestRedirect as error:
            return Match("redirect", new_url=error.new_url)
        except MethodNotAllowed as error:
            return Match("method_not_allowed", allowed=tuple(sorted(error.valid_methods or ())))
        except NotFound:
            return Match("not_found")
        except Exception as error:
            return Match("unknown", why=f"match raised {error!r}")
        return Match("matched", rule=rule.rule, endpoint=rule.endpoint, view_args=dict(values))

    # -- Flask's signals and the collector -------------------------------------------------

    def _current(self) -> Observation | None:
        opened = self._open()
        return opened[-1].observation if opened else None

    def _on_started(self, sender: Any, **extra: Any) -> None:
        observation = self._current()
        if observation is not None:
            observation.signals.append("request_started")

    def _on_finished(self, sender: Any, response: Any = None, **extra: Any) -> None:
        observation = self._current()
        if observation is not None:
            observation.signals.append("request_finished")
            observation.finished_status = getattr(response, "status_code", None)

    def _on_exception(self, sender: Any, exception: Any = None, **extra: Any) -> None:
        observation = self._current()
        if observation is not None:
            observation.signals.append("got_request_exception")
            observation.signalled.append(
                (type(exception).__qualname__, isinstance(exception, HTTPException)))

    def _on_collection(self, phase: str, info: dict) -> None:
        self._collecting = threading.get_ident() if phase == "start" else None

    # -- the profile function -------------------------------------------------------------

    def _spawned(self, frame: FrameType, event: str, arg: Any) -> None:
        """The first event of a thread: watched when a watched call started it (its calls
        hang under the call that was running when `Thread.start` was called, outside the
        standard library's plumbing: a pool's `submit` only starts the thread, the call
        above it waits for it, as asgiref's `AsyncToSync.__call__` does). Asking the
        starting thread's stack now instead would race with it: it runs on meanwhile. A
        thread outliving the request is no longer watched."""
        with self._lock:
            started = self._started.pop(threading.current_thread(), None)
        if started is None or started[0].closed:
            sys.setprofile(None)  # not started by the request: a test's own thread, say
            return
        owner, top = started
        watch = _Watch(owner.observation, owner)
        if top is not None:
            watch.entries.append((None, None, top[_NODE], PLUMBING, top[_HIDDEN],
                                  top[_EFFECTIVE], top[_CALLER], top[_USER_ABOVE],
                                  top[_INSIDE]))
        self._local.open = [watch]
        sys.setprofile(self._profile)
        self._profile(frame, event, arg)

    def _note_start(self, watch: _Watch, frame: FrameType) -> None:
        """A watched call is starting a thread (`Thread.start`, called with the thread)."""
        thread = frame.f_locals.get("self")
        if not isinstance(thread, threading.Thread):
            return
        top = next((entry for entry in reversed(watch.entries)
                    if entry[_NODE] is None or not entry[_NODE].file.startswith(self._stdlib)),
                   watch.entries[-1] if watch.entries else None)
        with self._lock:
            self._started[thread] = (watch.owner or watch, top)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" and event != "return":
            return
        opened = self._open()
        if not opened:
            return
        watch = opened[-1]
        if watch.owner is not None and watch.owner.closed:
            return
        try:
            if event == "call":
                self._enter(watch, frame)
            else:
                self._leave(watch, frame)
        except Exception as error:  # never let the oracle change what the app does
            watch.observation.errors.append(repr(error))

    def _area(self, code: CodeType) -> int:
        known = self._areas.get(id(code))
        if known is not None and known[0] is code:
            return known[1]
        file = code.co_filename
        if file.startswith(self._recorder_dir):
            area = RECORDER
        elif file.startswith(self._oracle_dir):
            area = ORACLE
        elif any(file == root or (root.endswith(os.sep) and file.startswith(root))
                 for root in self.user_roots):
            area = USER
        elif file.startswith(self._flask_dir):
            area = FLASK
        elif file.startswith(self._werkzeug_dir):
            area = WERKZEUG
        elif file.startswith(self._plumbing):
            area = PLUMBING
        else:
            area = OTHER
        self._areas[id(code)] = (code, area)
        return area

    def _enter(self, watch: _Watch, frame: FrameType) -> None:
        entries = watch.entries
        top = entries[-1] if entries else None
        fid = id(frame)
        if (top is not None and top[_HIDDEN]) or (
                self._collecting is not None and self._collecting == threading.get_ident()):
            entries.append((fid, None, None, OTHER, True, None, None, False, False))
            return
        code = frame.f_code
        area = self._area(code)
        if code is _THREAD_START:
            self._note_start(watch, frame)
        attach = top[_NODE] if top is not None else watch.observation.root
        effective = top[_EFFECTIVE] if top is not None else None
        caller = top[_CALLER] if top is not None else None
        user_above = top[_USER_ABOVE] if top is not None else False
        inside = top[_INSIDE] if top is not None else False
        if (top is not None and top[_AREA] == RECORDER and area != RECORDER
                and not self._passed_through(entries, code)):
            entries.append((fid, None, None, area, True, None, None, False, False))
            return
        if area == RECORDER:  # not a call of the app: its calls hang under the caller
            entries.append((fid, frame, attach, area, False, effective, caller, user_above,
                            inside))
            return
        node = Call(code, area, attach)
        node.concurrent = watch.owner is not None and top is not None and top[_FID] is None
        attach.children.append(node)
        node.resumed = _is_resume(frame)
        if node.resumed:
            node.origin = self._suspended.pop(fid, None)
        if inside and not node.resumed:  # a call is required, not each of its resumptions
            if area == USER:
                node.required = effective == FLASK or (effective == WERKZEUG and not user_above)
                node.caller = caller
            elif area == FLASK:
                node.required = (os.path.basename(code.co_filename),
                                 code.co_qualname) in ENTRY_POINTS
                node.caller = caller
                if code.co_qualname in _HANDLING:
                    self._note_handled(watch.observation, frame)
                elif code.co_qualname == "RequestContext.match_request":
                    watch.observation.matched = True
        elif area == FLASK and code.co_qualname == "Flask.wsgi_app":
            inside = True
            if watch.observation.environ is None:  # after any middleware changed it
                environ = frame.f_locals.get("environ")
                if isinstance(environ, dict):
                    watch.observation.environ = dict(environ)
        if area != PLUMBING:
            effective, caller = area, code.co_qualname
        entries.append((fid, None, node, area, False, effective, caller,
                        user_above or area == USER, inside))

    def _leave(self, watch: _Watch, frame: FrameType) -> None:
        entries = watch.entries
        fid = id(frame)
        for index in range(len(entries) - 1, -1, -1):
            if entries[index][_FID] == fid:
                node = entries[index][_NODE]
                if node is not None and frame.f_code.co_flags & _GENERATOR_FLAGS:
                    self._suspended[fid] = node.origin or node  # it may carry on later
                del entries[index:]
                return

    def _passed_through(self, entries: list[tuple], code: CodeType) -> bool:
        """Whether the recorder frames on top of the stack hand this call on: the outermost
        of them holds the function being called (`original`, the view it proxies)."""
        index = len(entries) - 1
        while index > 0 and entries[index - 1][_AREA] == RECORDER:
            index -= 1
        frame = entries[index][_FRAME]
        if frame is None:
            return False
        return any(_runs(value, code) for value in list(frame.f_locals.values()))

    @staticmethod
    def _note_handled(observation: Observation, frame: FrameType) -> None:
        error = frame.f_locals.get("e")
        if isinstance(error, BaseException):
            observation.handled.append(
                (type(error).__qualname__, isinstance(error, HTTPException)))


def _method_and_path(environ: dict) -> tuple[str, str]:
    """The request's method and path (script name and path info, as text)."""
    path = (environ.get("SCRIPT_NAME", "") or "") + (environ.get("PATH_INFO", "") or "/")
    return (environ.get("REQUEST_METHOD", "GET"),
            path.encode("latin-1", "replace").decode("utf-8", "replace"))


def _is_resume(frame: FrameType) -> bool:
    """A generator or coroutine frame carrying on after a yield or await (its `RESUME`
    instruction has a non-zero argument; a fresh call's has 0)."""
    code = frame.f_code
    if not code.co_flags & _GENERATOR_FLAGS:
        return False
    offset = frame.f_lasti
    raw = code.co_code
    return 0 <= offset < len(raw) - 1 and raw[offset] == _RESUME and raw[offset + 1] != 0


def _runs(value: Any, code: CodeType) -> bool:
    """Whether calling `value` runs `code` (looking through bound methods, partials,
    `functools.wraps`' `__wrapped__` and callable objects' `__call__`, read without running
    any attribute code)."""
    for _ in range(8):
        if isinstance(value, MethodType):
            value = value.__func__
        elif isinstance(value, functools.partial):
            value = value.func
        elif isinstance(value, FunctionType):
            if value.__code__ is code:
                return True
            value = value.__dict__.get("__wrapped__")
        elif value is not None and not isinstance(value, type):
            value = inspect.getattr_static(type(value), "__call__", None)
        else:
            return False
    return False
