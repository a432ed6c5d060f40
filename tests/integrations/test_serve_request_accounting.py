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


def test_a_response_dropped_in_a_cycle_does_not_hold_the_stop_back(tmp_path) -> None:
    """The dropped response of a client gone mid-write can sit in a reference cycle (a
    traceback's frames hold it): only a collection runs its finalizer. The stop collects,
    instead of waiting its whole timeout for a request that looks still running."""
    import os
    import time

    from tracer.live.spool import Events, Spool
    from tracer.recorder import Recorder

    sink = os.open(os.devnull, os.O_WRONLY)
    spool = Spool(Recorder(), tmp_path, Events(sink), "app")
    serve = recording_app(_app, spool.request_finished, spool.request_started)
    enabled = gc.isenabled()
    gc.disable()  # the cycle stays until someone collects
    try:
        cycle: list[object] = [serve({}, lambda *args: None)]
        cycle.append(cycle)
        del cycle
        started = time.monotonic()
        spool.close(timeout=60)  # (no trace was recorded here: it counts one as dropped)
        took = time.monotonic() - started
    finally:
        if enabled:
            gc.enable()
        os.close(sink)
    assert took < 30  # not the timeout: nothing was left running
