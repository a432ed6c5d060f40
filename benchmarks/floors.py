"""The least any recorder at our scope can cost: what the overhead targets are measured against.

Each floor is installed around a request exactly where flaskscope records (server side only,
Flask + Werkzeug + the app), and records nothing:

- `line_events`: a Python callback receives every line event in scope and returns at once
  (`sys.monitoring` on 3.12+, a local `sys.settrace` function on 3.11), and every call and
  return event our engine also receives. No recorder that sees lines from Python costs less.
- `frame_lookup`: the same, and each callback finds the state of the frame it belongs to,
  which recording anything per frame needs (on 3.12+ the callback is not given the frame:
  `sys._getframe(1)`).
- `pass_through`: flaskscope's hooks installed but recording nothing, each patched function a
  pass-through; the floor of hook mode.

    with floors.line_events(scope): ...   # scope: tracer.lines.Scope
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FrameType
from typing import Any

from tracer.lines import Scope

_TOOL = 5  # sys.monitoring.OPTIMIZER_ID: free in a benchmark process


@contextmanager
def line_events(scope: Scope, app: Any) -> Iterator[None]:
    """Line, call and return events in scope delivered to callbacks that do nothing."""
    with _floor(scope, app, find_frame=False):
        yield


@contextmanager
def frame_lookup(scope: Scope, app: Any) -> Iterator[None]:
    """As `line_events`, and every callback finds its frame's state."""
    with _floor(scope, app, find_frame=True):
        yield


@contextmanager
def pass_through() -> Iterator[None]:
    """flaskscope's hooks installed, every one passing the call straight through."""
    import tracer
    from tracer.frameworks import _active

    with tracer.record():
        for hooks in _active.values():
            hooks.active = False
        yield


@contextmanager
def _floor(scope: Scope, app: Any, find_frame: bool) -> Iterator[None]:
    """Events on only while `app.wsgi_app` runs, as line mode has them."""
    in_scope: dict[int, bool] = {}
    frames: dict[int, object] = {}

    def traced(code: CodeType) -> bool:
        known = in_scope.get(id(code))
        if known is None:
            known = in_scope[id(code)] = scope.contains(code.co_filename)
        return known

    if sys.version_info >= (3, 12):
        wrap = _monitored(traced, frames, find_frame)
    else:
        wrap = _settraced(traced, frames, find_frame)
    original = app.wsgi_app
    app.wsgi_app = wrap(original)
    try:
        yield
    finally:
        app.wsgi_app = original
        if sys.version_info >= (3, 12):
            sys.monitoring.set_events(_TOOL, 0)
            sys.monitoring.free_tool_id(_TOOL)


def _monitored(traced: Callable[[CodeType], bool], frames: dict[int, object],
               find_frame: bool) -> Callable[[Callable], Callable]:
    monitoring = sys.monitoring
    events = monitoring.events
    getframe = sys._getframe
    local = threading.local()
    local.on = False

    enabled: set[int] = set()

    def on_start(code: CodeType, offset: int) -> Any:
        if not traced(code):
            return None  # as the engine: out-of-scope calls stay visible (collapsed steps)
        if id(code) not in enabled:
            enabled.add(id(code))
            monitoring.set_local_events(_TOOL, code, events.LINE | events.PY_RETURN)
        if local.on and find_frame:
            frames[id(getframe(1))] = code
        return None

    def on_line(code: CodeType, line: int) -> Any:
        if find_frame:
            frames.get(id(getframe(1)))
        return None

    def on_return(code: CodeType, offset: int, value: Any) -> Any:
        if find_frame:
            frames.pop(id(getframe(1)), None)
        return None

    monitoring.use_tool_id(_TOOL, "flaskscope-floor")
    monitoring.register_callback(_TOOL, events.PY_START, on_start)
    monitoring.register_callback(_TOOL, events.LINE, on_line)
    monitoring.register_callback(_TOOL, events.PY_RETURN, on_return)
    monitoring.set_events(_TOOL, events.PY_START)

    def wrap(wsgi_app: Callable) -> Callable:
        def floored(*args: Any) -> Any:
            local.on = True
            try:
                return wsgi_app(*args)
            finally:
                local.on = False
        return floored

    return wrap


def _settraced(traced: Callable[[CodeType], bool], frames: dict[int, object],
               find_frame: bool) -> Callable[[Callable], Callable]:
    def local_trace(frame: FrameType, event: str, arg: Any) -> Any:
        if find_frame:
            if event == "return":
                frames.pop(id(frame), None)
            else:
                frames.get(id(frame))
        return local_trace

    def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
        if event != "call" or not traced(frame.f_code):
            return None
        if find_frame:
            frames[id(frame)] = frame.f_code
        return local_trace

    def wrap(wsgi_app: Callable) -> Callable:
        def floored(*args: Any) -> Any:
            sys.settrace(global_trace)
            try:
                return wsgi_app(*args)
            finally:
                sys.settrace(None)
        return floored

    return wrap
