"""A request's outcome is what the client got: a 4xx/5xx is never `ok`, a view's redirect
has its Location, and a response that broke after the view returned is an error."""

from __future__ import annotations

import pytest
from flaskscope_testing import location_sent

import tracer
from tracer.model import Role


@pytest.fixture
def outcomes(fresh_import) -> tracer.Trace:
    with tracer.record() as recorder:
        client = fresh_import("fixtures.outcomes").app.test_client()
        for path in ("/admin/panel", "/legal", "/teapot", "/boom", "/old", "/new"):
            client.get(path)
        with pytest.raises(RuntimeError, match="the stream broke"):
            client.get("/stream").get_data()
        with pytest.raises(RuntimeError, match="teardown failed"):
            client.get("/teardown-fails")
        return recorder.trace()


def _by_path(trace: tracer.Trace) -> dict[str, tracer.Request]:
    return {request.path: request for request in trace.requests}


@pytest.mark.parametrize(("path", "status", "outcome"), [
    ("/admin/panel", 403, "http_error"),
    ("/legal", 451, "error_status"),
    ("/teapot", 418, "error_status"),
    ("/boom", 500, "error"),
    ("/old", 302, "redirect"),
    ("/new", 200, "ok"),
])
def test_the_outcome_tells_apart_how_a_request_ended(outcomes, path: str, status: int,
                                                     outcome: str) -> None:
    request = _by_path(outcomes)[path]
    assert (request.status, request.outcome) == (status, outcome)


def test_a_redirect_made_by_the_view_records_its_location(outcomes) -> None:
    assert _by_path(outcomes)["/old"].redirect_to == location_sent("/new?from=old")


def test_a_stream_that_breaks_off_is_an_error_after_a_200(outcomes) -> None:
    request = _by_path(outcomes)["/stream"]
    assert (request.status, request.outcome) == (200, "error")
    assert request.error == "RuntimeError('the stream broke')"
    (broken,) = [s for s in request.steps if s.role == Role.RESPONSE_BODY]
    assert broken.facts == {"failed": "while the body was sent", "bytes_sent": 12}


def test_a_teardown_that_raises_leaves_the_client_without_a_response(outcomes) -> None:
    request = _by_path(outcomes)["/teardown-fails"]
    assert (request.status, request.outcome) == (None, "error")
    assert request.error == "RuntimeError('teardown failed')"
