"""Traces of the fixture apps, recorded once per test session for the graph tests.

Each fixture app is recorded with several requests in one trace, so tests also exercise
choosing a request by id. Recording is real: nothing here is a hand-written trace.
"""

from __future__ import annotations

import pytest
from flaskscope_testing import record_fixture

from tracer.frameworks.flask_app import RequestSpec
from tracer.model import Trace

#: Requests recorded per fixture app; a request's id is its position here.
REQUESTS = {
    "seed_views": [
        "GET /index",
        RequestSpec(method="GET", path="/index", headers=(("X-Deny", "1"),)),
        "POST /index",
        "OPTIONS /index",
    ],
    "real_app": [
        "GET /stacked",
        "GET /dashboard",
        "GET /docs",
        "GET /nowhere",
        "GET /boom",
        "GET /shop/products/7",
        "GET /items/abc",
    ],
    "seed_routes": ["GET /", "POST /about"],
    "adversarial_labels": [
        'GET /引号/"quoted"/{braces}|pipe>gt',
        'POST /引号/"quoted"/{braces}|pipe>gt',
        "GET /类/视图",
        'GET /dir"q',
        "GET /nothing|here",
        'GET /bp\\"{x}/a"b\\c',
    ],
}

_CACHE: dict[str, Trace] = {}


def recorded(name: str) -> Trace:
    """The trace of fixture app `name` with its `REQUESTS`, recorded on first use."""
    if name not in _CACHE:
        recording = record_fixture(name, *REQUESTS[name])
        assert recording.app_error is None, recording.app_error
        _CACHE[name] = recording.trace
    return _CACHE[name]


@pytest.fixture
def seed_views() -> Trace:
    return recorded("seed_views")


@pytest.fixture
def real_app() -> Trace:
    return recorded("real_app")


@pytest.fixture
def seed_routes() -> Trace:
    return recorded("seed_routes")


@pytest.fixture
def adversarial() -> Trace:
    return recorded("adversarial_labels")
