"""The trace a server's `request` event names, for whoever shows it live (the terminal
viewer, the `--web` page): the request's own file (`--record-dir`), or its row in the
trace store, read through one reader opened with the first request from it."""

from __future__ import annotations

from typing import Any

from tracer.model import Trace


class EventTraces:
    """`traces.of(event)`: the trace of one `request` event."""

    def __init__(self) -> None:
        self._reader: Any = None

    def of(self, event: dict[str, Any]) -> Trace:
        """Raises `FlaskscopeError` (one line) when the file or row cannot be read."""
        if "store" not in event:
            from tracer.tracefile import load

            return load(event["file"])
        from tracer.store import StoreReader

        if self._reader is None:
            self._reader = StoreReader(event["store"])
        return self._reader.request_trace(int(event["id"]))
