"""The child process of `bench_viewer.py`: time one viewer start-up, from process start to
the first frame, and print the marks as JSON.

`python benchmarks/first_screen.py cli|api TRACE STARTED` (STARTED: the parent's
`time.monotonic()` just before it spawned this process). Kept apart from the benchmark
so that what it imports itself (asyncio, the trace builder) does not count.

- `cli` runs `flaskscope view TRACE` through the console script's own code path;
- `api` loads the trace and opens the viewer through the API, marking each phase.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _stop_at_first_frame(app_class: type, marks: dict[str, float]) -> None:
    """Patch the viewer to run headless at 120x40 and exit once its first frame is
    written, noting the time in `marks["screen"]`."""
    display, run = app_class._display, app_class.run

    def _display(self, screen, update) -> None:  # type: ignore[no-untyped-def]
        display(self, screen, update)
        if "screen" not in marks and update is not None:
            marks["screen"] = time.monotonic()
            self.exit()

    def _run(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        return run(self, headless=True, size=(120, 40))

    app_class._display = _display
    app_class.run = _run


def cli(path: str, marks: dict[str, float]) -> None:
    from viewer.tui.app import ViewerApp

    _stop_at_first_frame(ViewerApp, marks)
    from flaskscope.cli import main

    sys.argv = ["flaskscope", "view", path]
    try:
        main()
    except SystemExit:
        pass


def api(path: str, marks: dict[str, float]) -> None:
    import gc

    gc.disable()  # as `flaskscope view` loads (ViewerApp(freeze_gc=True) turns it back on)
    from tracer.tracefile import load
    from viewer.tui.app import ViewerApp

    marks["imported"] = time.monotonic()
    trace = load(path, lazy=True)
    marks["loaded"] = time.monotonic()
    _stop_at_first_frame(ViewerApp, marks)
    app = ViewerApp(trace, freeze_gc=True)  # as `flaskscope view` runs it
    state = app.state  # what the first screen needs, computed ahead to time it apart
    len(state.navigator.rows)
    state.values()
    state.onion()
    state.resolution()
    state.sources.get(state.location().file)
    marks["model"] = time.monotonic()
    app.run()


if __name__ == "__main__":
    mode, trace_path, started = sys.argv[1:4]
    found = {"process": float(started)}
    {"cli": cli, "api": api}[mode](trace_path, found)
    print(json.dumps(found))
