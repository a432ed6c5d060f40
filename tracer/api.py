"""Install, remove and scope recording process-wide."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .frameworks.flask import FlaskHooks
from .recorder import DEFAULT_MAX_STEPS, Recorder
from .watch import CodeWatcher

_lock = threading.Lock()
_installed: tuple[Recorder, CodeWatcher, FlaskHooks] | None = None


def install(*, redact: bool = True, max_steps: int = DEFAULT_MAX_STEPS) -> Recorder:
    """Patch Flask so that registration and every request are recorded.

    Call it before the app module is imported: routes are registered at import time.
    Installing again returns the recorder already installed.
    """
    global _installed
    with _lock:
        if _installed is not None:
            return _installed[0]
        recorder = Recorder(redact=redact, max_steps=max_steps)
        watcher = CodeWatcher(recorder)
        watcher.start()
        hooks = FlaskHooks(recorder, watcher)
        hooks.install()
        _installed = (recorder, watcher, hooks)
        return recorder


def uninstall() -> None:
    """Restore every patched attribute to its original object and stop catching calls."""
    global _installed
    with _lock:
        if _installed is None:
            return
        _, watcher, hooks = _installed
        hooks.uninstall()
        watcher.close()
        _installed = None


def installed() -> Recorder | None:
    """The recorder currently installed, if any."""
    return _installed[0] if _installed else None


@contextmanager
def record(*, redact: bool = True, max_steps: int = DEFAULT_MAX_STEPS) -> Iterator[Recorder]:
    """Record inside a `with` block: install on entry, uninstall on exit."""
    recorder = install(redact=redact, max_steps=max_steps)
    try:
        yield recorder
    finally:
        uninstall()
