"""The trace file contract: round trips, the schema, embedded sources and clear errors."""

from __future__ import annotations

import functools
import gzip
import json
import linecache
from dataclasses import replace
from pathlib import Path

import pytest
from flaskscope_testing import calls, json_paths, one, record_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import tracer
from tracer import Role, TraceFileError
from tracer.jsonline import json_line
from tracer.steptable import StepTable
from tracer.tracefile import (
    CHUNK,
    VERSION,
    _checked_schema,
    documents,
    dumps,
    from_documents,
    loads,
    schema,
)

DATA = Path(__file__).parent / "data"


def _lines(data: bytes) -> list:
    """The parsed documents of a version-3 file, one per line."""
    return [json.loads(line) for line in data.decode().split("\n")[:-1]]


def _encode(lines: list) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


@pytest.fixture(scope="module")
def trace():
    return record_fixture("seed_views", "GET /index", "HEAD /index", "POST /index").trace


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_round_trip(trace, tmp_path, suffix) -> None:
    path = tracer.save(trace, tmp_path / f"trace{suffix}")
    if suffix.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = tracer.load(path)
    assert documents(loaded) == _lines(dumps(trace))
    assert loaded == trace
    assert loaded.requests[1].steps == tuple(loaded.requests[1].steps)
    original_facts = trace.requests[0].steps[3].facts
    assert loaded.requests[0].steps[3].facts == json.loads(json.dumps(original_facts))


def test_every_saved_line_matches_the_published_schema(trace) -> None:
    lines = _lines(dumps(trace))
    validator = Draft202012Validator(schema())
    for line in lines:
        validator.validate(line)
    header = lines[0]
    assert header["format"] == "flaskscope.trace" and header["version"] == VERSION
    assert {"flask", "werkzeug", "python", "app", "created"} <= header["meta"].keys()
    phases = [header["registration"], *header["requests"]]
    expected = sum(1 + -(-phase["steps"] // CHUNK) for phase in phases if phase["steps"])
    assert len(lines) == 1 + expected
    columns = lines[1]
    assert set(columns["kind"]) <= set("crxnl") and len(columns["up"]) == phases[0]["steps"]


def test_lazy_loading_builds_steps_only_when_read(trace) -> None:
    lazy = loads(dumps(trace), lazy=True)
    steps = lazy.requests[0].steps
    assert isinstance(steps, StepTable)
    assert steps._built is None and steps._extras.chunks == [None]  # nothing decoded yet
    assert steps[3] == trace.requests[0].steps[3]
    assert steps._extras.chunks[0] is not None
    assert tuple(steps) == trace.requests[0].steps
    assert steps.kinds == "".join(s.kind[0].replace("e", "x") for s in trace.requests[0].steps)
    assert steps.parents == [s.parent for s in trace.requests[0].steps]
    assert steps.roles == {s.id: s.role for s in trace.requests[0].steps if s.role}


def test_a_request_of_many_chunks_round_trips(trace) -> None:
    request = trace.requests[0]
    many = [replace(step, id=n, parent=None if n == 0 else 0, kind="note" if n else "call")
            for n, step in enumerate(request.steps[:1] * (CHUNK * 2 + 5))]
    big = replace(trace, requests=(replace(request, steps=tuple(many)),))
    lines = _lines(dumps(big))
    assert [line.get("first") for line in lines if "first" in line][-3:] == [0, CHUNK, 2 * CHUNK]
    assert loads(dumps(big)) == big
    lazy = loads(dumps(big), lazy=True).requests[0].steps
    assert lazy[CHUNK * 2 + 4] == big.requests[0].steps[-1]
    assert [chunk is None for chunk in lazy._extras.chunks] == [True, True, False]


def test_a_damaged_chunk_fails_when_read_and_on_preload(trace) -> None:
    lines = _lines(dumps(trace))
    lines[-1]["extra"][2] = {"d": {"x": 10**6}}  # a value index out of the table
    lazy = loads(_encode(lines), lazy=True)
    request = lazy.requests[-1]
    assert request.steps.names[0] and request.steps.kinds  # the columns are fine
    with pytest.raises(TraceFileError, match="bad step 2 in request 2: value index"):
        request.steps[0]  # its chunk holds the damaged step
    with pytest.raises(TraceFileError, match="bad step 2 in request 2"):
        loads(_encode(lines), lazy=True).requests[-1].steps.preload()
    with pytest.raises(TraceFileError, match="bad step 2 in request 2"):
        loads(_encode(lines))


def _old_file(version: int):
    """A saved HEAD /index trace of an earlier version: its document and what it loads as,
    checked against that version's schema and for the HEAD → GET fallback."""
    path = DATA / f"trace-v{version}.json"
    document = json.loads(path.read_text("utf-8"))
    assert document["version"] == version
    Draft202012Validator(schema(version)).validate(document)
    trace = tracer.load(path)
    request = trace.requests[0]
    assert (request.method, request.status, request.endpoint) == ("HEAD", 200, "index")
    lookup = one([s for s in request.steps if s.role == Role.HANDLER_LOOKUP])
    assert lookup.facts["fallback"] == "get"
    return document, trace


def test_version_2_files_still_load() -> None:
    document, trace = _old_file(2)
    request = trace.requests[0]
    short = [row for row in document["requests"][0]["steps"] if len(row) <= 5]
    assert short, "version 2 stored returns and lines without name and file"
    for row, step in zip(document["requests"][0]["steps"], request.steps, strict=True):
        if len(row) <= 5:
            parent = request.steps[row[0]]
            assert (step.name, step.file) == (parent.name, parent.file)
    assert loads(dumps(trace)) == trace, "saving writes the current version, which reads back"


def test_version_1_files_still_load() -> None:
    _, trace = _old_file(1)
    request = trace.requests[0]
    assert [s.id for s in request.steps] == list(range(len(request.steps)))
    assert documents(trace)[0]["version"] == VERSION, "saving writes the current version"


def test_sources_hold_every_referenced_line_and_whole_function_bodies(trace) -> None:
    for request in trace.requests:
        for step in request.steps:
            if step.file and step.line:
                assert step.line in trace.sources[step.file].lines, (step.file, step.line)
    request = trace.requests[0]
    handler = one(calls(request.steps, Role.HANDLER))
    real = linecache.getlines(handler.file)
    embedded = trace.sources[handler.file].lines
    body = range(handler.line, handler.line + 2)
    assert [embedded[n] for n in body] == [real[n - 1].rstrip("\n") for n in body]
    dispatch = one(calls(request.steps, Role.CLASS_DISPATCH))
    flask_lines = trace.sources[dispatch.file].lines
    assert any("getattr(self, request.method.lower(), None)" in text
               for text in flask_lines.values())
    assert all(len(source.sha256) == 64 for source in trace.sources.values())


def _one_line_error(data: bytes) -> str:
    with pytest.raises(TraceFileError) as info:
        loads(data)
    message = str(info.value)
    assert "\n" not in message and message
    return message


def _broken(good: bytes, line: int, change) -> bytes:
    lines = _lines(good)
    change(lines[line])
    return _encode(lines)


def test_clear_errors_for_bad_files(trace, tmp_path) -> None:
    good = dumps(trace)
    first_request = 1 + 1 + -(-len(trace.registration.steps) // CHUNK)  # its columns line
    assert "truncated" in _one_line_error(good[: len(good) // 2])
    assert "truncated" in _one_line_error(good[: good.index(b"\n") // 2])
    assert "truncated" in _one_line_error(good[: good.index(b"\n") + 1])
    assert "truncated or corrupt gzip" in _one_line_error(gzip.compress(good)[:100])
    assert "not valid JSON" in _one_line_error(b"{nope}")
    assert "not UTF-8" in _one_line_error(b"\xff\xfe\x00")
    assert "not a flaskscope trace" in _one_line_error(b'{"traceEvents": []}')
    assert "not a flaskscope trace" in _one_line_error(b"[1, 2]")
    assert "newer flaskscope" in _one_line_error(
        _broken(good, 0, lambda header: header.update(version=VERSION + 1)))
    assert "parent that is not an earlier step" in _one_line_error(
        _broken(good, first_request, lambda columns: columns["up"].__setitem__(2, 99)))
    assert "not in the code table" in _one_line_error(
        _broken(good, first_request, lambda columns: columns["code"].__setitem__(1, 10**6)))
    assert "not in the file table" in _one_line_error(
        _broken(good, 0, lambda header: header["codes"][0].__setitem__(1, 10**6)))
    assert "column 'kind'" in _one_line_error(
        _broken(good, first_request, lambda columns: columns.update(kind="q" * 3)))
    assert "schema" in _one_line_error(_broken(good, 0, lambda header: header.pop("routes")))
    assert "more lines" in _one_line_error(good + b'{"phase": 9}\n')
    assert "NaN" in _one_line_error(good.replace(b'"duration_ns":', b'"duration_ns":NaN,"x":', 1))
    with pytest.raises(TraceFileError, match="does not exist"):
        tracer.load(tmp_path / "missing.json")
    with pytest.raises(TraceFileError, match="is a directory"):
        tracer.load(tmp_path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_trace_file_error(data: bytes) -> None:
    try:
        loads(data)
    except TraceFileError:
        pass


def _mutations():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5),
                        st.floats(allow_nan=False), st.just([]), st.just({}))
    return st.lists(st.tuples(st.integers(0, 10_000), scalars), min_size=1, max_size=4)


@functools.cache
def _small_document_text() -> str:
    """A real but small trace file (one request of 12 steps, no registration, one source
    file), as the list of its line documents, to mutate."""
    trace = record_fixture("seed_views", "HEAD /index").trace
    request = replace(trace.requests[0], steps=trace.requests[0].steps[:12])
    first_file = next(iter(trace.sources))
    small = replace(trace, registration=tracer.Registration(), requests=(request,),
                    sources={first_file: trace.sources[first_file]})
    return json.dumps(documents(small))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_documents_load_or_fail_cleanly(mutations) -> None:
    document = json.loads(_small_document_text())
    paths = [p for p in json_paths(document) if p]
    for pick, value in mutations:
        path = paths[pick % len(paths)]
        try:  # an earlier mutation may have replaced the containers on this path
            target = document
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (TypeError, IndexError, KeyError):
            continue
    try:
        loaded = from_documents(document)
        for request in loaded.requests:
            tuple(request.steps)
    except TraceFileError:
        return
    assert isinstance(loaded, tracer.Trace)
    for request in loaded.requests:
        assert all(step.id == index for index, step in enumerate(request.steps))


def test_version_3_files_still_load() -> None:
    """Version 4 added request outcomes; a version-3 file (written before) is checked by its
    own schema and reads as it did."""
    path = DATA / "trace-v3.json"
    header = json.loads(path.read_text("utf-8").splitlines()[0])
    assert header["version"] == 3
    Draft202012Validator(_checked_schema(3, "header")).validate(header)
    for lazy in (False, True):
        request = tracer.load(path, lazy=lazy).requests[0]
        assert (request.method, request.status, request.outcome) == ("HEAD", 200, "ok")
        lookup = one([s for s in request.steps if s.role == Role.HANDLER_LOOKUP])
        assert lookup.facts["fallback"] == "get"


def test_version_4_files_still_load() -> None:
    """Version 5 added optional fields (layer expressions, decorators above the route, the
    phases with recorded lines); a version-4 file is checked by its own schema and reads
    without them."""
    path = DATA / "trace-v4.json"
    header = json.loads(path.read_text("utf-8").splitlines()[0])
    assert header["version"] == 4
    Draft202012Validator(_checked_schema(4, "header")).validate(header)
    for lazy in (False, True):
        trace = tracer.load(path, lazy=lazy)
        request = trace.requests[0]
        assert (request.method, request.status, request.outcome) == ("HEAD", 200, "ok")
        links = [link for route in trace.routes for link in route.chain]
        assert links and all(link.expression is None for link in links)
        assert all(route.decorators_above_route == () for route in trace.routes)


def test_the_fields_of_version_5_are_not_version_4s() -> None:
    link = set(schema()["$defs"]["chain_link"]["properties"])
    old = set(schema(4)["$defs"]["chain_link"]["properties"])
    assert {"expression", "occurrence"} <= link and not {"expression", "occurrence"} & old
    route = set(schema()["$defs"]["route"]["properties"])
    assert "decorators_above_route" in route - set(schema(4)["$defs"]["route"]["properties"])


def test_the_outcomes_of_version_4_are_not_version_3s() -> None:
    outcomes = schema()["$defs"]["request"]["properties"]["outcome"]["enum"]
    assert {"http_error", "error_status"} <= set(outcomes)
    assert not {"http_error", "error_status"} & set(
        schema(3)["$defs"]["request"]["properties"]["outcome"]["enum"])


def test_lines_are_the_standard_librarys_compact_json(trace) -> None:
    """orjson writes the lines; they are the bytes `json.dumps` writes in compact form."""
    for document in documents(trace):
        assert json_line(document) == (json.dumps(
            document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


@pytest.mark.parametrize("document", [
    {"value": 2 ** 70},  # past orjson's 64 bits
    {"value": -(2 ** 64)},
    {"values": {3: "a key that is not a string"}},
], ids=["huge", "huge negative", "int key"])
def test_what_orjson_refuses_the_json_module_writes(document) -> None:
    assert json_line(document) == (json.dumps(
        document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
