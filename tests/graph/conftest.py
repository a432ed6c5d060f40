"""Traces of the fixture apps, recorded once per test session for the graph tests.

Each fixture app is recorded with several requests in one trace, so tests also exercise
choosing a request by id. Recording is real: nothing here is a hand-written trace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flaskscope_testing import record_fixture

from tracer import record_app
from tracer.frameworks.flask.loading import RequestSpec
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
        'GET /引号/"quoted"/{braces}|pipe&gt',
        'POST /引号/"quoted"/{braces}|pipe&gt',
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


MANY_ROUTES_APP = Path(__file__).with_name("many_routes_app.py")
#: Requests to many_routes_app.py: 0 matches /a (the second rule of endpoint "a"), 1 is a
#: 405 on /a/<int:x>, 2 matches nothing, 3 is a 405 on /page3.
MANY_ROUTES_REQUESTS = ["GET /a", "POST /a/5", "GET /nowhere", "POST /page3"]


@pytest.fixture(scope="session")
def many_routes() -> tuple[Trace, list[str]]:
    """The 56-route app's trace and its endpoints in registration order (its ENDPOINTS)."""
    name = MANY_ROUTES_APP.stem
    sys.modules.pop(name, None)
    try:
        specs = [RequestSpec(*line.split(" ", 1)) for line in MANY_ROUTES_REQUESTS]
        recording = record_app(str(MANY_ROUTES_APP), specs)
        endpoints = sys.modules[name].ENDPOINTS
    finally:
        sys.modules.pop(name, None)
    assert recording.app_error is None, recording.app_error
    return recording.trace, endpoints
