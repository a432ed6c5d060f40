"""`serve` counts a request as done exactly once, whatever the server does with its
response: Werkzeug's dev server skips `close()` when the client resets the connection
while it reads what is left of the request, and a request never done held its trace back
until the stop, and the stop for its whole `--stop-timeout`."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable

import pytest

from tracer.frameworks.werkzeug.serving import recording_app


def _app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _failing(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    raise LookupError("no such thing")


def _counted(app: Callable[..., Iterable[bytes]]) -> tuple[Callable[..., object], list[str]]:
    calls: list[str] = []
    wrapped = recording_app(app, lambda: calls.append("done"), lambda: calls.append("started"))
    return wrapped, calls


def test_a_response_dropped_unclosed_is_done() -> None:
    serve, calls = _counted(_app)
    response = serve({}, lambda *args: None)
    assert calls == ["started"]
    del response
    gc.collect()
    assert calls == ["started", "done"]


def test_a_closed_response_is_done_once() -> None:
    serve, calls = _counted(_app)
    response = serve({}, lambda *args: None)
    assert list(response) == [b"hello"]
    response.close()  # type: ignore[attr-defined]
    response.close()  # type: ignore[attr-defined]
    del response
    gc.collect()
    assert calls == ["started", "done"]


def test_an_app_that_raises_is_done_once() -> None:
    serve, calls = _counted(_failing)
    with pytest.raises(LookupError):
        serve({}, lambda *args: None)
    gc.collect()
    assert calls == ["started", "done"]
