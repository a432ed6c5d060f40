"""The server's side of a live recording: one trace file per finished request.

`Spool` takes finished requests off the recorder and writes each as a trace file of its
own, named by `trace_file_name`; `Events` tells the parent what happened, one JSON line
per event. Messages are sent as they are: whoever shows them makes them safe for a
terminal (a problem's message quotes what the client sent).
"""

from __future__ import annotations

import copy
import gc
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.jsonline import json_line

if TYPE_CHECKING:
    from tracer.model import Trace
    from tracer.recorder import Recorder

_TRACE_NAME = re.compile(r"^(\d+)-")
#: Requests turned into traces at once: each batch is quick to build, so a stopping
#: server checks its deadline often.
_BATCH = 32
_PATH_WORDS = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")


def trace_file_name(request_id: int, method: str, path: str) -> str:
    """`0007-GET-shop-products.json`: sorted by arrival, readable at a glance.

    Method and path come from the client, so only letters, digits, `_` and single dots
    between them survive: the name never holds a separator, `..` or a control character,
    and never leaves the record directory.
    """
    if not (method.isascii() and method.isalpha() and len(method) <= 16):
        method = "OTHER"
    words = "-".join(_PATH_WORDS.findall(path))[:60].rstrip("-.")
    return f"{request_id:04d}-{method}-{words or 'root'}.json"


def next_free_id(directory: Path) -> int:
    """The first request number no trace file in `directory` uses yet (files from an
    earlier run, or from before a reload, are never overwritten)."""
    numbers = [int(match.group(1)) for match in map(_TRACE_NAME.match, os.listdir(directory))
               if match]
    return max(numbers, default=-1) + 1


class Events:
    """The server's side of the pipe: one JSON object per line, from any thread."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8", closefd=False)
        self._lock = threading.Lock()
        self._holder: int | None = None  # the thread whose events `holding` keeps
        self._held: list[str] = []

    def send(self, event: str, **fields: Any) -> None:
        line = json_line({"event": event, **fields}).decode()
        with self._lock:
            if self._holder == threading.get_ident():
                self._held.append(line)
            else:
                self._write(line)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Send this thread's events of the block in one write, at its end. A write lets
        go of the interpreter lock, and under busy request threads getting it back took
        longer than the write: one per request cost `serve --store` a sixth of its
        throughput."""
        with self._lock:
            self._holder = threading.get_ident()
        try:
            yield
        finally:
            with self._lock:
                self._holder = None
                self._send_held()

    def release_held(self) -> None:
        """Send the events `holding` keeps now: a stop that counts a request as written
        must not leave its event behind in a thread the exit ends."""
        with self._lock:
            self._send_held()

    def _send_held(self) -> None:
        if self._held:
            text, self._held = "".join(self._held), []
            self._write(text)

    def _write(self, text: str) -> None:
        """Write and flush (hold `_lock`)."""
        try:
            self._file.write(text)
            self._file.flush()
        except (OSError, ValueError):
            pass  # the console is gone; the server keeps serving until stopped


class Spool:
    """Takes finished requests off the recorder and writes one trace file per request.

    Runs on its own thread, woken after each response: writing never delays a response,
    and the requests list drained here never grows however long the server runs. A trace
    that cannot be written is reported (a `problem` event) and counted, and the next one is
    written: recording never stops silently. Every request that came in ends up written,
    failed, or dropped by `close`, and the counts say which.
    """

    def __init__(self, recorder: Recorder, directory: Path, events: Events, app: str) -> None:
        self.recorder = recorder
        self.directory = directory
        self.events = events
        self.app = app
        self.next_id = next_free_id(directory)
        self.written = 0
        self.failed = 0
        self._started = 0  # requests that came in
        self._running = 0  # requests whose response is not closed yet
        # Guards the counts, and the moment a trace counts as written: its rename.
        self._changed = threading.Condition()
        self._deadline: float | None = None  # once stopping: write nothing after it
        self._closed = False
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one writer at a time
        self._thread = threading.Thread(target=self._run, name="flaskscope-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def request_started(self) -> None:
        with self._changed:
            self._started += 1
            self._running += 1

    def request_finished(self) -> None:
        """A response was closed: its trace is ready to be written."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # never let bookkeeping take recording down
                self._problem(f"writing traces failed: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Write every request finished so far."""
        with self._lock:
            self._drain()

    def close(self, timeout: float) -> tuple[int, int, int]:
        """Stop: let running requests finish and write every pending trace, within
        `timeout` seconds in all. How many traces were written, could not be written, and
        were dropped (pending or running at the deadline), over the server's life."""
        deadline = time.monotonic() + timeout
        with self._changed:
            finished = self._changed.wait_for(lambda: self._running <= 0, min(timeout, 0.2))
        if not finished:
            # A response the server dropped unclosed (a client gone mid-write) is finished
            # by its finalizer, which a reference cycle holds back until a collection.
            gc.collect()
            with self._changed:
                self._changed.wait_for(lambda: self._running <= 0,
                                       max(0.0, deadline - time.monotonic()))
        self._deadline = deadline  # a flush under way on the spool thread stops there too
        if self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                self._drain()
            finally:
                self._lock.release()
        with self._changed:  # a write still under way now is not renamed, so not counted
            self._closed = True
            self._changed.notify_all()  # a request waiting for room runs now
            self.events.release_held()  # the events of the requests counted as written
            pending = len(self.recorder.requests)
            # A request still streaming its response is filed already: count it once.
            dropped = max(pending, self._started - self.written - self.failed)
            return self.written, self.failed, dropped

    def _drain(self) -> None:
        """Write the finished requests a batch at a time, until none is left or, once
        stopping, until the deadline."""
        while batch := self.recorder.requests[:_BATCH]:
            if self._stopped():
                return
            with self.events.holding():
                self._write_batch(batch)

    def _stopped(self) -> bool:
        return self._closed or (self._deadline is not None
                                and time.monotonic() >= self._deadline)

    def _write_batch(self, batch: list[Any]) -> None:
        """Write the traces of `batch`, the first requests of the recorder's list, taking
        each off it as it is written or fails: what stays there is what was dropped."""
        try:
            trace = self._snapshot(batch)
        except Exception as exc:
            with self._changed:
                self.failed += len(batch)
                self.recorder.let_go(len(batch))
            self._problem(f"{len(batch)} request traces could not be built and are lost: "
                          f"{type(exc).__name__}: {exc}")
            return
        for request in trace.requests:
            if self._stopped():
                return
            self._write(trace, request)

    def _snapshot(self, batch: list[Any]) -> Trace:
        """The trace of `batch` alone: `Recorder.trace` freezes every request it holds, so
        it is asked through a shallow copy holding just these."""
        view = copy.copy(self.recorder)
        view.requests = batch
        return view.trace(app=self.app, lazy_steps=True)

    def _write(self, trace: Trace, request: Any) -> None:
        """Write one request's trace under a temporary name, then rename it and report
        it; a failure is reported and counted instead."""
        from tracer.tracefile import save

        request = replace(request, id=self.next_id)
        self.next_id += 1
        path = self.directory / trace_file_name(request.id, request.method, request.path)
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            save(replace(trace, requests=(request,)), temporary)
            if self._commit(temporary, path, request):
                return
        except Exception as exc:
            with self._changed:
                if not self._closed:
                    self._done(written=False)
            self._problem(f"the trace of request #{request.id} ({request.method} "
                          f"{request.path}) was not written: {type(exc).__name__}: {exc}")
        with suppress(OSError):
            temporary.unlink()

    def _commit(self, temporary: Path, path: Path, request: Any) -> bool:
        """Rename the written trace into place, report and count it, at one moment the
        counts of `close` see whole; False if the server stopped meanwhile (dropped)."""
        with self._changed:
            if self._closed:
                return False
            os.replace(temporary, path)
            self._reported(path, request)
            self._done(written=True)
            return True

    def _done(self, *, written: bool) -> None:
        """Count the first pending request as written or failed, and take it off the list
        (the holder of `_lock` alone takes from the front; call with `_changed` held)."""
        if written:
            self.written += 1
        else:
            self.failed += 1
        self.recorder.let_go(1)

    def _reported(self, path: Path, request: Any) -> None:
        self.events.send(
            "request", file=str(path), id=request.id, method=request.method,
            path=request.path, query=request.query, status=request.status,
            outcome=request.outcome, endpoint=request.endpoint,
            duration_ms=round(request.duration_ns / 1e6, 3), steps=len(request.steps),
            thread=request.thread,
        )

    def _problem(self, message: str) -> None:
        self.events.send("problem", message=message)


def save_atomically(trace: Trace, path: Path, save: Callable[[Trace, Path], Any]) -> None:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    save(trace, temporary)
    os.replace(temporary, path)

