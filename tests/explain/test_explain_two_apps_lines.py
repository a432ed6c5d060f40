"""explain on a `--lines` recording of fixtures/two_apps.py: apps are told apart there too.

Recorded with every line, the registration's top steps are the modules' own `<module>`
calls, and the helper module's is inside the main one's: the app of each step is read from
the outermost steps with a role, as the registration is walked.
"""

from __future__ import annotations

import functools

import pytest
from explain_helpers import fixture, forget_fixtures, item_with

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.narrative import explain
from tracer.frameworks.narration.steps import Steps
from tracer.model import Role, Trace
from tracer.session import record_app
from viewer.explain.render import plain

LEFT_OUT = ("Loading `fixtures.two_apps`, the app asked for, also made another app, "
            "`fixtures.two_apps_helper`: its registration steps are left out.")


@functools.cache
def _lines_trace() -> Trace:
    forget_fixtures()
    try:
        return record_app(fixture("two_apps"), [RequestSpec("GET", "/index")],
                          lines=True).trace
    finally:
        forget_fixtures()


def test_a_lines_trace_has_module_calls_on_top() -> None:
    """What makes this case: no registration step with a role is a top step."""
    steps = Steps(_lines_trace().registration.steps)
    assert steps.top() and all(step.role is None for step in steps.top())


def test_each_outermost_step_has_its_app() -> None:
    trace = _lines_trace()
    steps = Steps(trace.registration.steps)
    owners = AppOwners(trace, steps)
    made = [step for step in steps.outermost() if step.role == Role.CONFIG_ROOT]
    assert [owners.owner(step) for step in made] == ["fixtures.two_apps_helper",
                                                     "fixtures.two_apps"]
    routes = [step for step in steps.outermost() if step.role == Role.ROUTE_DECORATOR]
    assert [(step.detail["rule"], owners.owner(step)) for step in routes] == [
        ("'/health'", "fixtures.two_apps_helper"), ("'/index'", "fixtures.two_apps_helper"),
        ("'/index'", "fixtures.two_apps"), ("'/about'", "fixtures.two_apps")]
    module = steps.top()[0]
    assert owners.owner(module) is None  # a module's call belongs to no one app


@pytest.mark.parametrize("registration_only", [False, True])
def test_the_asked_apps_registration_is_told_from_a_lines_trace(
        registration_only: bool) -> None:
    text = plain(explain(_lines_trace(), registration_only=registration_only), "en")
    assert item_with(text, LEFT_OUT).strip().startswith("1. ")
    made = item_with(text, "make_config")
    assert "instance_relative_config=True" in made and "`fixtures/instance`" in made
    item_with(text, "from_pyfile('settings.py')")
    item_with(text, "`app.view_functions['index'] = index`")
    assert "ADMIN_LABEL" not in text and "/health" not in text
