"""What a store row holds, as bytes: a request's steps, a registration, a source file.

A request and a registration are stored as trace-file documents (the columns layout of
`tracer.tracefile`, compressed with zlib), so the store reads them with the trace file's
own checks; a source file as the JSON of its lines. Everything read back is hostile:
inflating stops at a cap, and any shape other than the one written raises `StoreError`.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

from tracer.errors import StoreError, TraceFileError
from tracer.model import Registration, Request, Route, SourceFile, Trace
from tracer.tracefile import dumps, limits, loads

_LEVEL = 1  # fast: the writer runs beside the server; 6 saves only 5 %
#: What a trace file's header must hold; a stored request takes its real meta from its
#: registration row.
_REQUEST_META = {"python": "", "created": ""}


def encode_request(request: Request) -> bytes:
    """One request's steps and facts, without registration, routes or sources."""
    alone = Trace(meta=_REQUEST_META, routes=(), registration=Registration(),
                  requests=(request,), sources={})
    return zlib.compress(dumps(alone), _LEVEL)


def decode_request(data: bytes) -> Request:
    trace = _trace_of(data, "request")
    if len(trace.requests) != 1:
        raise StoreError("a stored request holds no single request")
    return trace.requests[0]


def encode_registration(meta: Mapping[str, Any], routes: tuple[Route, ...],
                        registration: Registration) -> tuple[bytes, str]:
    """The registration (with meta and routes) compressed, and its content hash: the hash
    of all but when the trace was built (`created`), so that a server storing requests
    through the day stores its registration once, not once a second."""
    alone = Trace(meta=dict(meta), routes=routes, registration=registration, requests=(),
                  sources={})
    timeless = Trace(meta=registration_meta(meta), routes=routes, registration=registration,
                     requests=(), sources={})
    return zlib.compress(dumps(alone), _LEVEL), hashlib.sha256(dumps(timeless)).hexdigest()


def registration_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What of a trace's meta tells one registration from another: all but `created`
    (left empty, so that the header keeps its shape)."""
    return {**meta, "created": ""}


def decode_registration(data: bytes) -> Trace:
    """A trace holding the meta, routes and registration steps, no request or source."""
    return _trace_of(data, "registration")


def encode_source(path: str, source: SourceFile) -> tuple[bytes, str]:
    """A source file's recorded lines, and a hash of its path and those lines."""
    lines = json.dumps({str(n): text for n, text in sorted(source.lines.items())},
                       ensure_ascii=False, separators=(",", ":")).encode()
    digest = hashlib.sha256(path.encode("utf-8", "surrogatepass") + b"\0" + lines)
    return zlib.compress(lines, _LEVEL), digest.hexdigest()


def decode_source(sha256: Any, data: bytes) -> SourceFile:
    document = json.loads(inflate(data, "source"))
    if not isinstance(document, dict) or not isinstance(sha256, str):
        raise StoreError("a stored source file is damaged")
    lines: dict[int, str] = {}
    for number, text in document.items():
        if not (isinstance(number, str) and number.isdigit() and isinstance(text, str)):
            raise StoreError("a stored source file is damaged")
        lines[int(number)] = text
    return SourceFile(sha256=sha256, lines=lines)


def inflate(data: Any, what: str) -> bytes:
    """Decompress within the trace file's cap: a small row never fills memory."""
    if not isinstance(data, bytes):
        raise StoreError(f"a stored {what} is damaged (not bytes)")
    cap = limits().total
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, cap)
    except zlib.error:
        raise StoreError(f"a stored {what} is damaged (not zlib data)") from None
    if inflater.unconsumed_tail:
        raise StoreError(f"a stored {what} inflates past {cap} bytes")
    return raw


def _trace_of(data: Any, what: str) -> Trace:
    try:
        return loads(inflate(data, what))
    except TraceFileError as exc:
        raise StoreError(f"a stored {what} is damaged: {exc}") from None


def source_ids(text: Any) -> list[int]:
    """`'3,5,8'` → [3, 5, 8]; a damaged list is refused."""
    if not isinstance(text, str):
        raise StoreError("a stored list of sources is damaged")
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise StoreError("a stored list of sources is damaged") from None
