"""flaskscope's presentation: every way of showing a trace (see README.md).

The terminal UI (`viewer.tui`), the step tree and route table, graphs, explain's rendering
and translations, check's findings, `compare` and the exports. The rule of this package:
it reads the model, the trace file and the narration items the frameworks produce, and
never imports Flask, Bottle, hooks, capture code or the command line (`flaskscope`). The
terminal UI reads a trace that is already loaded; its widgets do no I/O.
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
