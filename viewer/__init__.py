"""flaskscope's terminal viewer: step through a recorded trace on the real Flask source.

The rule of this package: it reads a `tracer.model.Trace` that is already loaded and
imports nothing of the tracer but the model and `tracer.steptable` (plus
`viewer.render.short_path` and `viewer.textsafe.visible`, through which every value it
shows goes); it never imports Flask or the hooks, and its widgets do
no I/O. `flaskscope.view_command` is the one
place that loads or records a trace, for the `flaskscope view` command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from viewer.tui.app import ViewerApp

__all__ = ["ViewerApp"]


def __getattr__(name: str) -> Any:
    """Import the app (and so textual) only when it is asked for."""
    if name == "ViewerApp":
        from viewer.tui.app import ViewerApp

        return ViewerApp
    raise AttributeError(f"module 'viewer' has no attribute {name!r}")
