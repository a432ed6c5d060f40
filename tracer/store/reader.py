"""Read a store: request rows to list and filter, and `tracer.model` traces rebuilt.

A stored request is rebuilt as a whole `Trace` (its registration, routes and sources
joined back in), so every command that reads a trace file reads a store request the same
way. For the viewer, `StoredRequests` is a sequence of requests that are read one at a
time when first asked for, while their list rows come from the table's columns alone: a
store of 100,000 requests opens as fast as a store of ten.
"""

from __future__ import annotations

import re
import sqlite3
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, overload

from tracer.errors import StoreError
from tracer.model import Registration, Request, SourceFile, Trace
from tracer.store.codec import decode_registration, decode_request, decode_source, source_ids
from tracer.store.schema import connect

_COLUMNS = ("id, method, path, query, status, endpoint, outcome, duration_ms, thread, "
            "finished, test_id, steps")
_OUTCOMES = ("ok", "not_found", "method_not_allowed", "redirect", "http_error",
             "error_status", "error")
_FILTER_KEYS = ("status", "method", "path", "endpoint", "test", "since")
_SINCE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RequestRow:
    """A stored request's columns: what a list shows without reading its steps."""

    id: int
    method: str
    path: str
    query: str
    status: int | None
    endpoint: str | None
    outcome: str
    duration_ms: float
    thread: int
    finished: float
    test_id: str | None
    steps: int

    def headline(self) -> Request:
        """A `Request` with these columns and no steps."""
        return Request(id=self.id, method=self.method, path=self.path, status=self.status,
                       endpoint=self.endpoint, rule=None, view_args={},
                       outcome=self.outcome if self.outcome in _OUTCOMES else "error",  # type: ignore[arg-type]
                       steps=(), query=self.query,
                       duration_ns=int(self.duration_ms * 1e6), thread=self.thread)


@dataclass(frozen=True)
class RequestFilter:
    """Which requests to list: each field None means any."""

    status: str | None = None  # "5xx", "404"
    method: str | None = None
    path: str | None = None  # a glob: "/api/*"
    endpoint: str | None = None  # a glob
    test: str | None = None  # a glob on the pytest test id
    since: str | None = None  # "10m", "2h", "1d"

    @classmethod
    def parse(cls, text: str) -> RequestFilter:
        """`status:5xx path:/api/*` (as the viewer's filter prompt takes it); empty: all.

        Raises:
            StoreError: A word that is not `key:value` with a known key.
        """
        values: dict[str, str] = {}
        for word in text.split():
            key, sep, value = word.partition(":")
            if not sep or not value or key not in _FILTER_KEYS:
                raise StoreError(f"{word!r} is not a filter; write key:value with a key of "
                                 f"{', '.join(_FILTER_KEYS)} (e.g. status:5xx path:/api/*)")
            values[key] = value
        found = cls(**values)
        found.where()  # a bad status or age is refused now, not when listing
        return found

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition and its parameters (every value bound, never pasted)."""
        clauses: list[str] = []
        values: list[Any] = []
        if self.status:
            low, high = status_range(self.status)
            clauses.append("status BETWEEN ? AND ?")
            values += [low, high]
        if self.method:
            clauses.append("method = ?")
            values.append(self.method.upper())
        for column, glob in (("path", self.path), ("endpoint", self.endpoint),
                             ("test_id", self.test)):
            if glob:
                clauses.append(f"{column} GLOB ?")
                values.append(glob)
        if self.since:
            clauses.append("finished >= ?")
            values.append(time.time() - since_seconds(self.since))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


def status_range(text: str) -> tuple[int, int]:
    """`5xx` → (500, 599); `404` → (404, 404)."""
    text = text.strip().lower()
    if re.fullmatch(r"[1-5]xx", text):
        return int(text[0]) * 100, int(text[0]) * 100 + 99
    if re.fullmatch(r"[1-5]\d\d", text):
        return int(text), int(text)
    raise StoreError(f"--status {text!r} is neither a status (404) nor a class (5xx)")


def since_seconds(text: str) -> float:
    match = _SINCE.match(text.strip())
    if not match:
        raise StoreError(f"--since {text!r} is not a duration; write it like 30s, 10m, 2h or 1d")
    return float(match[1]) * _SECONDS[match[2]]


class StoreReader:
    """Reads the store at `path`; every value read is checked before it is used."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection = connect(self.path)
        # A reader a lazy trace still holds (`view`) is closed when it goes, not left for
        # the connection's own finalizer, which warns from Python 3.13 on.
        weakref.finalize(self, self._connection.close)
        self._registrations: dict[int, Trace] = {}

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, where: RequestFilter | None = None, limit: int | None = None
             ) -> list[RequestRow]:
        """Matching requests, newest first."""
        condition, values = (where or RequestFilter()).where()
        sql = f"SELECT {_COLUMNS} FROM requests{condition} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            values = [*values, limit]
        return [_row(found) for found in self._query(sql, values)]

    def ids(self, where: RequestFilter | None = None) -> list[int]:
        """The ids of matching requests, newest first (all a list needs up front)."""
        condition, values = (where or RequestFilter()).where()
        found = self._query(f"SELECT id FROM requests{condition} ORDER BY id DESC", values)
        return [row[0] for row in found if isinstance(row[0], int)]

    def rows_by_id(self, ids: Sequence[int]) -> dict[int, RequestRow]:
        """The rows with these ids (those still stored)."""
        marks = ",".join("?" * len(ids))
        rows = map(_row, self._query(f"SELECT {_COLUMNS} FROM requests WHERE id IN ({marks})",
                                     list(ids)))
        return {row.id: row for row in rows}

    def count(self, name: str) -> int:
        """A counter: `failed`, `dropped` or `pruned` requests over the store's life."""
        found = self._query("SELECT value FROM counters WHERE name = ?", [name])
        return int(found[0][0]) if found and isinstance(found[0][0], int) else 0

    def request_trace(self, request_id: int) -> Trace:
        """The standalone trace of one stored request (its id is the store's).

        Raises:
            StoreError: No such request, or its row is damaged.
        """
        found = self._query("SELECT registration, sources, data FROM requests WHERE id = ?",
                            [request_id])
        if not found:
            newest = self._query("SELECT max(id) FROM requests", [])[0][0]
            raise StoreError(f"no request {request_id} in store {str(self.path)!r} "
                             + (f"(ids run up to {newest}; `flaskscope requests "
                                f"{self.path}` lists them)" if newest else "(it is empty)"))
        registration_id, sources, data = found[0]
        base = self._registration(registration_id)
        request = replace(decode_request(data), id=request_id)
        merged = dict(base.sources)
        merged.update(self.sources(source_ids(sources)))
        return replace(base, requests=(request,), sources=merged)

    def newest_id(self) -> int | None:
        found = self._query("SELECT max(id) FROM requests", [])
        value = found[0][0] if found else None
        return value if isinstance(value, int) else None

    def trace(self, where: RequestFilter | None = None) -> Trace:
        """Every matching request, newest first, read when first asked for; the newest
        registration; the sources of the store."""
        rows = LazyRows(self, self.ids(where))
        registration = self._newest_registration()
        return replace(registration, requests=StoredRequests(self, rows),  # type: ignore[arg-type]
                       sources=_AllSources(self))

    def sources(self, ids: Sequence[int]) -> dict[str, SourceFile]:
        """The source files with these ids, by path."""
        found: dict[str, SourceFile] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for path, sha256, lines in self._query(
                    f"SELECT path, sha256, lines FROM sources WHERE id IN ({marks}) "
                    "ORDER BY id", chunk):
                if not isinstance(path, str):
                    raise StoreError("a stored source file has no path")
                found[path] = decode_source(sha256, lines)
        return found

    def all_sources(self) -> dict[str, SourceFile]:
        """Every source file stored, the lines of each path's versions merged (newest
        wins a line)."""
        merged: dict[str, SourceFile] = {}
        for path, sha256, lines in self._query(
                "SELECT path, sha256, lines FROM sources ORDER BY id", []):
            if not isinstance(path, str):
                raise StoreError("a stored source file has no path")
            source = decode_source(sha256, lines)
            old = merged.get(path)
            if old is not None and old.sha256 == source.sha256:
                source = SourceFile(source.sha256, {**old.lines, **source.lines})
            merged[path] = source
        return merged

    def _newest_registration(self) -> Trace:
        found = self._query("SELECT max(id) FROM registrations", [])
        if not found or found[0][0] is None:
            return Trace(meta={}, routes=(), registration=Registration(), requests=(),
                         sources={})
        return self._registration(found[0][0])

    def _registration(self, registration_id: Any) -> Trace:
        known = self._registrations.get(registration_id)
        if known is not None:
            return known
        found = self._query("SELECT data, sources FROM registrations WHERE id = ?",
                            [registration_id])
        if not found:
            raise StoreError(f"store {str(self.path)!r} is damaged: a request's registration "
                             "is missing")
        data, sources = found[0]
        trace = decode_registration(data)
        trace = replace(trace, sources=self.sources(source_ids(sources)))
        self._registrations[registration_id] = trace
        return trace

    def _query(self, sql: str, values: Sequence[Any]) -> list[tuple]:
        try:
            return self._connection.execute(sql, values).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read trace store {str(self.path)!r}: {exc}") from None


class LazyRows(Sequence[RequestRow]):
    """Rows by position in a list of ids, read a page at a time when first asked for."""

    PAGE = 256

    def __init__(self, reader: StoreReader, ids: list[int]) -> None:
        self.reader = reader
        self.ids = ids
        self._pages: dict[int, dict[int, RequestRow]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> RequestRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[RequestRow]: ...

    def __getitem__(self, index: int | slice) -> RequestRow | Sequence[RequestRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        wanted = self.ids[index]
        page_number = (index % len(self.ids)) // self.PAGE
        page = self._pages.get(page_number)
        if page is None:
            first = page_number * self.PAGE
            page = self._pages[page_number] = self.reader.rows_by_id(
                self.ids[first:first + self.PAGE])
        row = page.get(wanted)
        if row is None:  # dropped by retention since the list was read
            return RequestRow(wanted, "-", "(no longer stored)", "", None, None, "error",
                              0.0, 0, 0.0, None, 0)
        return row


class StoredRequests(Sequence[Request]):
    """The requests of a store, newest first: each read when first asked for, its list
    row (`rows`, a `RequestRow`) from the table's columns alone."""

    def __init__(self, reader: StoreReader, rows: Sequence[RequestRow]) -> None:
        self.reader = reader
        self.rows = rows
        self._loaded: dict[int, Request] = {}

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Request: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Request]: ...

    def __getitem__(self, index: int | slice) -> Request | Sequence[Request]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        row = self.rows[index]
        request = self._loaded.get(row.id)
        if request is None:
            request = self.reader.request_trace(row.id).requests[0]
            self._loaded[row.id] = request
        return request

    def __iter__(self) -> Iterator[Request]:
        return (self[i] for i in range(len(self)))

    def __add__(self, other: Sequence[Request]) -> tuple[Request, ...]:
        return (*self, *other)


class _AllSources(Mapping[str, SourceFile]):
    """The store's source files, read on first use."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self._files: dict[str, SourceFile] | None = None

    def _all(self) -> dict[str, SourceFile]:
        if self._files is None:
            self._files = self.reader.all_sources()
        return self._files

    def __getitem__(self, key: str) -> SourceFile:
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _row(found: tuple) -> RequestRow:
    """A row's columns, each checked for its type (the file may have been edited)."""
    try:
        (id_, method, path, query, status, endpoint, outcome, duration, thread, finished,
         test_id, steps) = found
        if not (isinstance(id_, int) and isinstance(method, str) and isinstance(path, str)
                and isinstance(query, str) and isinstance(outcome, str)
                and (status is None or isinstance(status, int))
                and (endpoint is None or isinstance(endpoint, str))
                and (test_id is None or isinstance(test_id, str))
                and isinstance(steps, int) and isinstance(thread, int)):
            raise TypeError
        return RequestRow(id_, method, path, query, status, endpoint, outcome,
                          float(duration), thread, float(finished), test_id, steps)
    except (TypeError, ValueError):
        raise StoreError("a stored request row is damaged") from None
