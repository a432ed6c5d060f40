"""The loader's own schema checker agrees with jsonschema, the reference, on the trace
schemas: same keywords, same verdicts on real and mutated documents."""

from __future__ import annotations

import copy
import functools
import json

import pytest
from flaskscope_testing import json_paths, record_fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tracer.tracefile import documents, schema, schemacheck

VERSIONS = (1, 2, 3)


def _keywords(node, found: set[str], parent: str | None = None) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if parent in ("properties", "$defs"):
                _keywords(value, found)  # keys here are names, not keywords
                continue
            found.add(key)
            _keywords(value, found, key)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_every_keyword_the_schemas_use_is_understood(version) -> None:
    assert _keywords(schema(version), set()) <= schemacheck.KEYWORDS


def test_a_keyword_outside_the_subset_would_be_noticed() -> None:
    assert "anyOf" in _keywords({"anyOf": [{"type": "string"}]}, set())
    assert "anyOf" not in schemacheck.KEYWORDS


@functools.cache
def _lines() -> str:
    trace = record_fixture("seed_views", "HEAD /index", "POST /index").trace
    return json.dumps(documents(trace))


def _verdicts(document) -> tuple[bool, bool]:
    reference = Draft202012Validator(schema()).is_valid(document)
    try:
        schemacheck.check(schema(), document)
        ours = True
    except schemacheck.SchemaMismatch:
        ours = False
    return reference, ours


def test_both_accept_every_line_of_a_real_trace() -> None:
    for document in json.loads(_lines()):
        assert _verdicts(document) == (True, True)


_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False),
                    st.text(max_size=4), st.just([]), st.just({}), st.just([1, "x"]),
                    st.just("flaskscope.trace"), st.just("GET"), st.just(3.0))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(0, 10**6), _values, st.booleans())
def test_verdicts_agree_on_mutated_documents(which, where, value, delete) -> None:
    lines = json.loads(_lines())
    document = copy.deepcopy(lines[which % len(lines)])
    paths = [p for p in json_paths(document) if p]
    path = paths[where % len(paths)]
    target = document
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    elif isinstance(target, dict) and delete is False and where % 7 == 0:
        target[f"extra{where % 3}"] = value  # an unknown property
    else:
        target[path[-1]] = value
    reference, ours = _verdicts(document)
    assert reference == ours, (path, value, delete)
