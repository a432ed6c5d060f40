"""Write requests into a store, each in its own transaction.

A request is committed whole or not at all, so a process killed mid-write loses at most
the request being written and the next open finds a sound store. The registration and
each source file are stored once, by content hash, and every request refers to them; a
writer remembers what it stored, so a long run hashes a registration only when it grew.
A request that cannot be written is counted in the store (`counters.failed`) and
reported to `on_problem`; the next one is written as usual.

Retention, in this process or another, may delete a registration or source row that this
writer remembers. So the transaction that stores a request first checks that no shared
row went since the writer last looked (`shared_generation`); if one did, the writer
forgets what it remembers, stores the shared rows again and retries.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracer.model import Request, SourceFile, Trace
from tracer.store.codec import (
    encode_registration,
    encode_request,
    encode_source,
    registration_meta,
)
from tracer.store.retention import SHARED_GENERATION, Retention, shared_generation
from tracer.store.schema import connect

#: A request's row, stored only if no shared row was deleted since the writer looked:
#: one statement, so one transaction (SQLite takes the write lock before it reads) and
#: one call into SQLite, which lets go of the interpreter lock, per request.
_INSERT_REQUEST = (
    "INSERT INTO requests (registration, method, path, query, status, endpoint, outcome, "
    "duration_ms, thread, finished, test_id, writer, steps, sources, data) "
    "SELECT ?,?,?,?,?,?,?,?,?,?,?,?,?,?,? "
    "WHERE coalesce((SELECT value FROM counters WHERE name = ?), 0) = ?")


@dataclass
class WriteResult:
    """What one `StoreWriter.write` call did."""

    ids: list[int] = field(default_factory=list)  # store ids, in the order given
    failed: int = 0
    pruned: int = 0


class StoreWriter:
    """Appends requests to the store at `path` (created when missing).

    Thread-safe: calls are serialized. Two writers (two processes) share a store through
    SQLite's locking; each waits for the other's transaction to end.
    """

    def __init__(self, path: str | os.PathLike[str], *, retention: Retention | None = None,
                 on_problem: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.retention = retention or Retention()
        self.on_problem = on_problem or (lambda message: None)
        self._connection = connect(self.path, create=True)
        weakref.finalize(self, self._connection.close)  # a writer let go of unclosed
        self._lock = threading.Lock()
        self._registrations: dict[tuple, int] = {}
        self._sources: dict[tuple[str, str, frozenset[int]], int] = {}
        #: id(source file) -> (it, its path, its row), for the files of the last trace: a
        #: recorder hands the same `SourceFile` again while a file's recorded lines are
        #: unchanged, and keying it anew hashes every line number it holds.
        self._source_rows: dict[int, tuple[SourceFile, str, int]] = {}
        self._since_retention = 0
        self._last_trace: tuple[Trace, int, str] | None = None
        #: The `shared_generation` the remembered rows were checked against (None: to read).
        self._generation: int | None = None

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def write(self, trace: Trace, requests: Sequence[Request] | None = None, *,
              test_id: str | None = None) -> WriteResult:
        """Store `requests` (default: all of `trace`'s) with `trace`'s registration and
        sources; each request in a transaction of its own."""
        result = WriteResult()
        with self._lock:
            try:
                registration, sources = self._shared_rows(trace)
            except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
                count = len(trace.requests if requests is None else requests)
                self._count("failed", count)
                self.on_problem(f"{count} request(s) could not be stored: "
                                f"{type(exc).__name__}: {exc}")
                result.failed = count
                return result
            for request in trace.requests if requests is None else requests:
                stored = self._store_request(trace, request, registration, sources, test_id)
                if stored is None:
                    result.failed += 1
                else:
                    result.ids.append(stored)
            self._since_retention += len(result.ids)
            if self._since_retention >= self.retention.interval:
                self._since_retention = 0
                result.pruned = self._apply_retention()
        return result

    def count(self, name: str) -> int:
        """A counter of this store: `failed`, `dropped` or `pruned`."""
        with self._lock:
            row = self._connection.execute(
                "SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def add_count(self, name: str, amount: int) -> None:
        """Count requests lost outside the writer (dropped when a server stopped)."""
        if amount:
            with self._lock:
                self._count(name, amount)

    def apply_retention(self) -> int:
        """Drop the oldest requests past the limits now; how many went."""
        with self._lock:
            return self._apply_retention()

    # -- inside the lock -----------------------------------------------------------------

    def _store_request(self, trace: Trace, request: Request, registration: int, sources: str,
                       test_id: str | None) -> int | None:
        """The request's new id, storing the shared rows again if retention deleted some
        since they were looked up; None if it could not be stored."""
        for _ in range(_TRIES):
            try:
                return self._write_request(request, registration, sources, test_id)
            except _SharedRowsGone:
                self._forget_shared_rows()
            try:
                registration, sources = self._shared_rows(trace)
            except (sqlite3.Error, ValueError, TypeError, OverflowError) as exc:
                self._failed(request, exc)
                return None
        self._failed(request, _SharedRowsGone(
            f"another writer's retention deleted its registration {_TRIES} times running"))
        return None

    def _write_request(self, request: Request, registration: int, sources: str,
                       test_id: str | None) -> int | None:
        """The request's new id; None if it could not be stored.

        Raises:
            _SharedRowsGone: Shared rows were deleted since `registration` and `sources`
                were looked up.
        """
        connection = self._connection
        try:
            data = encode_request(request)
            row = (registration, request.method, request.path, request.query,
                   request.status, request.endpoint, request.outcome,
                   round(request.duration_ns / 1e6, 3), request.thread,
                   _wall_time(request), test_id, os.getpid(), len(request.steps),
                   sources, data)
            cursor = connection.execute(_INSERT_REQUEST,
                                        (*row, SHARED_GENERATION, self._generation))
            if cursor.rowcount == 0:
                raise _SharedRowsGone
            return cursor.lastrowid
        except _SharedRowsGone:
            raise
        except Exception as exc:  # a bad request never stops the writer
            self._failed(request, exc)
            return None

    def _failed(self, request: Request, exc: Exception) -> None:
        """Count and report a request that could not be stored."""
        try:
            self._count("failed", 1)
        except sqlite3.Error:
            pass
        self.on_problem(f"request {request.method} {request.path} could not be stored: "
                        f"{type(exc).__name__}: {exc}")

    def _forget_shared_rows(self) -> None:
        self._registrations.clear()
        self._sources.clear()
        self._source_rows.clear()
        self._last_trace = None
        self._generation = None

    def _shared_rows(self, trace: Trace) -> tuple[int, str]:
        """The registration row and source rows of `trace`, worked out once per trace
        (a live server writes a batch of requests from one trace, one at a time)."""
        if self._last_trace is not None and self._last_trace[0] is trace:
            return self._last_trace[1], self._last_trace[2]
        if self._generation is None:  # read before storing, so a deletion after shows
            self._generation = shared_generation(self._connection)
        registration = self._registration_id(trace)
        sources = ",".join(map(str, self._source_ids(trace.sources)))
        self._last_trace = (trace, registration, sources)
        return registration, sources

    def _registration_id(self, trace: Trace) -> int:
        """The row of `trace`'s registration, stored when first seen (a pytest run's
        registration grows as test modules import apps)."""
        registration = trace.registration
        key = (len(registration.steps), registration.dropped_steps, len(trace.routes),
               tuple(sorted(map(repr, registration_meta(trace.meta).items()))))
        known = self._registrations.get(key)
        if known is not None:
            return known
        data, digest = encode_registration(trace.meta, trace.routes, registration)
        own = {path: trace.sources[path] for path in _registration_files(trace)
               if path in trace.sources}
        sources = ",".join(map(str, self._source_ids(own)))
        with self._transaction():
            self._connection.execute(
                "INSERT OR IGNORE INTO registrations (hash, data, sources) VALUES (?,?,?)",
                (digest, data, sources))
        row = self._connection.execute(
            "SELECT id FROM registrations WHERE hash = ?", (digest,)).fetchone()
        self._registrations[key] = int(row[0])
        return int(row[0])

    def _source_ids(self, sources: dict[str, SourceFile] | object) -> list[int]:
        ids = []
        new = []
        rows: dict[int, tuple[SourceFile, str, int]] = {}
        for path, source in getattr(sources, "items", dict)():
            same = self._source_rows.get(id(source))
            if same is not None and same[0] is source and same[1] == path:
                ids.append(same[2])
                rows[id(source)] = same
                continue
            key = (path, source.sha256, frozenset(source.lines))
            known = self._sources.get(key)
            if known is None:
                new.append((key, source, *encode_source(path, source)))
            else:
                ids.append(known)
                rows[id(source)] = (source, path, known)
        if new:
            with self._transaction():
                for (path, sha256, _), _, data, digest in new:
                    self._connection.execute(
                        "INSERT OR IGNORE INTO sources (hash, path, sha256, lines) "
                        "VALUES (?,?,?,?)", (digest, path, sha256, data))
            for key, source, _, digest in new:
                row = self._connection.execute(
                    "SELECT id FROM sources WHERE hash = ?", (digest,)).fetchone()
                self._sources[key] = int(row[0])
                ids.append(int(row[0]))
                rows[id(source)] = (source, key[0], int(row[0]))
        self._source_rows = rows
        return sorted(ids)

    def _apply_retention(self) -> int:
        try:
            pruned = self.retention.apply(self._connection)
        except sqlite3.Error as exc:
            self.on_problem(f"old requests could not be dropped: {exc}")
            return 0
        if pruned:
            self._forget_shared_rows()  # an unused registration may have gone with them
        return pruned

    def _count(self, name: str, amount: int) -> None:
        with self._transaction():
            self._connection.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, amount))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection)


class _SharedRowsGone(Exception):
    """Retention deleted registrations or sources since the writer looked them up."""


#: How often a request is tried (each try after the first stores the shared rows anew;
#: only another process's retention, running in between, can make a try stale again).
_TRIES = 3


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")


def _registration_files(trace: Trace) -> set[str]:
    files = {step.file for step in trace.registration.steps if step.file}
    files.update(link.file for route in trace.routes for link in route.chain if link.file)
    return files


def _wall_time(request: Request) -> float:
    """When the request finished, by the wall clock (steps are timed by perf_counter)."""
    now = time.time()
    if not request.start_ns:
        return now
    ago = (time.perf_counter_ns() - request.start_ns - request.duration_ns) / 1e9
    return now - max(0.0, ago)
