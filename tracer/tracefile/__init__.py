"""Write and read trace files: versioned JSON Lines, optionally gzip, checked on load.

The file is the contract between the recorder and every consumer (viewer, graphs,
explain, outside tools); `trace.schema.json` beside this module describes it. The first
line holds everything but the steps; then each phase (the registration, then each
request) stores its steps as one line of columns and one line of times and extras
per `CHUNK` steps. A reader that asks for `lazy=True` parses the header and the columns up
front and each chunk of extras only when a step in it is first read, so a trace of
hundreds of thousands of steps opens in a fraction of a second.

Loading never evaluates or unpickles anything, never inflates more than its caps allow
(in all, and in one line: see `load`), and every way a file can be wrong ends in one
`TraceFileError` whose message names the problem in brief. Versions 1 and 2 (one JSON
document per file) still load, through `tracer.tracefile.legacy`.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from itertools import accumulate
from operator import gt, sub
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from tracer.errors import TraceFileError
from tracer.jsonline import json_line
from tracer.model import ChainLink, Registration, Request, Route, Step, Trace
from tracer.steptable import KIND_CODES, Extra, StepTable
from tracer.tracefile import schemacheck
from tracer.tracefile.records import request_from, route_from, source_from, table_entry
from tracer.tracefile.schemacheck import shown

FORMAT = "flaskscope.trace"
#: Version 4 is version 3's layout with more request outcomes (`http_error`,
#: `error_status`). Version 5 adds optional fields: a chain link's `expression` and
#: `occurrence`, a route's `decorators_above_route`, meta's `ran_lines` and `untested`.
#: Version-3 and 4 files are read by the same code, each checked by its own schema.
VERSION = 5
#: Steps per extras line: the unit a lazy reader decodes at once.
CHUNK = 1024
_GZIP_MAGIC = b"\x1f\x8b"


# -- writing ------------------------------------------------------------------------------

#: Detail values at least this long are stored once in the `values` table.
_SHARED_VALUE_LENGTH = 24


class _Tables:
    """The file, code and value tables of the header, filled while steps are written: a
    path, a function (qualified name and file) or a long repr seen many times is stored
    once."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.codes: dict[tuple[str, int | None], int] = {}
        self.values: dict[str, int] = {}

    def detail(self, detail: Mapping[str, str]) -> dict[str, str | int]:
        return {
            name: self.values.setdefault(value, len(self.values))
            if len(value) >= _SHARED_VALUE_LENGTH else value
            for name, value in detail.items()
        }

    def file(self, path: str | None) -> int | None:
        if path is None:
            return None
        return self.files.setdefault(path, len(self.files))

    def code(self, name: str, file: str | None) -> int:
        return self.codes.setdefault((name, self.file(file)), len(self.codes))


def documents(trace: Trace) -> list[dict[str, Any]]:
    """The JSON documents of a trace file, one per line, in the current version."""
    tables = _Tables()
    registration = trace.registration
    registration_start, registration_thread = _start_of(registration.steps)
    phases = [(registration.steps, registration_start, registration_thread)] + [
        (request.steps, request.start_ns, request.thread) for request in trace.requests
    ]
    body: list[dict[str, Any]] = []
    for number, (steps, start_ns, thread) in enumerate(phases):
        if steps:
            body += _phase_documents(number, steps, start_ns, thread, tables)
    sources = {
        str(tables.file(file)): {
            "sha256": source.sha256,
            "lines": {str(n): text for n, text in source.lines.items()},
        }
        for file, source in trace.sources.items()
    }
    header = {
        "format": FORMAT,
        "version": VERSION,
        "meta": dict(trace.meta),
        "files": list(tables.files),
        "codes": [list(code) for code in tables.codes],
        "values": list(tables.values),
        "routes": [_route_json(route) for route in trace.routes],
        "registration": {
            "start_ns": registration_start,
            "thread": registration_thread,
            "steps": len(registration.steps),
            "dropped_steps": registration.dropped_steps,
        },
        "requests": [_request_json(request) for request in trace.requests],
        "sources": sources,
    }
    return [header, *body]


def dumps(trace: Trace) -> bytes:
    """The trace as compact UTF-8 JSON Lines."""
    return b"".join(map(json_line, documents(trace)))


def save(trace: Trace, path: str | Path) -> Path:
    """Write the trace; a name ending in `.gz` is written gzip-compressed."""
    path = Path(path)
    data = dumps(trace)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise TraceFileError(f"cannot write trace file {str(path)!r}: {exc.strerror}") from None
    return path


def _start_of(steps: Sequence[Step]) -> tuple[int, int]:
    """(time, thread) of the first step, (0, 0) for no steps."""
    if not steps:
        return 0, 0
    if isinstance(steps, StepTable):
        time_ns, _, _, thread = steps.extra(0)
        return time_ns, thread
    return steps[0].time_ns, steps[0].thread


def _phase_documents(number: int, steps: Sequence[Step], start_ns: int, thread: int,
                     tables: _Tables) -> list[dict[str, Any]]:
    """The columns line and the extras lines of one phase."""
    if isinstance(steps, StepTable):
        return _table_documents(number, steps, start_ns, thread, tables)
    up, kinds, codes, lines, stamps, roles, extras = [], [], [], [], [], [], []
    for position, step in enumerate(steps):
        up.append(0 if step.parent is None else position - step.parent)
        kinds.append(KIND_CODES[step.kind])
        codes.append(tables.code(step.name, step.file))
        lines.append(step.line)
        stamps.append(step.time_ns)
        if step.role:
            roles.append([position, str(step.role)])
        extras.append(_extra(step.detail, step.facts, step.thread, thread, tables))
    return _documents_of(number, start_ns, {"up": up, "kind": "".join(kinds), "code": codes,
                                            "line": lines, "role": roles}, stamps, extras)


def _table_documents(number: int, table: StepTable, start_ns: int, thread: int,
                     tables: _Tables) -> list[dict[str, Any]]:
    """`_phase_documents` read from a table's columns (a recording frozen for writing):
    no step object is built."""
    code, extra_of = tables.code, table.extra
    codes, stamps, extras = [], [], []
    for position, (name, file) in enumerate(zip(table.names, table.files, strict=True)):
        codes.append(code(name, file))
        time_ns, detail, facts, step_thread = extra_of(position)
        stamps.append(time_ns)
        extras.append(_extra(detail, facts, step_thread, thread, tables))
    up = [0 if parent is None else position - parent
          for position, parent in enumerate(table.parents)]
    roles = [[position, str(role)] for position, role in sorted(table.roles.items()) if role]
    return _documents_of(number, start_ns, {"up": up, "kind": table.kinds, "code": codes,
                                            "line": list(table.lines), "role": roles},
                         stamps, extras)


def _extra(detail: Mapping[str, str], facts: Mapping[str, Any], step_thread: int,
           thread: int, tables: _Tables) -> dict[str, Any] | None:
    """A step's entry in an extras line: its detail, facts and thread, when it has them."""
    extra: dict[str, Any] = {}
    if detail:
        extra["d"] = tables.detail(detail)
    if facts:
        extra["f"] = dict(facts)
    if step_thread != thread:
        extra["t"] = step_thread
    return extra or None


def _documents_of(number: int, start_ns: int, columns: dict[str, Any], stamps: list[int],
                  extras: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """The columns line, then an extras line per `CHUNK` steps (times as differences)."""
    times = [now - before for now, before in zip(stamps, [start_ns, *stamps], strict=False)]
    return [{"phase": number, **columns}] + [
        {"phase": number, "first": first,
         "start_ns": stamps[first - 1] if first else start_ns,
         "time": times[first:first + CHUNK], "extra": extras[first:first + CHUNK]}
        for first in range(0, len(stamps), CHUNK)
    ]


def link_document(link: ChainLink) -> dict[str, Any]:
    """One link of a route's chain as the trace file (and `routes --format json`) has it."""
    return {
        "kind": link.kind,
        "name": link.name,
        "qualname": link.qualname,
        "file": link.file,
        "line": link.line,
        "wraps": link.wraps,
        "origin": link.origin,
        "decorator": link.decorator,
        "expression": link.expression,
        "occurrence": link.occurrence,
    }


def _route_json(route: Route) -> dict[str, Any]:
    document = {
        "rule": route.rule,
        "endpoint": route.endpoint,
        "methods": list(route.methods),
        "blueprint": route.blueprint,
        "chain": [link_document(link) for link in route.chain],
        "automatic_methods": list(route.automatic_methods),
        "app": route.app,
        "strict_slashes": route.strict_slashes,
        "redirect_to": route.redirect_to,
    }
    if route.decorators_above_route:  # written only when there are: most routes have none
        document["decorators_above_route"] = [
            {"decorator": above.decorator, "qualname": above.qualname, "file": above.file,
             "line": above.line}
            for above in route.decorators_above_route
        ]
    return document


def _request_json(request: Request) -> dict[str, Any]:
    return {
        "id": request.id,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "status": request.status,
        "endpoint": request.endpoint,
        "rule": request.rule,
        "view_args": dict(request.view_args),
        "outcome": request.outcome,
        "allowed_methods": list(request.allowed_methods),
        "redirect_to": request.redirect_to,
        "error": request.error,
        "start_ns": request.start_ns,
        "duration_ns": request.duration_ns,
        "thread": request.thread,
        "dropped_steps": request.dropped_steps,
        "steps": len(request.steps),
    }


# -- reading ------------------------------------------------------------------------------


def load(path: str | Path, *, lazy: bool = False, max_bytes: int | None = None,
         max_line_bytes: int | None = None) -> Trace:
    """Read a trace file written by `save` (plain or gzip), of any known version.

    With `lazy`, the steps of a version-3 file are `StepTable`s whose detail, facts and
    threads are decoded (and checked) chunk by chunk when first read: a damaged chunk
    raises `TraceFileError` then, or from `StepTable.preload()`.

    The file is read as a stream, so a small gzip file cannot inflate into all the memory
    there is: past `max_bytes` in all (default `FLASKSCOPE_MAX_TRACE_BYTES`, else 1 GiB)
    or `max_line_bytes` in one line (`FLASKSCOPE_MAX_LINE_BYTES`, else 256 MiB; a version
    1 or 2 file is one document, capped the same way) it stops with `TraceFileError`.
    """
    caps = limits(max_bytes, max_line_bytes)
    path = Path(path)
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise TraceFileError(f"trace file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise TraceFileError(f"{str(path)!r} is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceFileError(f"cannot read trace file {str(path)!r}: {exc.strerror}") from None
    try:
        with raw, _Lines(raw, raw.peek(2)[:2] == _GZIP_MAGIC, caps) as source:
            return _read(source, lazy)
    except TraceFileError as exc:
        raise TraceFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise TraceFileError(f"cannot read trace file {str(path)!r}: {exc.strerror}") from None


def loads(data: bytes, *, lazy: bool = False, max_bytes: int | None = None,
          max_line_bytes: int | None = None) -> Trace:
    """Parse and check the bytes of a trace file (gzip inflated within the same caps as
    `load`)."""
    caps = limits(max_bytes, max_line_bytes)
    with _Lines(io.BytesIO(data), data[:2] == _GZIP_MAGIC, caps) as source:
        return _read(source, lazy)


def _read(source: _Lines, lazy: bool) -> Trace:
    head = source.line()
    try:
        header = json.loads(head, parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # not one document per line: versions 1 and 2
        return from_json(_parse_whole(_text(head + source.rest_of_document(head))))
    if _version(header) < 3:
        rest = source.rest_of_document(head)
        return from_json(header if not rest.strip() else _parse_whole(_text(head + rest)))
    # Lines stay bytes until read: json.loads takes UTF-8 bytes as they are.
    body = source.rest()
    if not (body or [head])[-1].endswith(b"\n"):
        raise TraceFileError("truncated trace: the last line is incomplete")
    return from_documents([header, *body], lazy=lazy)


# -- bounded reading -------------------------------------------------------------------------

#: The environment variables that raise (or lower) the caps on what a trace may inflate to.
MAX_TRACE_BYTES_ENV = "FLASKSCOPE_MAX_TRACE_BYTES"
MAX_LINE_BYTES_ENV = "FLASKSCOPE_MAX_LINE_BYTES"
#: Generous: a request of 200,000 steps is 8 to 16 MB of JSON, its longest line 3 to 7 MB.
DEFAULT_MAX_TRACE_BYTES = 1 << 30
DEFAULT_MAX_LINE_BYTES = 256 << 20
_SIZE = re.compile(r"\s*(\d+)\s*(?:([KMG])i?)?B?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class Limits(NamedTuple):
    """How much a trace file may inflate to, in all and in one line (bytes)."""

    total: int
    line: int


def limits(max_bytes: int | None = None, max_line_bytes: int | None = None) -> Limits:
    """The caps a load works within: the arguments given, else the environment
    variables, else the defaults."""
    return Limits(_cap(max_bytes, MAX_TRACE_BYTES_ENV, DEFAULT_MAX_TRACE_BYTES),
                  _cap(max_line_bytes, MAX_LINE_BYTES_ENV, DEFAULT_MAX_LINE_BYTES))


def _cap(given: int | None, variable: str, default: int) -> int:
    if given is None:
        text = os.environ.get(variable, "")
        if not text.strip():
            return default
        match = _SIZE.fullmatch(text)
        if match is None or int(match[1]) < 1:
            raise TraceFileError(f"{variable} must be a number of bytes such as 500000000 "
                                 f"or 512M, not {text[:40]!r}")
        return int(match[1]) * _UNITS[(match[2] or "").upper()]
    if type(given) is not int or given < 1:
        raise TraceFileError(f"a cap on trace size must be a positive number of bytes, not "
                             f"{shown(given)}")
    return given


def _size(count: int) -> str:
    for unit, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes"


def _raise_hint(variable: str, cap: int) -> str:
    return (f"if you trust the file, set {variable} higher (it is {cap}; for example "
            f"{variable}={-(-cap * 2 // (1 << 20))}M) and try again")


class _Lines:
    """The lines of a trace file, inflated as they are read when it is gzip, and never
    more bytes than the caps allow: in one line, or in all."""

    def __init__(self, raw: BinaryIO, compressed: bool, caps: Limits) -> None:
        self.stream: BinaryIO | gzip.GzipFile = (
            gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw)
        self.compressed = compressed
        self.caps = caps
        self.total = 0
        self.number = 0

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.compressed:
            self.stream.close()  # the inflater; the file itself is its opener's to close

    def line(self) -> bytes:
        """The next line, its newline kept (b"" at the end)."""
        self.number += 1
        line = self._read(self.stream.readline, self.caps.line + 1)
        if len(line) > self.caps.line and not line.endswith(b"\n"):
            raise TraceFileError(
                f"line {self.number} is longer than {_size(self.caps.line)}, the cap on one "
                f"line: {_raise_hint(MAX_LINE_BYTES_ENV, self.caps.line)}")
        return self._count(line)

    def rest(self) -> list[bytes]:
        """Every line after those read, each within the caps."""
        lines = []
        while line := self.line():
            lines.append(line)
        return lines

    def rest_of_document(self, head: bytes) -> bytes:
        """What follows `head`, the first line, in a file that is one document: all of it
        within the cap on one line, since it is parsed at once."""
        rest = self._read(self.stream.read, self.caps.line - len(head) + 1)
        if len(head) + len(rest) > self.caps.line:
            raise TraceFileError(
                f"read as one JSON document (as trace versions 1 and 2 are), the file is "
                f"longer than {_size(self.caps.line)}, the cap on one line: "
                f"{_raise_hint(MAX_LINE_BYTES_ENV, self.caps.line)}")
        return self._count(rest)

    def _read(self, read: Callable[[int], bytes], size: int) -> bytes:
        if not self.compressed:
            return read(size)
        try:
            return read(size)
        except (EOFError, OSError, zlib.error) as exc:
            raise TraceFileError(f"truncated or corrupt gzip data ({exc})") from None

    def _count(self, data: bytes) -> bytes:
        self.total += len(data)
        if self.total > self.caps.total:
            what = "inflates to" if self.compressed else "holds"
            raise TraceFileError(
                f"the trace {what} more than {_size(self.caps.total)} of JSON, the cap on "
                f"a whole trace: {_raise_hint(MAX_TRACE_BYTES_ENV, self.caps.total)}")
        return data


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFileError(f"not a trace file: not UTF-8 text (byte {exc.start})") from None


def _parse_whole(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise TraceFileError(f"truncated JSON (ends at {where})") from None
        raise TraceFileError(f"not valid JSON at {where}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise TraceFileError(f"not valid JSON: {exc}") from None


def _version(document: Any) -> int:
    """The version of a trace document (the header line from version 3 on), checked."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise TraceFileError(f"not a flaskscope trace (format is {shown(found)}, expected "
                             f"{FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise TraceFileError(f"trace version must be a whole number, found {shown(version)}")
    if version > VERSION:
        raise TraceFileError(
            f"written by a newer flaskscope (trace version {version}); this one reads up to "
            f"version {VERSION}: upgrade flaskscope to open it"
        )
    if version < 1:
        raise TraceFileError(f"unknown trace version {version}")
    return version


def from_json(document: Any) -> Trace:
    """Build a `Trace` from a parsed single-document file (versions 1 and 2)."""
    from tracer.tracefile import legacy as tracefile_legacy

    version = _version(document)
    if version >= 3:
        raise TraceFileError(f"trace version {version} is JSON Lines: read it with "
                             "from_documents")
    _check_envelope(document, version)
    try:
        if version == 1:
            return tracefile_legacy.from_v1(document)
        return tracefile_legacy.from_v2(document)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # the schema should prevent
        raise TraceFileError(f"malformed trace: {type(exc).__name__}: {exc}") from None


def from_documents(lines: Sequence[Any], *, lazy: bool = False) -> Trace:
    """Build a `Trace` from the lines of a version-3 file: the parsed header, then each
    following line as text or UTF-8 bytes (parsed when needed) or already parsed."""
    if not lines:
        raise TraceFileError("empty trace file")
    header = lines[0]
    if _version(header) < 3:
        raise TraceFileError("not a version-3 header: read single documents with from_json")
    _check_header(header)
    try:
        return _from_v3(header, lines[1:], lazy)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # the schema should prevent
        raise TraceFileError(f"malformed trace: {type(exc).__name__}: {exc}") from None


def _from_v3(header: dict, body: Sequence[Any], lazy: bool) -> Trace:
    files, values = header["files"], header["values"]
    codes = _code_tables(header["codes"], files)
    registration = header["registration"]
    phases = [("registration", registration)] + [
        (f"request {request['id']}", request) for request in header["requests"]
    ]
    tables: list[Sequence[Step]] = []
    position = 0
    for number, (where, data) in enumerate(phases):
        count = data["steps"]
        if not count:
            tables.append(())
            continue
        needed = 1 + -(-count // CHUNK)
        if position + needed > len(body):
            raise TraceFileError(f"truncated trace: the steps of {where} are missing")
        table = _phase_table(
            _PhaseInfo(number, where, count, data.get("thread", 0), position + 2),
            body[position], body[position + 1:position + needed], codes, values,
        )
        tables.append(table if lazy else tuple(table))
        position += needed
    if any(not isinstance(line, str | bytes) or line.strip() for line in body[position:]):
        raise TraceFileError(f"line {position + 2}: more lines than the header's step counts")
    return Trace(
        meta=header["meta"],
        routes=tuple(route_from(route) for route in header["routes"]),
        registration=Registration(steps=tables[0],
                                  dropped_steps=registration.get("dropped_steps", 0)),
        requests=tuple(
            request_from(request, steps)
            for request, steps in zip(header["requests"], tables[1:], strict=True)
        ),
        sources={
            table_entry(files, int(index), "file"): source_from(source)
            for index, source in header["sources"].items()
        },
    )


class _PhaseInfo:
    """Which phase a run of lines holds, where it starts, and the thread its steps
    inherit."""

    __slots__ = ("number", "where", "count", "thread", "line")

    def __init__(self, number: int, where: str, count: int, thread: int, line: int) -> None:
        self.number, self.where, self.count = number, where, count
        self.thread, self.line = thread, line


_COLUMN_KEYS = frozenset({"phase", "up", "kind", "code", "line", "role"})


def _code_tables(codes: list, files: list) -> tuple[dict[int, str], dict[int, str | None]]:
    """Code index → qualified name, and → file path (the file index checked)."""
    names: dict[int, str] = {}
    paths: dict[int, str | None] = {}
    for index, (name, file) in enumerate(codes):
        names[index] = name
        paths[index] = None if file is None else table_entry(files, file, "file")
    return names, paths


_INT = frozenset({int})
_INT_OR_NONE = frozenset({int, type(None)})


def _phase_table(phase: _PhaseInfo, columns_line: Any, extras_lines: Sequence[Any],
                 codes: tuple[dict[int, str], dict[int, str | None]], values: list
                 ) -> StepTable:
    """The columns of one phase, checked whole (every rule of the schema, fast), and
    its extras left to decode."""
    columns = _parse_line(columns_line, phase.line)
    if type(columns) is not dict or columns.keys() != _COLUMN_KEYS or (
            columns["phase"] != phase.number):
        raise TraceFileError(f"line {phase.line}: expected the step columns of {phase.where}")
    count = phase.count

    def column(name: str, types: frozenset = _INT) -> list:
        value = columns[name]
        if type(value) is not list or len(value) != count:
            raise TraceFileError(f"line {phase.line}: column {name!r} of {phase.where} must be "
                                 f"an array of {count} items")
        if not set(map(type, value)) <= types:
            raise TraceFileError(f"line {phase.line}: column {name!r} of {phase.where} holds "
                                 "something other than whole numbers")
        if (min(value, default=0) if types is _INT else min(filter(None, value), default=0)) < 0:
            raise TraceFileError(f"line {phase.line}: column {name!r} of {phase.where} holds a "
                                 "negative number")
        return value

    kinds = columns["kind"]
    if type(kinds) is not str or len(kinds) != count or not set(kinds) <= _KIND_LETTERS:
        raise TraceFileError(f"line {phase.line}: column 'kind' of {phase.where} must be "
                             f"{count} letters of {''.join(sorted(_KIND_LETTERS))}")
    up = column("up")
    if any(map(gt, up, range(count))):
        raise TraceFileError(f"line {phase.line}: a step of {phase.where} has a parent that is "
                             "not an earlier step")
    code_ids, lines = column("code"), column("line", _INT_OR_NONE)
    step_names = _look_up(code_ids, codes[0], "code", phase)
    step_files = _look_up(code_ids, codes[1], "code", phase)
    roles = columns["role"]
    if type(roles) is not list or not all(
            type(pair) is list and len(pair) == 2 and type(pair[0]) is int
            and 0 <= pair[0] < count and type(pair[1]) is str for pair in roles):
        raise TraceFileError(f"line {phase.line}: column 'role' of {phase.where} must be "
                             "[step id, role] pairs")
    if len(extras_lines) != -(-count // CHUNK):
        raise TraceFileError(f"truncated trace: extras of {phase.where} are missing")
    return StepTable(
        parents=_parents(up),
        kinds=kinds,
        names=step_names,
        files=step_files,
        lines=lines,
        roles=dict(roles),
        extras=_LazyExtras(phase, extras_lines, values),
    )


_KIND_LETTERS = frozenset(KIND_CODES.values())


def _look_up(indexes: list, table: dict, what: str, phase: _PhaseInfo) -> list:
    """The table entries the indexes point at (a dict lookup: C speed, range checked)."""
    try:
        return list(map(table.__getitem__, indexes))
    except KeyError as exc:
        raise TraceFileError(f"line {phase.line}: {what} index {exc.args[0]} of {phase.where} "
                             f"is not in the {what} table") from None


def _parents(up: list[int]) -> list[int | None]:
    """Parent ids from the `up` column (id minus parent id, 0 for a top-level step)."""
    parents: list[int | None] = list(map(sub, range(len(up)), up))
    position = -1
    try:
        while True:  # top-level steps are few: find them at C speed
            position = up.index(0, position + 1)
            parents[position] = None
    except ValueError:
        return parents


def _parse_line(line: Any, number: int) -> Any:
    if not isinstance(line, str | bytes):
        return line  # parsed already (from_documents given documents)
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise TraceFileError(f"line {number}: not valid JSON at column {exc.colno}: "
                             f"{exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise TraceFileError(f"line {number}: not valid JSON: {exc}") from None


_EXTRA_KEYS = frozenset({"d", "f", "t"})
_EXTRAS_KEYS = frozenset({"phase", "first", "start_ns", "time", "extra"})
_EMPTY: Mapping[str, Any] = {}


class _LazyExtras:
    """A phase's extras lines, each decoded and checked the first time one of its steps
    is read (or all of them by `preload`)."""

    def __init__(self, phase: _PhaseInfo, lines: Sequence[Any], values: list) -> None:
        self.phase = phase
        self.lines = list(lines)
        self.values = values
        self.chunks: list[list[tuple] | None] = [None] * len(self.lines)

    def extra(self, step_id: int) -> Extra:
        chunk = self.chunks[step_id // CHUNK]
        if chunk is None:
            chunk = self._decode(step_id // CHUNK)
        return chunk[step_id % CHUNK]

    def preload(self) -> None:
        for number, chunk in enumerate(self.chunks):
            if chunk is None:
                self._decode(number)

    def _decode(self, number: int) -> list[tuple]:
        phase = self.phase
        line = phase.line + 1 + number
        first = number * CHUNK
        expected = min(CHUNK, phase.count - first)
        text = self.lines[number]
        if text is None:  # another thread decoded it meanwhile (chunks are set first)
            return self.chunks[number]  # type: ignore[return-value]
        document = _parse_line(text, line)
        if (type(document) is not dict or document.keys() != _EXTRAS_KEYS
                or document["phase"] != phase.number or document["first"] != first
                or type(document["start_ns"]) is not int
                or type(document["extra"]) is not list or len(document["extra"]) != expected
                or type(document["time"]) is not list or len(document["time"]) != expected
                or not set(map(type, document["time"])) <= _INT
                or min(document["time"]) < 0):
            raise TraceFileError(f"line {line}: expected the times and extras of steps {first} "
                                 f"to {first + expected - 1} of {phase.where}")
        rows = []
        times = accumulate(document["time"], initial=document["start_ns"])
        next(times)
        thread = phase.thread
        for offset, (time_ns, entry) in enumerate(zip(times, document["extra"], strict=True)):
            if entry is None:
                rows.append((time_ns, _EMPTY, _EMPTY, thread))
                continue
            try:
                rows.append((time_ns, *self._entry(entry)))
            except (KeyError, TypeError, ValueError) as exc:
                raise TraceFileError(f"bad step {first + offset} in {phase.where}: {exc}") from None
        self.chunks[number] = rows
        self.lines[number] = None  # the text is no longer needed
        return rows

    def _entry(self, entry: Any) -> tuple[Mapping[str, str], Mapping[str, Any], int]:
        if type(entry) is not dict or entry.keys() - _EXTRA_KEYS:
            raise ValueError("extra must be null or an object with d, f or t")
        detail = entry.get("d", _EMPTY)
        facts = entry.get("f", _EMPTY)
        thread = entry.get("t", self.phase.thread)
        if type(detail) is not dict or type(facts) is not dict or type(thread) is not int:
            raise TypeError("detail and facts must be objects, thread a number")
        if not all(type(value) is str for value in detail.values()):
            detail = {name: value if type(value) is str else table_entry(self.values, value,
                                                                         "value")
                      for name, value in detail.items()}
        return detail, facts, thread


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a trace file")


# -- checking against the schema ---------------------------------------------------------


@cache
def schema(version: int = VERSION) -> dict[str, Any]:
    """The JSON Schema of a trace file version (for outside tools and for the loader)."""
    name = "trace.schema.json" if version == VERSION else f"trace.v{version}.schema.json"
    return json.loads(Path(__file__).with_name(name).read_text("utf-8"))


@cache
def _checked_schema(version: int, part: str | None) -> dict[str, Any]:
    """What the loader checks: a version's single document (`part` None) with step lists
    left open, or one part of version 3 (`header`). Steps and source lines are checked
    by hand instead, by the same rules and much faster on large traces."""
    document = json.loads(json.dumps(schema(version)))
    if part is not None:
        document.pop("oneOf")
        document["$ref"] = f"#/$defs/{part}"
        sources = document["$defs"]["header"]["properties"]["sources"]
        sources["additionalProperties"]["properties"]["lines"] = {"type": "object"}
    else:
        document["$defs"]["steps"] = {"type": "array"}
    return document


def _check_envelope(document: dict, version: int) -> None:
    _report(_checked_schema(version, None), document)


def _check_header(header: dict) -> None:
    _report(_checked_schema(_version(header), "header"), header)


def _report(checked: dict[str, Any], document: Any) -> None:
    try:
        schemacheck.check(checked, document)
    except schemacheck.SchemaMismatch as error:
        where = "/".join(map(_path_part, error.path)) or "the document"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise TraceFileError(f"does not match the trace schema at {where}: {message}") from None


def _path_part(part: str | int) -> str:
    """A key of the document as a message shows it: short and free of control
    characters."""
    if isinstance(part, str) and (len(part) > 40 or not part.isprintable()):
        return shown(part)
    return str(part)
