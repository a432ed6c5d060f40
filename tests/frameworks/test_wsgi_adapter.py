"""Plain WSGI: the call, start_response, the body and its close, one request record."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any
from wsgiref.handlers import SimpleHandler
from wsgiref.util import setup_testing_defaults

import pytest
from flaskscope_testing import calls, notes, one
from werkzeug.test import Client

import tracer
from tracer import Role
from tracer.frameworks import active_hooks


def test_seed_wsgiref_request_is_the_call_start_response_and_body(seed_wsgiref) -> None:
    request = seed_wsgiref.requests[0]
    assert (request.method, request.path, request.query) == ("GET", "/x", "a=1")
    assert (request.status, request.outcome) == (200, "ok")
    assert seed_wsgiref.meta["framework"] == "wsgi"
    steps = request.steps
    call = one(calls(steps, Role.REQUEST))
    assert call.name == "runserver" and call.file.endswith("fixtures/seed_wsgiref.py")
    assert call.facts["framework"] == "wsgi"
    assert call.detail["header Authorization"] == "***"
    start = one(calls(steps, Role.START_RESPONSE))
    assert start.parent == call.id
    assert start.facts["status"] == 200 and start.facts["status_line"] == "200 OK"
    assert start.facts["headers"] == ["Content-Type: text/html"]
    body = one(calls(steps, Role.RESPONSE_BODY))
    assert body.parent is None and body.id > call.id
    assert body.facts == {"body_type": "list", "chunks": 1, "bytes": 20, "exhausted": True}
    close = one(notes(steps, Role.RESPONSE_BODY))
    assert close.facts["close"] is False and close.id > body.id


def _generator_app(closed: list[str]):
    def app(environ: dict, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Set-Cookie", "session=abc123")])
        try:
            yield b"one "
            yield b"two"
        finally:
            closed.append(environ["PATH_INFO"])

    return app


def _send(app: Any, path: str = "/", **options: Any) -> Any:
    response = Client(app).open(path, buffered=True, **options)
    response.close()
    return response


@pytest.mark.parametrize("redact", [True, False])
def test_generator_body_is_iterated_then_closed_and_secrets_redacted(redact: bool) -> None:
    closed: list[str] = []
    with tracer.record(redact=redact) as recorder:
        wrapped = active_hooks("wsgi").wrap(_generator_app(closed))
        response = _send(wrapped, "/stream")
        trace = recorder.trace()
    assert response.get_data() == b"one two"
    assert closed == ["/stream"]
    steps = trace.requests[0].steps
    start = one(calls(steps, Role.START_RESPONSE))
    cookie = "Set-Cookie: ***" if redact else "Set-Cookie: session=abc123"
    assert start.facts["headers"] == ["Content-Type: text/plain", cookie]
    body, close = calls(steps, Role.RESPONSE_BODY)
    assert body.facts["chunks"] == 2 and body.facts["bytes"] == 7
    assert body.facts["exhausted"] is True
    assert close.name == "close" and close.parent is None
    assert close.facts == {"close": True, "chunks": 2, "bytes": 7}


def test_the_request_is_filed_only_when_the_body_is_closed() -> None:
    with tracer.record() as recorder:
        wrapped = active_hooks("wsgi").wrap(_generator_app([]))
        environ = _environ("/late")
        body = wrapped(environ, lambda status, headers, exc_info=None: None)
        assert recorder.requests == []
        assert next(iter(body)) == b"one "
        assert recorder.requests == []
        body.close()
        assert len(recorder.requests) == 1
        request = recorder.trace().requests[0]
    body_step = one(calls(request.steps, Role.RESPONSE_BODY, "iterate body"))
    assert body_step.facts["exhausted"] is False and body_step.facts["chunks"] == 1


def _listed_app(environ: dict, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_a_body_let_go_of_unclosed_files_its_request_and_the_next_one_records() -> None:
    """A caller that joins the chunks and never calls close() (web.py's `app.request()`,
    many tests): each request is filed when the body goes, and the next one records."""
    from tracer.frameworks.narration.narrative import explain
    from tracer.recorder import current_request
    from viewer.explain.render import plain

    with tracer.record() as recorder:
        recorder.meta["framework"] = "wsgi"  # as a loaded app's session says
        wrapped = active_hooks("wsgi").wrap(_listed_app)
        for path in ("/one", "/two"):
            assert b"".join(wrapped(_environ(path), lambda *a: None)) == b"hello"
            assert current_request() is None, "the request is not left current"
        trace = recorder.trace()
    assert [(r.path, r.status) for r in trace.requests] == [("/one", 200), ("/two", 200)]
    assert notes(trace.requests[0].steps, Role.RESPONSE_BODY) == [], "no close happened"
    text = plain(explain(trace, request_id=1), "en")
    assert "The server never called the body's `close()`" in text
    closed = plain(explain(_seed_trace_closed(), request_id=0), "en")
    assert "never called" not in closed


def _seed_trace_closed() -> Any:
    with tracer.record() as recorder:
        recorder.meta["framework"] = "wsgi"
        _send(active_hooks("wsgi").wrap(_listed_app), "/closed")
        return recorder.trace()


def test_a_body_let_go_of_on_another_thread_files_its_request_and_frees_the_first() -> None:
    """The body made in a worker thread and let go of in this one: the request is filed
    (here, at the trace), and the worker's next request is recorded, not taken for part of
    the first one still current there."""
    import queue
    import threading

    from tracer.recorder import current_request

    with tracer.record() as recorder:
        wrapped = active_hooks("wsgi").wrap(_listed_app)
        bodies: queue.Queue[Any] = queue.Queue()
        go_on = threading.Event()

        def worker() -> None:
            bodies.put(wrapped(_environ("/far"), lambda *a: None))
            go_on.wait(5)
            _send(wrapped, "/next")

        thread = threading.Thread(target=worker)
        thread.start()
        body = bodies.get(timeout=5)
        assert list(body) == [b"hello"]
        del body
        assert current_request() is None
        assert [r.path for r in recorder.trace().requests] == ["/far"]
        go_on.set()
        thread.join(5)
        trace = recorder.trace()
    assert [r.path for r in trace.requests] == ["/far", "/next"]
    assert recorder.errors == 0


def _generated_app(environ: dict, start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"hel"
    yield b"lo"


def test_a_body_read_to_its_end_and_kept_unclosed_is_filed_at_the_next_request() -> None:
    """A body still referenced (line mode keeps the values it records) but read to its
    end: the next request in the same context files it and is recorded itself. A body
    still being read keeps its request current, and a request inside it passes through."""
    with tracer.record(lines=True) as recorder:
        wrapped = active_hooks("wsgi").wrap(_generated_app)
        kept = [wrapped(_environ(f"/read/{n}"), lambda *a: None) for n in range(1)]
        assert b"".join(kept[0]) == b"hello"
        kept.append(wrapped(_environ("/read/1"), lambda *a: None))
        assert next(iter(kept[1])) == b"hel"  # /read/1 is being read...
        _send(wrapped, "/inside")  # ...so this one is not a request of its own
        assert b"".join(kept[1]) == b"lo"
        _send(wrapped, "/after")
        trace = recorder.trace()
    assert [r.path for r in trace.requests] == ["/read/0", "/read/1", "/after"]
    assert [r.status for r in trace.requests] == [200, 200, 200]
    assert recorder.errors == 0


def test_an_app_that_raises_is_an_error_request_and_the_error_propagates() -> None:
    def broken(environ: dict, start_response: Any) -> list[bytes]:
        raise LookupError("no such thing")

    with tracer.record() as recorder:
        wrapped = active_hooks("wsgi").wrap(broken)
        with pytest.raises(LookupError):
            wrapped(_environ("/"), lambda *args: None)
        request = recorder.trace().requests[0]
    assert request.outcome == "error"
    assert "no such thing" in request.error
    call = one(calls(request.steps, Role.REQUEST))
    assert request.steps[-1].parent == call.id and request.steps[-1].kind == "exception"


def _environ(path: str, method: str = "GET") -> dict[str, Any]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    setup_testing_defaults(environ)
    return environ


def _serve_with_wsgiref(app: Any) -> bytes:
    """The bytes `wsgiref` writes for one request (its Date header removed)."""
    out = io.BytesIO()
    handler = SimpleHandler(io.BytesIO(), out, sys.stderr, _environ("/page"),
                            multithread=False)
    handler.run(app)
    return b"\r\n".join(line for line in out.getvalue().split(b"\r\n")
                        if not line.startswith(b"Date:"))


def test_a_server_sees_the_same_bytes_with_and_without_recording() -> None:
    def listed(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"sized"]

    untraced = _serve_with_wsgiref(listed)
    assert b"Content-Length: 5" in untraced  # wsgiref sets it from len() of a 1-item list
    with tracer.record() as recorder:
        traced = _serve_with_wsgiref(active_hooks("wsgi").wrap(listed))
        assert len(recorder.requests) == 1
    assert traced == untraced


def test_once_uninstalled_the_wrapper_passes_through() -> None:
    with tracer.record() as recorder:
        wrapped = active_hooks("wsgi").wrap(_generator_app([]))
    assert _send(wrapped).get_data() == b"one two"
    assert recorder.requests == []
    assert active_hooks("wsgi") is None
