"""Traces of the WSGI, Werkzeug and Bottle fixtures, recorded once per test session.

Each fixture app is recorded with several requests in one trace; a request's id is its
position in `REQUESTS`. Recording is real: nothing here is a hand-written trace.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flaskscope_testing import record_fixture

from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Trace

CREDENTIALS = (("user", "admin"), ("pwd", "password"))

REQUESTS: dict[str, list] = {
    "werkzeug_login": [
        "GET /login",
        "GET /hello/bob",
        "PUT /login",
        "GET /about",
        "GET /nowhere",
        RequestSpec("POST", "/login", data=CREDENTIALS),
    ],
    "bottle_login": [
        "GET /login",
        "GET /login",
        "GET /hello/bob",
        "PUT /login",
        "GET /nowhere",
        RequestSpec("POST", "/login", data=CREDENTIALS),
    ],
    "seed_werkzeug": ["POST /any/path"],
    "seed_wsgiref": [RequestSpec("GET", "/x?a=1", headers=(("Authorization", "Bearer abc"),))],
}

_CACHE: dict[str, Trace] = {}


def recorded(name: str) -> Trace:
    """The trace of fixture app `name` with its `REQUESTS`, recorded on first use."""
    if name not in _CACHE:
        if name.startswith("bottle"):
            pytest.importorskip("bottle")
        recording = record_fixture(name, *REQUESTS[name])
        assert recording.app_error is None, recording.app_error
        _CACHE[name] = recording.trace
    return _CACHE[name]


@pytest.fixture
def werkzeug_login() -> Trace:
    return recorded("werkzeug_login")


@pytest.fixture
def bottle_login() -> Trace:
    return recorded("bottle_login")


@pytest.fixture
def seed_werkzeug() -> Trace:
    return recorded("seed_werkzeug")


@pytest.fixture
def seed_wsgiref() -> Trace:
    return recorded("seed_wsgiref")


@pytest.fixture
def module_file(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """Write a module into a fresh directory; forget it (and the directory) afterwards."""
    written: list[str] = []
    path_before = list(sys.path)

    def write(name: str, source: str) -> str:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        written.append(name)
        return str(path)

    yield write
    for name in written:
        sys.modules.pop(name, None)
    sys.path[:] = path_before
