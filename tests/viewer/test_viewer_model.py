"""What the panes show, computed without UI: locals, the onion, the resolution, the
source location of a step and the highlighted source."""

from __future__ import annotations

import dataclasses

from viewer_traces import LINE_FILE, line_steps

from tracer.model import Role, Step, Trace
from viewer.tui.highlight import CHUNK, HighlightedFile, SourceCache
from viewer.tui.navigation import StepIndex
from viewer.tui.onion import build_onion, entered_calls
from viewer.tui.resolution import resolve_registration, resolve_request
from viewer.tui.state import ViewState
from viewer.tui.values import FrameValues


def _shown(values) -> dict[str, tuple[str, bool]]:
    return {v.name: (v.value, v.changed) for v in values.values}


def test_locals_accumulate_over_line_steps_and_mark_what_changed() -> None:
    values = FrameValues(StepIndex(line_steps()))
    at_call = values.at(0)
    assert at_call.heading == "arguments of total"
    assert _shown(at_call) == {"items": ("[1, 2]", True)}
    assert _shown(values.at(2)) == {"items": ("[1, 2]", False), "subtotal": ("0", True)}
    assert _shown(values.at(8)) == {
        "items": ("[1, 2]", False), "subtotal": ("2", False), "item": ("2", True),
    }
    assert values.at(8).heading == "locals of total at line 4"
    returned = values.at(14)
    assert returned.heading == "total returned"
    assert _shown(returned)["return value"] == ("6", True)
    assert _shown(returned)["subtotal"] == ("6", False)
    assert _shown(values.at(6)) == {"item": ("1", False), "return value": ("2", True)}
    note = values.at(12)
    assert note.heading == "note: discount checked"
    assert [(f.name, f.value) for f in note.facts] == [("signal", "discount")]
    # Backwards gives the same answers as forwards.
    assert _shown(values.at(2)) == {"items": ("[1, 2]", False), "subtotal": ("0", True)}


def test_locals_of_long_frames_match_a_plain_replay() -> None:
    steps = [Step(0, None, "call", "loop", "f.py", 1, 0, 1, {"n": "500"})]
    for number in range(1, 500):
        steps.append(Step(number, 0, "line", "loop", "f.py", 2 + number % 3, number, 1,
                          {f"v{number % 7}": str(number)}))
    values = FrameValues(StepIndex(tuple(steps)))
    for probe in (499, 3, 250, 64, 65, 128, 1):
        expected = {"n": "500"}
        for step in steps[1 : probe + 1]:
            expected.update(step.detail)
        assert {k: v for k, (v, _) in _shown(values.at(probe)).items()} == expected


def test_onion_marks_entered_layers_and_where_the_reader_is(views_trace: Trace) -> None:
    request = views_trace.requests[0]  # GET /index
    entered = entered_calls(request.steps)
    handler = next(s for s in request.steps if s.role == Role.HANDLER and s.kind == "call")
    ancestry = [handler.id, *StepIndex(request.steps).ancestors(handler.id)]
    onion = build_onion(views_trace, request, entered, ancestry)
    assert onion.route is not None and onion.route.endpoint == "index"
    marks = [(layer.link.qualname, layer.entered, layer.here) for layer in onion.layers]
    assert marks == [
        ("auth.<locals>.inner", True, False),
        ("View.as_view.<locals>.view", True, False),
        ("IndexView", True, False),
        ("MethodView.dispatch_request", True, False),
        ("IndexView.get", True, True),
        ("IndexView.post", False, False),
    ]
    depths = [layer.depth for layer in onion.layers]
    assert depths == [0, 1, 2, 3, 4, 4]  # get and post are alternatives, side by side


def test_onion_of_a_405_names_the_route_but_nothing_entered(views_trace: Trace) -> None:
    request = views_trace.requests[2]  # POST /index
    onion = build_onion(views_trace, request, entered_calls(request.steps))
    assert not onion.dispatched and onion.route is not None and onion.route.rule == "/index"
    assert "did not run" in onion.reason
    assert [layer.entered for layer in onion.layers] == [False] * 6


def test_onion_of_a_404_says_no_view_ran(real_trace: Trace) -> None:
    request = real_trace.requests[1]  # GET /nowhere
    onion = build_onion(real_trace, request, entered_calls(request.steps))
    assert onion.route is None and onion.layers == ()
    assert onion.reason == "no rule matches /nowhere: no view ran"


def _text(lines) -> dict[str, str]:
    return {line.label: line.text for line in lines}


def test_resolution_of_get_head_post_and_options(views_trace: Trace) -> None:
    get, head, post, options = (resolve_request(r, views_trace.routes)
                                for r in views_trace.requests)
    assert _text(get) == {
        "URL": "GET /index",
        "Rule": "/index  [GET, HEAD, OPTIONS]",
        "Endpoint": "index",
        "View": "auth.<locals>.inner → View.as_view.<locals>.view → class IndexView → "
                "MethodView.dispatch_request",
        "Handler": "GET → get() → IndexView.get",
        "Response": "200 ok",
    }
    assert _text(head)["Handler"] == "HEAD → no head(), falls back to get() → IndexView.get"
    assert _text(post)["Rule"] == "/index matches, but not for POST → 405 Method Not Allowed"
    assert _text(post)["Allowed"] == "GET, HEAD, OPTIONS"
    assert "Endpoint" not in _text(post) and _text(post)["Response"] == "405 method_not_allowed"
    assert _text(options)["Handler"].startswith("OPTIONS answered by Flask itself")
    lookup = next(line for line in head if line.label == "Handler")
    assert head_step(views_trace, 1, lookup.step).role == Role.HANDLER_LOOKUP


def head_step(trace: Trace, request: int, step: int | None) -> Step:
    assert step is not None
    return trace.requests[request].steps[step]


def test_resolution_of_redirect_404_and_error_handler(real_trace: Trace) -> None:
    docs, nowhere, boom, _ = (resolve_request(r, real_trace.routes) for r in real_trace.requests)
    assert _text(docs)["Rule"] == (
        "→ 308 redirect to http://localhost/docs/ (strict slashes: the rule ends with '/')"
    )
    assert _text(nowhere)["Rule"] == "no rule matches /nowhere → 404 Not Found"
    assert _text(nowhere)["Error"] == "NotFound (404) → handler handle_not_found"
    assert _text(boom)["Error"] == "ValueError → handler handle_value_error"
    assert _text(boom)["Response"].startswith("400 error: ValueError(")


def test_registration_resolution_lists_the_rules(views_trace: Trace) -> None:
    lines = resolve_registration(views_trace.routes)
    assert lines[0].text == "2 registered"
    assert [line.label for line in lines[1:]] == ["/static/<path:filename>", "/index"]


def test_location_of_calls_lines_returns_and_notes(line_trace: Trace) -> None:
    state = ViewState(line_trace)
    assert state.location(0).line == 1 and state.location(0).qualname == "total"
    assert state.location(8).line == 4
    assert state.location(6).line == 8  # a return with its own line
    note = state.location(12)  # a note has no place: the latest line of its frame
    assert (note.file, note.line, note.qualname) == (LINE_FILE, 4, "total")
    bare = dataclasses.replace(line_trace.requests[0].steps[14], line=None)
    steps = (*line_trace.requests[0].steps[:14], bare)
    request = dataclasses.replace(line_trace.requests[0], steps=steps)
    state = ViewState(dataclasses.replace(line_trace, requests=(request,)))
    assert state.location(14).line == 5  # a return without a line: its frame's last line
    # Hook mode records only the quotable lines: the latest is not where the frame was.
    hooks = dataclasses.replace(line_trace, meta={**line_trace.meta, "lines": False},
                                requests=(request,))
    assert ViewState(hooks).location(14).line == 1 and ViewState(hooks).location(12).line == 1


def test_highlighting_keeps_every_line_and_blanks_the_missing_ones() -> None:
    lines = {1: "def f(x):", 2: '    """doc', 3: "    def g(): fake", 4: '    """',
             5: "    return x  # done"}
    lines.update({n: f"    y{n} = {n}" for n in range(7, 7 + 3 * CHUNK)})
    lines[7 + CHUNK] = "def h():"
    highlighted = HighlightedFile("m.py", lines)
    assert len(highlighted) == 6 + 3 * CHUNK
    for number in range(1, len(highlighted) + 1):
        assert highlighted.line(number).plain == lines.get(number, "")
    assert highlighted.line(6).plain == "" and 6 not in highlighted.present
    assert highlighted.line(0) is None and highlighted.line(len(highlighted) + 1) is None
    keyword = highlighted.line(1).spans[0]
    assert highlighted.line(1).plain[keyword.start : keyword.end] == "def"
    assert any(span.style for span in highlighted.line(5).spans)  # the comment is coloured
    assert SourceCache({}).get("missing.py") is None


def test_entered_calls_finds_the_first_call_of_every_place(views_trace: Trace) -> None:
    for steps in [views_trace.registration.steps, *(r.steps for r in views_trace.requests)]:
        first: dict = {}
        for step in steps:
            if step.kind == "call":
                first.setdefault((step.file, step.line), step.id)
        entered = entered_calls(steps)
        assert first and all(entered.get(place) == step_id for place, step_id in first.items())
        lines = [s.line for s in steps if s.kind != "call" and s.line is not None]
        files = {s.file for s in steps}
        for line in lines[:20]:  # places only other kinds of step have are not calls
            for file in files:
                if (file, line) not in first:
                    assert entered.get((file, line)) is None
