"""The server's side of a live recording into a trace store: one row per request.

`StoreSpool` is `Spool` with its file writes replaced by store writes: the same thread,
the same batches taken off the recorder, the same counts on stop, but each request is a
transaction in one SQLite file that holds the registration and sources once. The request
list of the recorder is the writer's queue: a request leaves it only once committed (or
counted as failed), so what a stop leaves there is what was dropped, and said so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.live.spool import Events, Spool
from tracer.store import Retention, StoreWriter

if TYPE_CHECKING:
    from tracer.model import Trace
    from tracer.recorder import Recorder


#: Finished requests waiting to be written beyond which a new request waits (at most
#: `MAX_WAIT` seconds) before it runs: the backlog, and so the server's memory, stays
#: bounded however long the load lasts, at the price of latency while it is full.
MAX_PENDING = 256
MAX_WAIT = 2.0
#: Requests waiting for room run again once the backlog is down to this. Waking them at
#: every commit instead woke all of them to find the backlog full again, which under 16
#: busy threads cost more than the writes; and the writer, alone while they wait, never
#: waits for the interpreter lock at each SQLite call (16 client threads, as in
#: `bench_store.py`: 0.30x plain Werkzeug woken at every commit, 0.39x at half the
#: backlog, 0.42x at an eighth).
RESUME_AT = MAX_PENDING // 8


class StoreSpool(Spool):
    """Writes each finished request into the store at `store` and reports it."""

    def __init__(self, recorder: Recorder, directory: Path, events: Events, app: str,
                 store: Path, retention: Retention) -> None:
        super().__init__(recorder, directory, events, app)
        self.store = store
        self.retention = retention
        self.pruned = 0
        self.writer = StoreWriter(store, retention=retention, on_problem=self._problem)
        self._waiting = 0  # requests waiting for room in the backlog (under `_changed`)

    def request_started(self) -> None:
        """When the backlog is full, wait until it is down to `RESUME_AT` (never longer
        than `MAX_WAIT`)."""
        with self._changed:
            if len(self.recorder.requests) >= MAX_PENDING:
                self._waiting += 1
                try:
                    self._changed.wait_for(
                        lambda: self._closed or len(self.recorder.requests) <= RESUME_AT,
                        MAX_WAIT)
                finally:
                    self._waiting -= 1
        super().request_started()

    def _write(self, trace: Trace, request: Any) -> None:
        """Commit the request, then count it: requests come and go meanwhile. A commit
        that ends after a stop has counted leaves it counted as dropped, though stored."""
        if self._closed:
            return
        result = self.writer.write(trace, [request])
        with self._changed:
            if self._closed:
                return
            if result.ids:
                self._reported_row(result.ids[0], request)
            self._done(written=bool(result.ids))
        self._pruned(result.pruned)

    def _done(self, *, written: bool) -> None:
        super()._done(written=written)
        if self._waiting and len(self.recorder.requests) <= RESUME_AT:
            self._changed.notify_all()

    def _pruned(self, count: int) -> None:
        if count:
            self.pruned += count
            self.events.send("pruned", count=count, store=str(self.store),
                             keeping=self.retention.describe())

    def close(self, timeout: float) -> tuple[int, int, int]:
        written, failed, dropped = super().close(timeout)
        try:
            self.writer.add_count("dropped", dropped)
            self._pruned(self.writer.apply_retention())  # the last requests count too
        finally:
            self.writer.close()
        return written, failed, dropped

    def _reported_row(self, row: int, request: Any) -> None:
        self.events.send(
            "request", store=str(self.store), id=row, method=request.method,
            path=request.path, query=request.query, status=request.status,
            outcome=request.outcome, endpoint=request.endpoint,
            duration_ms=round(request.duration_ns / 1e6, 3), steps=len(request.steps),
            thread=request.thread,
        )
