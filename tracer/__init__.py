"""flaskscope's tracer: record what Flask does while it registers routes and serves
requests, and read and write the trace files every other part consumes.

The rule of this package: it never imports the viewer or any UI toolkit.
"""

from __future__ import annotations

from .api import install, installed, record, uninstall
from .errors import AppLoadError, FlaskscopeError, RequestSpecError, TraceFileError
from .model import ChainLink, Registration, Request, Role, Route, SourceFile, Step, Trace
from .recorder import Recorder
from .session import Recording, record_app
from .tracefile import load, loads, save, schema

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
