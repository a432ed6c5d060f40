"""`--source` quotes only lines that ran: checked against a recording of every line.

Recorded with `lines=True`, a trace holds a `line` step for each line each call ran, under
that call. A quoted line must be one of those, run by a step of the item, a call above it
or a call below it; or the `def` (with its decorators) of such a call, or the line its
return or exception left from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest
from explain_helpers import fixture, forget_fixtures

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.items import Item, Section
from tracer.frameworks.narration.narrative import explain
from tracer.frameworks.narration.steps import Steps, body_lines, def_lines
from tracer.model import SourceFile, Step, Trace
from tracer.session import record_app
from viewer.explain.render import plain


def _record(name: str, method: str, path: str) -> Trace:
    forget_fixtures()
    try:
        return record_app(fixture(name), [RequestSpec(method, path)], lines=True).trace
    finally:
        forget_fixtures()


def _walk(items: tuple[Item, ...]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from _walk(item.children)


def _ran(trace: Trace, steps: Steps, item: Item) -> set[tuple[str | None, int | None]]:
    """The lines an item may quote: what its steps, their callers and callees ran."""
    context: set[int] = set()
    for step_id in item.steps:
        step = steps[step_id]
        context.add(step.id)
        context.update(each.id for each in steps.descendants(step))
        while (step := steps.parent(step)) is not None:
            context.add(step.id)
    allowed: set[tuple[str | None, int | None]] = set()
    for step in (steps[step_id] for step_id in context):
        allowed.update((line.file, line.line) for line in steps.children(step, "line"))
        if step.kind == "call":
            allowed.update(def_lines(trace.sources, step.file, step.line))
            end = steps.end(step)
            if end is not None and end.line:
                allowed.add((end.file, end.line))
    return allowed


def _not_run(trace: Trace, sections: tuple[Section, ...]) -> tuple[list[str], int]:
    wrong, checked = [], 0
    for section in sections:
        phase = (trace.registration.steps if section.kind == "registration"
                 else trace.request(section.request or 0).steps)
        steps = Steps(phase)
        for item in _walk(section.items):
            allowed = _ran(trace, steps, item)
            for file, line in item.sources:
                checked += 1
                if (file, line) not in allowed:
                    text = trace.sources[file].lines.get(line, "").strip()
                    wrong.append(f"{section.kind} {item.number}: {file}:{line} {text}")
    return wrong, checked


@pytest.mark.parametrize(("name", "method", "path", "told"), [
    # a match, hooks, url_for, a template, nested blueprints
    ("callbacks", "GET", "/shop/fr/items/3", ["registration", "request"]),
    # a 404 and its error handler, after-request functions
    ("real_app", "GET", "/docs", ["request"]),
    # a 405 looked up by `handle_http_exception`, not by `handle_user_exception`
    ("seed_views", "POST", "/index", ["request"]),
    # `add_url_rule` raising inside `decorator`: the import fails, no request
    ("check_no_wraps", "GET", "/report", ["registration"]),
    # `methods` given
    ("seed_login", "GET", "/login", ["registration", "request"]),
    # `as_view` with class decorators, a `MethodView` handler
    ("seed_views", "GET", "/index", ["registration", "request"]),
])
def test_every_quoted_line_ran(name: str, method: str, path: str, told: list[str]) -> None:
    trace = _record(name, method, path)
    sections = explain(trace)
    assert [s.kind for s in sections] == told
    wrong, checked = _not_run(trace, sections)
    assert checked > 10
    assert wrong == []


def test_a_lines_trace_is_told_like_a_plain_one() -> None:
    """With every line recorded, the registration's steps sit inside the module's own call;
    the narrative still finds them, and the request reads the same."""
    trace = _record("callbacks", "GET", "/shop/fr/items/3")
    text = plain(explain(trace), "en")
    assert "prefixed the endpoint with `shop.catalog.`" in text
    assert "`item` called `url_for('.item')`: it ran the URL defaults functions `add_lang`" in text
    assert "`item` rendered the template `<string>`" in text
    assert "`dispatch_request` called `self.view_functions['shop.catalog.item'](**view_args)`" \
        in text


# -- where a function's body ends -------------------------------------------------------------

_AS_VIEW_LIKE = {
    10: "    if every_request:",
    11: "        def view(**kwargs):",
    12: "            return fresh(**kwargs)",
    13: "",
    14: "    else:",
    15: "        def view(",
    16: "            **kwargs,",
    17: "        ):",
    18: "            # the shared instance",
    19: "            return shared(**kwargs)",
    20: "    view.__name__ = name",
    21: "    view.view_class = cls",
    22: "    view.__name__ = name",
}


def _call_running(first: int, lines: Iterable[int]) -> tuple[Steps, Step]:
    """A call of the function starting at `first` in views.py, in which `lines` ran."""
    call = Step(0, None, "call", "view", "views.py", first, 0, 0)
    ran = [Step(index, 0, "line", "view", "views.py", line, 0, 0)
           for index, line in enumerate(lines, start=1)]
    return Steps([call, *ran]), call


def test_a_nested_function_ends_where_the_code_goes_back_out() -> None:
    """Quoting from the `view` that ran never reaches the lines of the function holding it."""
    sources = {"views.py": SourceFile("0", _AS_VIEW_LIKE)}
    needles = ("return shared(", "view.__name__ = name")
    assert body_lines(sources, *_call_running(15, range(15, 23)), needles) == [("views.py", 19)]
    either = ("return fresh(", "return shared(")
    assert body_lines(sources, *_call_running(11, range(11, 23)), either) == [("views.py", 12)]


def test_after_skips_a_statement_written_earlier_in_the_function() -> None:
    sources = {"views.py": SourceFile("0", {9: "def as_view(cls, name):", **_AS_VIEW_LIKE})}
    steps, call = _call_running(9, range(9, 23))
    first = body_lines(sources, steps, call, ("view.__name__ = name",))
    later = body_lines(sources, steps, call, ("view.__name__ = name",), after=21)
    assert first == [("views.py", 20)] and later == [("views.py", 22)]


def test_only_lines_that_ran_in_the_call_are_quoted() -> None:
    """A statement of a branch not taken is never quoted, though its text is there."""
    sources = {"views.py": SourceFile("0", {9: "def as_view(cls, name):", **_AS_VIEW_LIKE})}
    needles = ("return fresh(", "view.__name__ = name", "view.view_class = cls")
    assert body_lines(sources, *_call_running(9, [10, 14, 20, 21]), needles) == [
        ("views.py", 20), ("views.py", 21)]
    assert body_lines(sources, *_call_running(9, []), needles) == []
