"""Install, remove and scope recording process-wide."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tracer.frameworks import (
    Hooks,
    install_adapters,
    scope_roots,
    transparent_codes,
    uninstall_adapters,
)
from tracer.lines import LineEngine, Scope, registration_window
from tracer.recorder import DEFAULT_MAX_STEPS, Recorder, mute_collections
from tracer.watch import CodeWatcher

_lock = threading.Lock()
_installed: tuple[Recorder, CodeWatcher, list[Hooks], LineEngine | None] | None = None


def default_scope(app_roots: Sequence[str] = (), include: Sequence[str] = (),
                  exclude: Sequence[str] = ()) -> Scope:
    """Flask, Werkzeug and the app's own directories, adjusted by file globs."""
    roots = tuple(os.path.join(os.path.abspath(root), "") for root in (*scope_roots(), *app_roots))
    return Scope(roots=roots, include=tuple(include), exclude=tuple(exclude))


def install(
    *,
    redact: bool = True,
    max_steps: int = DEFAULT_MAX_STEPS,
    lines: bool = False,
    scope: Scope | None = None,
) -> Recorder:
    """Patch Flask (and Werkzeug, and Bottle when installed) so that registration and every
    request are recorded.

    Call it before the app module is imported: routes are registered at import time.
    With `lines`, every executed line in `scope` (default: Flask, Werkzeug and the current
    directory) is recorded with the locals it changed. Installing again returns the
    recorder already installed.
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed[0]
        recorder = Recorder(redact=redact, max_steps=max_steps)
        mute_collections()
        watcher = CodeWatcher(recorder)
        watcher.start()
        engine = None
        if lines:
            engine = LineEngine(recorder, watcher, scope or default_scope([os.getcwd()]),
                                transparent_codes())
            engine.start()
            recorder.meta["lines"] = True
        hooks = install_adapters(recorder, watcher, engine)
        _installed = (recorder, watcher, hooks, engine)
        return recorder


def uninstall() -> None:
    """Restore every patched attribute to its original object and stop catching calls."""
    global _installed
    with _lock:
        if _installed is None:
            return
        recorder, watcher, hooks, engine = _installed
        uninstall_adapters(hooks)
        if engine is not None:
            engine.stop()
        watcher.close()
        mute_collections(on=False)
        recorder.forget_built()
        recorder.track_kept()
        _installed = None


def installed() -> Recorder | None:
    """The recorder currently installed, if any."""
    return _installed[0] if _installed else None


def line_engine() -> LineEngine | None:
    """The line engine of the current installation, when lines are recorded."""
    return _installed[3] if _installed else None


@contextmanager
def record(
    *,
    redact: bool = True,
    max_steps: int = DEFAULT_MAX_STEPS,
    lines: bool = False,
    scope: Scope | None = None,
    store: str | os.PathLike[str] | None = None,
) -> Iterator[Recorder]:
    """Record inside a `with` block: install on entry, uninstall on exit.

    With `store`, the trace store there (created if missing, checked on entry) receives
    every request recorded in the block when it ends, each in its own transaction.
    """
    writer = None
    if store is not None:
        from tracer.store import StoreWriter

        writer = StoreWriter(store)
    recorder = install(redact=redact, max_steps=max_steps, lines=lines, scope=scope)
    try:
        yield recorder
    finally:
        try:
            if writer is not None:
                writer.write(recorder.trace(lazy_steps=True))
        finally:
            if writer is not None:
                writer.close()
            uninstall()


@contextmanager
def registering() -> Iterator[None]:
    """Mark app import as registration, so line tracing covers it (on this thread)."""
    engine = line_engine()
    token = registration_window.set(True)
    try:
        if engine is None:
            yield
        else:
            with engine.tracing():
                yield
    finally:
        registration_window.reset(token)
