"""flaskscope's tracer: record what Flask (and Werkzeug, Bottle, any WSGI app) does while
it registers routes and serves requests, and read and write the trace files every other
part consumes. What each framework is lies in `tracer.frameworks.<name>`.

The rule of this package: it presents nothing; it never imports `viewer`, `flaskscope` or
any UI toolkit, and its core (outside `tracer.frameworks`) imports no framework.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracer.api import install, installed, record, uninstall
    from tracer.errors import AppLoadError, FlaskscopeError, RequestSpecError, TraceFileError
    from tracer.model import ChainLink, Registration, Request, Role, Route, SourceFile, Step, Trace
    from tracer.recorder import Recorder
    from tracer.session import Recording, record_app
    from tracer.tracefile import load, loads, save, schema

#: Where each public name lives. Loaded on first use (PEP 562), so reading a trace
#: (`tracer.model`, `tracer.tracefile`) never imports Flask or the hooks.
_HOMES = {
    "install": "api", "installed": "api", "record": "api", "uninstall": "api",
    "AppLoadError": "errors", "FlaskscopeError": "errors", "RequestSpecError": "errors",
    "TraceFileError": "errors",
    "ChainLink": "model", "Registration": "model", "Request": "model", "Role": "model",
    "Route": "model", "SourceFile": "model", "Step": "model", "Trace": "model",
    "Recorder": "recorder",
    "Recording": "session", "record_app": "session",
    "load": "tracefile", "loads": "tracefile", "save": "tracefile", "schema": "tracefile",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # a submodule, as `tracer.tracefile` worked before it was imported
        try:
            return import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'tracer' has no attribute {name!r}") from None
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "AppLoadError",
    "ChainLink",
    "FlaskscopeError",
    "Recorder",
    "Recording",
    "Registration",
    "Request",
    "RequestSpecError",
    "Role",
    "Route",
    "SourceFile",
    "Step",
    "Trace",
    "TraceFileError",
    "install",
    "installed",
    "load",
    "loads",
    "record",
    "record_app",
    "save",
    "schema",
    "uninstall",
]
