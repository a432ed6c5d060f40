"""The trace file contract: round trips, the schema, embedded sources and clear errors."""

from __future__ import annotations

import functools
import gzip
import json
import linecache
from pathlib import Path

import pytest
from flaskscope_testing import calls, one, record_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import tracer
from tracer import Role, TraceFileError
from tracer.tracefile import VERSION, dumps, from_json, loads, schema, to_json


@pytest.fixture(scope="module")
def trace():
    return record_fixture("seed_views", "GET /index", "HEAD /index", "POST /index").trace


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_round_trip(trace, tmp_path, suffix) -> None:
    path = tracer.save(trace, tmp_path / f"trace{suffix}")
    if suffix.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = tracer.load(path)
    assert to_json(loaded) == json.loads(dumps(trace))
    assert loaded.requests[1].steps == tuple(loaded.requests[1].steps)
    original_facts = trace.requests[0].steps[3].facts
    assert loaded.requests[0].steps[3].facts == json.loads(json.dumps(original_facts))


def test_saved_document_matches_the_published_schema(trace) -> None:
    document = json.loads(dumps(trace))
    Draft202012Validator(schema()).validate(document)
    assert document["format"] == "flaskscope.trace" and document["version"] == VERSION
    assert {"flask", "werkzeug", "python", "app", "created"} <= document["meta"].keys()


def test_version_1_files_still_load() -> None:
    path = Path(__file__).parent / "data" / "trace-v1.json"
    document = json.loads(path.read_text("utf-8"))
    assert document["version"] == 1
    Draft202012Validator(schema(1)).validate(document)
    trace = tracer.load(path)
    request = trace.requests[0]
    assert (request.method, request.status, request.endpoint) == ("HEAD", 200, "index")
    lookup = one([s for s in request.steps if s.role == Role.HANDLER_LOOKUP])
    assert lookup.facts["fallback"] == "get"
    assert [s.id for s in request.steps] == list(range(len(request.steps)))
    assert to_json(trace)["version"] == VERSION, "saving writes the current version"


def test_short_rows_inherit_name_and_file(trace) -> None:
    document = json.loads(dumps(trace))
    rows = document["requests"][0]["steps"]
    short = [row for row in rows if len(row) <= 5]
    assert short and all(row[1] in ("r", "x", "l") for row in short)
    loaded = tracer.loads(dumps(trace))
    for original, again in zip(trace.requests[0].steps, loaded.requests[0].steps, strict=True):
        assert again == original


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


def test_clear_errors_for_bad_files(trace, tmp_path) -> None:
    good = dumps(trace)
    assert "truncated JSON" in _one_line_error(good[: len(good) // 2])
    assert "truncated or corrupt gzip" in _one_line_error(gzip.compress(good)[:100])
    assert "not valid JSON" in _one_line_error(b"{nope}")
    assert "not UTF-8" in _one_line_error(b"\xff\xfe\x00")
    assert "not a flaskscope trace" in _one_line_error(b'{"traceEvents": []}')
    assert "not a flaskscope trace" in _one_line_error(b"[1, 2]")
    newer = json.loads(good)
    newer["version"] = VERSION + 1
    assert "newer flaskscope" in _one_line_error(json.dumps(newer).encode())
    broken = json.loads(good)
    broken["requests"][0]["steps"][2][0] = 99
    assert "bad step 2 in request 0" in _one_line_error(json.dumps(broken).encode())
    broken = json.loads(good)
    broken["requests"][0]["steps"][1][2] = 10**6
    assert "not in the name table" in _one_line_error(json.dumps(broken).encode())
    broken = json.loads(good)
    del broken["routes"]
    assert "schema" in _one_line_error(json.dumps(broken).encode())
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


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@functools.cache
def _small_document_text() -> str:
    """A real but small trace document (one request, no registration) to mutate."""
    full = json.loads(dumps(record_fixture("seed_views", "HEAD /index").trace))
    full["registration"]["steps"] = []
    full["requests"][0]["steps"] = full["requests"][0]["steps"][:12]
    full["sources"] = dict(list(full["sources"].items())[:1])
    return json.dumps(full)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_documents_load_or_fail_cleanly(mutations) -> None:
    document = json.loads(_small_document_text())
    paths = [p for p in _paths(document) if p]
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
        loaded = from_json(document)
    except TraceFileError:
        return
    assert isinstance(loaded, tracer.Trace)
    for request in loaded.requests:
        assert all(step.id == index for index, step in enumerate(request.steps))
