"""Write and read trace files: versioned JSON, optionally gzip, checked on load.

The file is the contract between the recorder and every consumer (viewer, graphs,
explain, outside tools); `trace.schema.json` beside this module describes it. Loading
never evaluates or unpickles anything, and every way a file can be wrong ends in one
`TraceFileError` whose message names the problem.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .errors import TraceFileError
from .model import ChainLink, Registration, Request, Route, SourceFile, Step, Trace

FORMAT = "flaskscope.trace"
VERSION = 2
_GZIP_MAGIC = b"\x1f\x8b"
_STEP_KINDS = frozenset({"call", "return", "exception", "note", "line"})


# -- writing ------------------------------------------------------------------------------

_KIND_CODES = {"call": "c", "return": "r", "exception": "x", "note": "n", "line": "l"}
_KINDS_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}


#: Detail values at least this long are stored once in the `values` table.
_SHARED_VALUE_LENGTH = 24


class _Tables:
    """The file, name and value tables of a version-2 document, filled while steps are
    written: a path, a qualified name or a long repr seen many times is stored once."""

    def __init__(self) -> None:
        self.files: dict[str, int] = {}
        self.names: dict[str, int] = {}
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

    def name(self, name: str) -> int:
        return self.names.setdefault(name, len(self.names))


def to_json(trace: Trace) -> dict[str, Any]:
    """The JSON document of a trace (plain dicts and lists), in the current version."""
    tables = _Tables()
    registration_start = trace.registration.steps[0].time_ns if trace.registration.steps else 0
    registration_thread = trace.registration.steps[0].thread if trace.registration.steps else 0
    document = {
        "format": FORMAT,
        "version": VERSION,
        "meta": dict(trace.meta),
        "files": [],
        "names": [],
        "values": [],
        "routes": [_route_json(route) for route in trace.routes],
        "registration": {
            "start_ns": registration_start,
            "thread": registration_thread,
            "steps": _steps_json(trace.registration.steps, tables, registration_start,
                                 registration_thread),
            "dropped_steps": trace.registration.dropped_steps,
        },
        "requests": [_request_json(request, tables) for request in trace.requests],
        "sources": {
            str(tables.file(file)): {
                "sha256": source.sha256,
                "lines": {str(n): t for n, t in source.lines.items()},
            }
            for file, source in trace.sources.items()
        },
    }
    document["files"] = list(tables.files)
    document["names"] = list(tables.names)
    document["values"] = list(tables.values)
    return document


def dumps(trace: Trace) -> bytes:
    """The trace as compact UTF-8 JSON."""
    return json.dumps(to_json(trace), ensure_ascii=False, separators=(",", ":")).encode()


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


def _steps_json(steps: tuple[Step, ...], tables: _Tables, start_ns: int,
                thread: int) -> list[list[Any]]:
    """Step arrays. A return, exception or line step in the same function as its parent
    leaves out name and file: `[parent, kind, line, time, extra?]`."""
    rows = []
    previous = start_ns
    for step in steps:
        parent = steps[step.parent] if step.parent is not None else None
        if (step.kind in _INHERITING and parent is not None and parent.name == step.name
                and parent.file == step.file):
            row: list[Any] = [step.parent, _KIND_CODES[step.kind], step.line,
                              step.time_ns - previous]
        else:
            row = [step.parent, _KIND_CODES[step.kind], tables.name(step.name),
                   tables.file(step.file), step.line, step.time_ns - previous]
        previous = step.time_ns
        extra: dict[str, Any] = {}
        if step.detail:
            extra["d"] = tables.detail(step.detail)
        if step.role:
            extra["r"] = str(step.role)
        if step.facts:
            extra["f"] = dict(step.facts)
        if step.thread != thread:
            extra["t"] = step.thread
        if extra:
            row.append(extra)
        rows.append(row)
    return rows


_INHERITING = frozenset({"return", "exception", "line"})


def _route_json(route: Route) -> dict[str, Any]:
    return {
        "rule": route.rule,
        "endpoint": route.endpoint,
        "methods": list(route.methods),
        "blueprint": route.blueprint,
        "chain": [
            {
                "kind": link.kind,
                "name": link.name,
                "qualname": link.qualname,
                "file": link.file,
                "line": link.line,
                "wraps": link.wraps,
                "origin": link.origin,
                "decorator": link.decorator,
            }
            for link in route.chain
        ],
        "automatic_methods": list(route.automatic_methods),
        "app": route.app,
        "strict_slashes": route.strict_slashes,
        "redirect_to": route.redirect_to,
    }


def _request_json(request: Request, tables: _Tables) -> dict[str, Any]:
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
        "steps": _steps_json(request.steps, tables, request.start_ns, request.thread),
    }


# -- reading ------------------------------------------------------------------------------


def load(path: str | Path) -> Trace:
    """Read a trace file written by `save` (plain or gzip)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TraceFileError(f"trace file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise TraceFileError(f"{str(path)!r} is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceFileError(f"cannot read trace file {str(path)!r}: {exc.strerror}") from None
    try:
        return loads(data)
    except TraceFileError as exc:
        raise TraceFileError(f"{path}: {exc}") from None


def loads(data: bytes) -> Trace:
    """Parse and check the bytes of a trace file."""
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise TraceFileError(f"truncated or corrupt gzip data ({exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFileError(f"not a trace file: not UTF-8 text (byte {exc.start})") from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise TraceFileError(f"truncated JSON (ends at {where})") from None
        raise TraceFileError(f"not valid JSON at {where}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise TraceFileError(f"not valid JSON: {exc}") from None
    return from_json(document)


def from_json(document: Any) -> Trace:
    """Build a `Trace` from a parsed document of any known version, checking the contract."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise TraceFileError(f"not a flaskscope trace (format is {found!r}, expected {FORMAT!r})")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise TraceFileError(f"trace version must be a whole number, found {version!r}")
    if version > VERSION:
        raise TraceFileError(
            f"written by a newer flaskscope (trace version {version}); this one reads up to "
            f"version {VERSION}: upgrade flaskscope to open it"
        )
    if version < 1:
        raise TraceFileError(f"unknown trace version {version}")
    _check_envelope(document, version)
    try:
        if version == 1:
            return _from_v1(document)
        return _from_v2(document)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # the schema should prevent
        raise TraceFileError(f"malformed trace: {type(exc).__name__}: {exc}") from None


def _from_v2(document: dict) -> Trace:
    files, names, values = document["files"], document["names"], document["values"]
    registration = document["registration"]
    return Trace(
        meta=document["meta"],
        routes=tuple(_route(route) for route in document["routes"]),
        registration=Registration(
            steps=_rows(registration["steps"], files, names, values,
                        registration.get("start_ns", 0),
                        registration.get("thread", 0), "registration"),
            dropped_steps=registration.get("dropped_steps", 0),
        ),
        requests=tuple(
            _request(request, _rows(request["steps"], files, names, values,
                                    request.get("start_ns", 0),
                                    request.get("thread", 0), f"request {request['id']}"))
            for request in document["requests"]
        ),
        sources={
            _table(files, int(index), "file"): _source(source)
            for index, source in document["sources"].items()
        },
    )


def _from_v1(document: dict) -> Trace:
    """Version 1: steps were objects with their paths spelled out."""
    registration = document["registration"]
    return Trace(
        meta=document["meta"],
        routes=tuple(_route(route) for route in document["routes"]),
        registration=Registration(
            steps=_steps(registration["steps"], "registration"),
            dropped_steps=registration.get("dropped_steps", 0),
        ),
        requests=tuple(
            _request(request, _steps(request["steps"], f"request {request['id']}"))
            for request in document["requests"]
        ),
        sources={file: _source(source) for file, source in document["sources"].items()},
    )


def _source(data: Mapping[str, Any]) -> SourceFile:
    return SourceFile(
        sha256=data["sha256"],
        lines={int(number): text for number, text in data["lines"].items()},
    )


def _table(table: list, index: Any, what: str) -> str:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(table):
        raise ValueError(f"{what} index {index!r} is not in the {what} table")
    value = table[index]
    if not isinstance(value, str):
        raise TypeError(f"{what} table entry {index} is not a string")
    return value


def _rows(rows: list, files: list, names: list, values: list, start_ns: int, thread: int,
          where: str) -> tuple[Step, ...]:
    """Version-2 step arrays → steps; every rule of the schema is enforced here."""
    steps = []
    make = Step
    kinds = _KINDS_BY_CODE
    time_ns = start_ns
    for position, row in enumerate(rows):
        try:
            if type(row) is not list or not 4 <= len(row) <= 7:
                raise TypeError("a step must be an array of 4 to 7 items")
            if len(row) <= 5:  # name and file are its parent's
                parent, kind, line, offset = row[:4]
                extra = row[4] if len(row) == 5 else _NO_EXTRA
                if kind not in _INHERITING_CODES or type(parent) is not int or not (
                        0 <= parent < position):
                    raise ValueError("a short step must be a return, exception or line step "
                                     "of an earlier step")
                name_text, file_text = steps[parent].name, steps[parent].file
            else:
                parent, kind, name, file, line, offset = row[:6]
                extra = row[6] if len(row) == 7 else _NO_EXTRA
                name_text = _table(names, name, "name")
                file_text = None if file is None else _table(files, file, "file")
            if parent is not None and (type(parent) is not int or not 0 <= parent < position):
                raise ValueError(f"parent {parent!r} is not an earlier step")
            if type(offset) is not int or offset < 0:
                raise TypeError(f"time must be a non-negative whole number, found {offset!r}")
            if line is not None and (type(line) is not int or line < 0):
                raise TypeError(f"line must be a non-negative whole number, found {line!r}")
            if type(extra) is not dict or extra.keys() - _EXTRA_KEYS:
                raise ValueError("extra must be an object with d, r, f or t")
            detail = extra.get("d", _NO_EXTRA)
            if type(detail) is not dict:
                raise TypeError("detail must be an object")
            if not all(type(v) is str for v in detail.values()):
                detail = {k: v if type(v) is str else _table(values, v, "value")
                          for k, v in detail.items()}
            facts = extra.get("f", _NO_EXTRA)
            role = extra.get("r")
            step_thread = extra.get("t", thread)
            if type(facts) is not dict or (role is not None and type(role) is not str) or (
                    type(step_thread) is not int):
                raise TypeError("facts must be an object, role a string, thread a number")
            time_ns += offset
            steps.append(make(position, parent, kinds[kind], name_text, file_text, line,
                              time_ns, step_thread, detail, role, facts))
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceFileError(f"bad step {position} in {where}: {exc}") from None
    return tuple(steps)


_NO_EXTRA: dict[str, Any] = {}
_INHERITING_CODES = frozenset({"r", "x", "l"})
_EXTRA_KEYS = frozenset({"d", "r", "f", "t"})


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a trace file")


@cache
def schema(version: int = VERSION) -> dict[str, Any]:
    """The JSON Schema of a trace file version (for outside tools and for the loader)."""
    name = "trace.schema.json" if version == VERSION else f"trace.v{version}.schema.json"
    text = resources.files("tracer").joinpath(name).read_text("utf-8")
    return json.loads(text)


@cache
def _envelope_validator(version: int) -> Draft202012Validator:
    """The schema with step lists left open: steps are checked by `_rows`/`_steps`, which
    is much faster on traces of hundreds of thousands of steps and enforces the same rules."""
    envelope = json.loads(json.dumps(schema(version)))
    envelope["$defs"]["steps"] = {"type": "array"}
    return Draft202012Validator(envelope)


def _check_envelope(document: dict, version: int) -> None:
    error = next(iter(_envelope_validator(version).iter_errors(document)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the document"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise TraceFileError(f"does not match the trace schema at {where}: {message}")


def _steps(items: list, where: str) -> tuple[Step, ...]:
    """Version-1 step objects → steps."""
    steps = []
    for position, item in enumerate(items):
        try:
            steps.append(_step(item, position))
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceFileError(f"bad step {position} in {where}: {exc}") from None
    return tuple(steps)


def _step(item: Any, position: int) -> Step:
    if not isinstance(item, dict):
        raise TypeError("a step must be an object")
    unknown = item.keys() - _STEP_KEYS
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    step_id = _int(item["id"], "id")
    if step_id != position:
        raise ValueError(f"id {step_id} does not match its position {position}")
    parent = item["parent"]
    if parent is not None and not (_int(parent, "parent") < step_id):
        raise ValueError(f"parent {parent} is not an earlier step")
    kind = item["kind"]
    if kind not in _STEP_KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    detail = item.get("detail", {})
    if not isinstance(detail, dict) or not all(isinstance(v, str) for v in detail.values()):
        raise TypeError("detail must map names to strings")
    facts = item.get("facts", {})
    if not isinstance(facts, dict):
        raise TypeError("facts must be an object")
    role = item.get("role")
    line = item["line"]
    return Step(
        id=step_id,
        parent=parent,
        kind=kind,
        name=_str(item["name"], "name"),
        file=None if item["file"] is None else _str(item["file"], "file"),
        line=None if line is None else _int(line, "line"),
        time_ns=_int(item["time_ns"], "time_ns"),
        thread=_int(item["thread"], "thread"),
        detail=detail,
        role=None if role is None else _str(role, "role"),
        facts=facts,
    )


_STEP_KEYS = frozenset(
    {"id", "parent", "kind", "name", "file", "line", "time_ns", "thread", "detail", "role",
     "facts"}
)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 and name != "time_ns":
        raise TypeError(f"{name} must be a non-negative whole number, found {value!r}")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, found {value!r}")
    return value


def _route(data: Mapping[str, Any]) -> Route:
    return Route(
        rule=data["rule"],
        endpoint=data["endpoint"],
        methods=tuple(data["methods"]),
        blueprint=data["blueprint"],
        chain=tuple(
            ChainLink(
                kind=link["kind"],
                name=link["name"],
                qualname=link["qualname"],
                file=link["file"],
                line=link["line"],
                wraps=link.get("wraps"),
                origin=link.get("origin"),
                decorator=link.get("decorator"),
            )
            for link in data["chain"]
        ),
        automatic_methods=tuple(data.get("automatic_methods", ())),
        app=data.get("app"),
        strict_slashes=data.get("strict_slashes", True),
        redirect_to=data.get("redirect_to"),
    )


def _request(data: Mapping[str, Any], steps: tuple[Step, ...]) -> Request:
    return Request(
        id=data["id"],
        method=data["method"],
        path=data["path"],
        status=data["status"],
        endpoint=data["endpoint"],
        rule=data["rule"],
        view_args=data["view_args"],
        outcome=data["outcome"],
        steps=steps,
        query=data.get("query", ""),
        allowed_methods=tuple(data.get("allowed_methods", ())),
        redirect_to=data.get("redirect_to"),
        error=data.get("error"),
        start_ns=data.get("start_ns", 0),
        duration_ns=data.get("duration_ns", 0),
        thread=data.get("thread", 0),
        dropped_steps=data.get("dropped_steps", 0),
    )
