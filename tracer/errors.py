"""The one error family flaskscope raises on purpose.

The CLI catches `FlaskscopeError` once, prints its message as a single line and exits 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class FlaskscopeError(Exception):
    """A problem the user can fix; the message is a full sentence that says how."""


class TraceFileError(FlaskscopeError):
    """A trace file could not be read: missing, corrupt, foreign or too new."""


class AppLoadError(FlaskscopeError):
    """The application could not be found or imported."""


class UnsupportedVersionError(FlaskscopeError):
    """The installed framework is older than any version flaskscope can hook."""


class RequestSpecError(FlaskscopeError):
    """A request given on the command line is malformed (method, header, data)."""


class ServeError(FlaskscopeError):
    """The server could not be started (port taken, app not importable)."""


class StoreError(TraceFileError):
    """A trace store could not be opened, read or written: not a store, newer, damaged."""
