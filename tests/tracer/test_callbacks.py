"""Every user function Flask calls during a request is a step under the Flask function
that called it, also the ones it calls directly rather than through `ensure_sync`."""

from __future__ import annotations

import pytest
from flaskscope_testing import REPO_ROOT, URL_FOR_STEP
from oracle import Observer, check_requests

import tracer
from tracer.api import default_scope
from tracer.model import Role


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_each_callback_is_a_step_under_the_call_that_ran_it(fresh_import, lines: bool) -> None:
    with tracer.record(lines=lines) as recorder:
        module = fresh_import("fixtures.callbacks")
        response = module.app.test_client().get("/shop/fr/items/3")
        trace = recorder.trace()
    assert response.get_data(as_text=True) == "callbacks /shop/fr/items/4"
    request = trace.requests[0]
    assert request.endpoint == "shop.catalog.item"
    steps = {s.id: s for s in request.steps}

    def callers(role: str, name: str) -> list[str]:
        """The names of the calls `name` ran under, innermost first (in line mode, Flask's
        own functions in between are steps too)."""
        (step,) = [s for s in request.steps
                   if s.kind == "call" and s.role == role and s.name == name]
        names = []
        while step.parent is not None:
            step = steps[step.parent]
            names.append(step.name)
        return names

    assert "Flask.preprocess_request" in callers(Role.URL_VALUE_PREPROCESSOR, "pull_lang")
    assert URL_FOR_STEP in callers(Role.URL_DEFAULTS, "add_lang")
    assert "Flask.update_template_context" in callers(Role.CONTEXT_PROCESSOR, "site_name")
    assert "Flask.do_teardown_appcontext" in callers(Role.APPCONTEXT_TEARDOWN_FUNCTION,
                                                     "close_connection")
    if not lines:  # directly under them
        assert callers(Role.URL_DEFAULTS, "add_lang")[0] == URL_FOR_STEP
        assert callers(Role.CONTEXT_PROCESSOR, "site_name")[0] == "Flask.update_template_context"
    (url_for,) = [s for s in request.steps if s.role == Role.URL_BUILD and s.kind == "call"]
    assert url_for.facts["endpoint"] == ".item"
    assert url_for.facts["caller"]["function"] == "item"  # the view, through flask.url_for
    (render,) = [s for s in request.steps if s.role == Role.TEMPLATE_RENDER and s.kind == "call"]
    assert render.facts == {"template": "<string>"}
    assert "item" in callers(Role.TEMPLATE_RENDER, "render_template_string")


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_an_iterable_stream_with_context_iterates_is_a_step_under_it(fresh_import,
                                                                     lines: bool) -> None:
    fixture = str(REPO_ROOT / "fixtures" / "streamed.py")
    scope = default_scope([fixture]) if lines else None
    with Observer([fixture]) as observer:
        with tracer.record(lines=lines, redact=False, scope=scope) as recorder:
            client = fresh_import("fixtures.streamed").app.test_client()
            body = client.get("/countdown/2?end=now").get_data(as_text=True)
            decorated = client.get("/lines").get_data(as_text=True)
            trace = recorder.trace()
    assert (body, decorated) == ("2\n1\nnow", "one\ntwo\n")
    first, second = sorted(trace.requests, key=lambda r: r.id)
    steps = {s.id: s for s in first.steps}
    (iterated,) = [s for s in first.steps if s.kind == "call"
                   and s.name == "Countdown.__iter__"]
    if not lines:
        assert iterated.role == Role.RESPONSE_ITERABLE
        wrapper = steps[iterated.parent]
        assert (wrapper.name, wrapper.role) == ("stream_with_context", Role.STREAM_WITH_CONTEXT)
        assert wrapper.facts == {"wraps": "Countdown", "given": "iterable"}
        given = [s.facts.get("given") for s in second.steps
                 if s.role == Role.STREAM_WITH_CONTEXT and s.kind == "call"]
        assert given == ["function", "iterable"]
    report = check_requests(trace.requests, observer.take())
    assert [str(d) for d in report.disagreements] == []
