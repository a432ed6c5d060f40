"""Pieces of hook mode taken away one at a time, to count what each costs.

`python benchmarks/instructions.py --modes hooks --without view-chain,reprs` counts hook mode
once per piece with that piece gone (each a patch applied in the measured process before
the recording starts). Every patch changes what the trace holds: they exist to measure,
never to record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _view_chain() -> None:
    """Flask's `ensure_sync` not hooked: no proxy steps, no catching window around the view,
    no watched calls (layers, the generated `view`, the handler)."""
    from tracer.frameworks.flask.hooks import FlaskHooks

    FlaskHooks._ensure_sync = lambda self, original: original  # type: ignore[method-assign]


def _proxies() -> None:
    """The `ensure_sync` stand-in still runs (role, coroutine check) but makes no proxy: no
    proxy steps, no catching window, no watched calls."""
    from tracer.frameworks.flask.hooks import FlaskHooks

    FlaskHooks._proxy_call = (  # type: ignore[method-assign]
        lambda self, callable_, func, role: callable_)


def _watched_calls() -> None:
    """Watched calls are caught but not recorded: on 3.11 the catching window still opens
    around the view (its tracing mode on), on 3.12+ the `sys.monitoring` call callbacks
    still run, and return at once."""
    import sys

    import tracer.watch as watch
    from tracer.engine import compiled_steps
    from tracer.recorder import current_request_variable

    def nothing(*args: Any) -> None:
        return None

    if not watch.HAS_MONITORING:
        original_init = watch.CodeWatcher.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            self._global_trace = nothing
            core = compiled_steps()
            if core is not None:
                self._catcher = core.Catcher(self._by_id, self._lines_wanted,
                                             self._suspended, nothing,
                                             current_request_variable)

        watch.CodeWatcher.__init__ = init  # type: ignore[method-assign]
        return
    original_start = watch.CodeWatcher.start

    def start(self: Any) -> None:
        original_start(self)
        if self._tool is not None:
            events = sys.monitoring.events
            for event in (events.PY_START, events.PY_RETURN, events.PY_UNWIND):
                sys.monitoring.register_callback(self._tool, event, nothing)

    watch.CodeWatcher.start = start  # type: ignore[method-assign]


def _watched_extras() -> None:
    """Watched calls recorded without their `before` and `facts` callbacks (the handler
    reached, a layer's facts)."""
    import tracer.watch as watch

    original = watch.CodeWatcher.watch

    def watch_plainly(self: Any, code: Any, role: str, before: Any = None,
                      facts: Any = None) -> None:
        original(self, code, role)

    watch.CodeWatcher.watch = watch_plainly  # type: ignore[method-assign]


def _window() -> None:
    """3.11: the catching window never opens (no tracing mode, no watched calls); 3.12+
    has no window, and this takes nothing away there."""
    import tracer.watch as watch

    original = watch.CodeWatcher.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        catching = self.catching
        self.catching = lambda start=True: catching(False)

    watch.CodeWatcher.__init__ = init  # type: ignore[method-assign]


def _reprs() -> None:
    """The reprs made through the recorder's Python (results, notes, secret-named values)
    are a constant; arguments the compiled core writes itself are not."""
    import tracer.recorder as recorder
    import tracer.saferepr as saferepr

    def constant(value: Any, *, redact: bool = True) -> str:
        return "x"

    saferepr.safe_repr = constant
    recorder.safe_repr = constant  # type: ignore[attr-defined]


def _environ() -> None:
    """The request's environ is neither described nor searched for secrets."""
    import tracer.frameworks.wsgi.hooks as wsgi_hooks
    import tracer.secret_values as secret_values

    wsgi_hooks.environ_detail = lambda environ, recorder: {}  # type: ignore[assignment]
    secret_values.environ_secrets = lambda environ, body: set()  # type: ignore[assignment]
    if hasattr(wsgi_hooks, "environ_secrets"):
        wsgi_hooks.environ_secrets = secret_values.environ_secrets  # type: ignore[attr-defined]


def _quotable_lines() -> None:
    """No line of Flask's functions is watched for `explain` to quote."""
    import tracer.frameworks.flask.hooks as flask_hooks

    flask_hooks.quotable_lines = dict  # type: ignore[assignment]


def _facts() -> None:
    """Facts and notes (`Recorder.annotate`, `Recorder.note`) are not stored."""
    from tracer.recorder import Recorder

    Recorder.annotate = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    Recorder.note = lambda self, *args, **kwargs: None  # type: ignore[method-assign]


def _signals() -> None:
    """Flask's signals are sent unrecorded."""
    from tracer.frameworks.flask.hooks import FlaskHooks

    FlaskHooks._signal_send = (  # type: ignore[method-assign]
        lambda self, name, send: send)


#: name -> the patch taking that piece away.
ABLATIONS: dict[str, Callable[[], None]] = {
    "view-chain": _view_chain,
    "proxies": _proxies,
    "watched-calls": _watched_calls,
    "watched-extras": _watched_extras,
    "window": _window,
    "reprs": _reprs,
    "environ": _environ,
    "quotable-lines": _quotable_lines,
    "facts": _facts,
    "signals": _signals,
}


def apply(names: list[str]) -> None:
    """Take the named pieces away (before the recording is installed)."""
    for name in names:
        ABLATIONS[name]()
