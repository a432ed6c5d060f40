"""Recording never changes what a Werkzeug, Bottle or plain WSGI app does, restores every
attribute it patched, and adds nothing of its own to a Flask request."""

from __future__ import annotations

from typing import Any

import pytest
import werkzeug.exceptions
import werkzeug.routing
import werkzeug.wrappers
from flaskscope_testing import calls, forget_fixtures, record_fixture
from werkzeug.test import Client

import tracer
from tracer import Role
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.loading import LoadedApp, load

bottle = pytest.importorskip("bottle")

OWNERS = [
    werkzeug.routing.Map, werkzeug.routing.MapAdapter, werkzeug.wrappers.Request,
    werkzeug.wrappers.Response, werkzeug.exceptions.HTTPException,
    bottle.Bottle, bottle.Router, bottle.Route,
]


def _attribute_table() -> dict[tuple[int, str], object]:
    return {(id(owner), name): value for owner in OWNERS for name, value in vars(owner).items()}


def test_uninstall_restores_identical_originals() -> None:
    before = _attribute_table()
    tracer.install()
    during = _attribute_table()
    patched = sorted(name for key, name in ((k, k[1]) for k in before) if during[key]
                     is not before[key])
    assert {"add", "match", "dispatch", "bind", "application", "__init__",
            "__call__", "route", "add_route", "_make_callback", "all_plugins", "wsgi",
            "_handle", "_cast"} <= set(patched)
    tracer.uninstall()
    after = _attribute_table()
    assert after.keys() == before.keys()
    assert [key for key, value in before.items() if after[key] is not value] == []


BODY_REQUESTS = {
    "werkzeug_login": [RequestSpec("GET", "/login"), RequestSpec("GET", "/hello/x"),
                       RequestSpec("PUT", "/login"), RequestSpec("GET", "/about"),
                       RequestSpec("GET", "/nowhere"), RequestSpec("HEAD", "/login"),
                       RequestSpec("POST", "/login", data=(("user", "admin"), ("pwd", "x")))],
    "bottle_login": [RequestSpec("GET", "/login"), RequestSpec("GET", "/login"),
                     RequestSpec("HEAD", "/login"), RequestSpec("PUT", "/login"),
                     RequestSpec("GET", "/nowhere"), RequestSpec("GET", "/hello/x"),
                     RequestSpec("POST", "/login",
                                 data=(("user", "admin"), ("pwd", "password")))],
    "seed_werkzeug": [RequestSpec("GET", "/"), RequestSpec("POST", "/a/b")],
    "seed_wsgiref": [RequestSpec("GET", "/"), RequestSpec("DELETE", "/x?y=1")],
}


def _responses(loaded: LoadedApp, specs: list[RequestSpec]) -> list[tuple]:
    client = Client(loaded.app)
    out = []
    for spec in specs:
        response = client.open(spec.path, method=spec.method, data=dict(spec.data) or None,
                               buffered=True)
        headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
        out.append((response.status, response.get_data(), headers))
        response.close()
    return out


@pytest.mark.parametrize("name", sorted(BODY_REQUESTS))
def test_recording_leaves_every_response_unchanged(name: str) -> None:
    forget_fixtures()
    try:
        untraced = _responses(load(f"fixtures/{name}.py"), BODY_REQUESTS[name])
    finally:
        forget_fixtures()
    with tracer.record() as recorder:
        try:
            traced = _responses(load(f"fixtures/{name}.py"), BODY_REQUESTS[name])
        finally:
            forget_fixtures()
        assert len(recorder.requests) == len(BODY_REQUESTS[name])
        assert recorder.errors == 0, recorder.error_samples
    assert traced == untraced


def test_a_flask_request_gains_no_werkzeug_level_steps() -> None:
    recording = record_fixture("seed_views", "GET /index", "POST /index")
    assert recording.trace.meta["framework"] == "flask"
    for request in recording.trace.requests:
        names = {s.name for s in request.steps if s.kind == "call"}
        assert not names & {"Request.__init__", "Map.bind", "Response.__init__",
                            "Response.__call__", "HTTPException.__call__", "start_response"}
        match = [s for s in calls(request.steps) if s.name == "MapAdapter.match"]
        assert len(match) == 1 and match[0].role is None and match[0].facts == {}
        assert calls(request.steps, Role.MATCH)[0].name == "RequestContext.match_request"
    adds = {s.facts["endpoint"]: s for s in calls(recording.trace.registration.steps,
                                                    Role.ADD_URL_RULE)}
    assert adds["index"].facts["methods"] == ["GET", "HEAD", "OPTIONS"]
    assert adds["index"].facts["rule"] == "/index"  # read from what Map.add saw


def test_bookkeeping_werkzeug_calls_are_never_recorded() -> None:
    """Flask asks Werkzeug again for a 404's near misses under the recorder's guard."""
    recording = record_fixture("real_app", "GET /nowhere")
    steps: Any = recording.trace.requests[0].steps
    assert len([s for s in calls(steps) if s.name == "MapAdapter.match"]) == 1
    assert [s for s in calls(steps) if s.name == "Map.add"] == []
