"""The onion pane tells apart decorator layers made by one factory.

`fixtures/factory_layers.py`: `tag("first")` and `tag("second")` make layers with the same
code and the same name. The pane labels each by the expression that made it and marks as
entered only the layers that ran: a layer that answers early leaves the ones inside it
unentered, whichever of the namesakes it is.
"""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from pathlib import Path

import pytest
from viewer_traces import record

from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Role, Trace
from tracer.session import record_app
from viewer.tui.app import ViewerApp
from viewer.tui.onion import build_onion, entered_calls
from viewer.tui.widgets.onion_pane import OnionPane

LAYER = "tag.<locals>.deco.<locals>.tagged"
SIZE = (160, 40)


@pytest.fixture(scope="module")
def layers_trace() -> Trace:
    return record("factory_layers", "GET /hello", "GET /hello?stop=1", "GET /stacked",
                  "GET /stacked?stop=1", "GET /twice", "GET /looped")


def _only(trace: Trace, request: int) -> Trace:
    """The trace with one request: the viewer opens on it."""
    return dataclasses.replace(trace, requests=(trace.requests[request],))


def _onion(trace: Trace, request: int) -> list[tuple[str, bool, str | None]]:
    recorded = trace.requests[request]
    onion = build_onion(trace, recorded, entered_calls(recorded.steps))
    return [(layer.link.qualname, layer.entered, layer.made_by) for layer in onion.layers
            if layer.link.kind in ("decorator", "view")]


def _without_layer_facts(trace: Trace) -> Trace:
    """The trace as a recorder that did not name each layer call's link wrote it."""
    requests = tuple(dataclasses.replace(request, steps=tuple(
        dataclasses.replace(s, facts={k: v for k, v in s.facts.items() if k != "layer"})
        if s.role == Role.LAYER else s for s in request.steps)) for request in trace.requests)
    return dataclasses.replace(trace, requests=requests)


def test_an_early_return_leaves_the_layers_inside_unentered(layers_trace: Trace) -> None:
    for trace in (layers_trace, _without_layer_facts(layers_trace)):
        assert _onion(trace, 3) == [  # GET /stacked?stop=1: "first", outside, answers
            (LAYER, True, '@tag("first")'),
            (LAYER, False, '@tag("second")'),
            ("stacked", False, None),
        ]
        assert _onion(trace, 1) == [  # GET /hello?stop=1: "first", inside, answers
            (LAYER, True, '@tag("second")'),
            (LAYER, True, '@tag("first")'),
            ("View.as_view.<locals>.view", False, None),
        ]


def test_namesakes_without_an_expression_are_told_by_position(layers_trace: Trace) -> None:
    assert _onion(layers_trace, 4)[:2] == [(LAYER, True, 'the 2nd @tag("x")'),
                                           (LAYER, True, 'the 1st @tag("x")')]
    assert _onion(layers_trace, 5)[:2] == [
        (LAYER, True, "@tag, layer 1 of 2 from the outside"),
        (LAYER, True, "@tag, layer 2 of 2 from the outside"),
    ]


async def test_the_pane_shows_what_made_each_layer(layers_trace: Trace) -> None:
    app = ViewerApp(_only(layers_trace, 3))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        pane = app.query_one(OnionPane)
        lines = pane.plain_text.splitlines()
        first = next(line for line in lines if '@tag("first")' in line)
        second = next(line for line in lines if '@tag("second")' in line)
        assert lines.index(first) < lines.index(second)
        assert first.lstrip().startswith(("●", "▶")) and "not entered" not in first
        assert second.lstrip().startswith("○") and "not entered" in second
        assert [entered for _, entered, _ in pane.marks][:3] == [True, False, False]


HOSTILE = '''
    import functools
    from flask import Flask
    from flask.views import View

    def tag(label):
        def deco(f):
            @functools.wraps(f)
            def tagged(*args, **kwargs):
                return f(*args, **kwargs)
            return tagged
        return deco

    class Loud(View):
        decorators = [tag("\x1b[2J\u202eLONG"), tag("b")]
        def dispatch_request(self):
            return "loud"

    app = Flask(__name__)
    app.add_url_rule("/loud", view_func=Loud.as_view("loud"))
'''.replace("LONG", "long" * 60)


async def test_an_expression_from_the_source_is_escaped_and_clipped(tmp_path: Path) -> None:
    path = tmp_path / "hostile_onion.py"
    path.write_text(textwrap.dedent(HOSTILE), "utf-8")
    try:
        trace = record_app(str(path), [RequestSpec("GET", "/loud")]).trace
    finally:
        sys.modules.pop("hostile_onion", None)
    app = ViewerApp(trace)
    async with app.run_test(size=(400, 40)) as pilot:
        await pilot.pause()
        text = app.query_one(OnionPane).plain_text
        assert "\x1b" not in text and "\u202e" not in text
        line = next(line for line in text.splitlines() if "@tag(\"\\x1b[2J\\u202e" in line)
        assert "long" * 10 in line and "long" * 20 not in line and "…" in line
