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
VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"
_STEP_KINDS = frozenset({"call", "return", "exception", "note", "line"})


# -- writing ------------------------------------------------------------------------------


def to_json(trace: Trace) -> dict[str, Any]:
    """The JSON document of a trace (plain dicts and lists)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "meta": dict(trace.meta),
        "routes": [_route_json(route) for route in trace.routes],
        "registration": {
            "steps": [_step_json(step) for step in trace.registration.steps],
            "dropped_steps": trace.registration.dropped_steps,
        },
        "requests": [_request_json(request) for request in trace.requests],
        "sources": {
            file: {"sha256": source.sha256, "lines": {str(n): t for n, t in source.lines.items()}}
            for file, source in trace.sources.items()
        },
    }


def dumps(trace: Trace) -> bytes:
    """The trace as compact UTF-8 JSON."""
    return json.dumps(to_json(trace), ensure_ascii=False, separators=(",", ":")).encode()


def save(trace: Trace, path: str | Path) -> Path:
    """Write the trace; a name ending in `.gz` is written gzip-compressed."""
    path = Path(path)
    data = dumps(trace)
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise TraceFileError(f"cannot write trace file {str(path)!r}: {exc.strerror}") from None
    return path


def _step_json(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": step.id,
        "parent": step.parent,
        "kind": step.kind,
        "name": step.name,
        "file": step.file,
        "line": step.line,
        "time_ns": step.time_ns,
        "thread": step.thread,
    }
    if step.detail:
        data["detail"] = dict(step.detail)
    if step.role:
        data["role"] = str(step.role)
    if step.facts:
        data["facts"] = dict(step.facts)
    return data


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
        "steps": [_step_json(step) for step in request.steps],
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
    """Build a `Trace` from a parsed document, checking it against the contract."""
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
    _check_envelope(document)
    try:
        registration = document["registration"]
        return Trace(
            meta=document["meta"],
            routes=tuple(_route(route) for route in document["routes"]),
            registration=Registration(
                steps=_steps(registration["steps"], "registration"),
                dropped_steps=registration.get("dropped_steps", 0),
            ),
            requests=tuple(_request(request) for request in document["requests"]),
            sources={
                file: SourceFile(
                    sha256=source["sha256"],
                    lines={int(number): text for number, text in source["lines"].items()},
                )
                for file, source in document["sources"].items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:  # the envelope check should prevent these
        raise TraceFileError(f"malformed trace: {type(exc).__name__}: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a trace file")


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the trace file (for outside tools and for the loader)."""
    text = resources.files("tracer").joinpath("trace.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _envelope_validator() -> Draft202012Validator:
    """The schema with step lists left open: steps are checked by `_steps`, which is
    faster on traces of hundreds of thousands of steps and enforces the same rules."""
    envelope = json.loads(json.dumps(schema()))
    envelope["$defs"]["steps"] = {"type": "array"}
    return Draft202012Validator(envelope)


def _check_envelope(document: dict) -> None:
    error = next(iter(_envelope_validator().iter_errors(document)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the document"
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        raise TraceFileError(f"does not match the trace schema at {where}: {message}")


def _steps(items: list, where: str) -> tuple[Step, ...]:
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


def _request(data: Mapping[str, Any]) -> Request:
    return Request(
        id=data["id"],
        method=data["method"],
        path=data["path"],
        status=data["status"],
        endpoint=data["endpoint"],
        rule=data["rule"],
        view_args=data["view_args"],
        outcome=data["outcome"],
        steps=_steps(data["steps"], f"request {data['id']}"),
        query=data.get("query", ""),
        allowed_methods=tuple(data.get("allowed_methods", ())),
        redirect_to=data.get("redirect_to"),
        error=data.get("error"),
        start_ns=data.get("start_ns", 0),
        duration_ns=data.get("duration_ns", 0),
        thread=data.get("thread", 0),
        dropped_steps=data.get("dropped_steps", 0),
    )
