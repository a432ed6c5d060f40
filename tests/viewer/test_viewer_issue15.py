"""Issue #15: the Resolution pane shows converted arguments as recorded, and the Source
pane shows lines the trace does not hold as a gap, never as numbered blank lines."""

from __future__ import annotations

import dataclasses

from viewer_traces import LINE_FILE, line_trace, record

from tracer.model import SourceFile, Trace
from viewer.tui.app import ViewerApp
from viewer.tui.highlight import HighlightedFile
from viewer.tui.resolution import resolve_request
from viewer.tui.widgets.resolution_pane import ResolutionPane
from viewer.tui.widgets.source_view import SourceView

SIZE = (120, 40)


def _args(trace: Trace, request: int = 0) -> str:
    lines = resolve_request(trace.requests[request], trace.routes)
    return next(line.text for line in lines if line.label == "Args")


def test_an_int_converted_argument_is_shown_as_the_match_returned_it() -> None:
    trace = record("real_app", "GET /shop/products/42")
    assert trace.requests[0].view_args == {"product_id": "42"}  # the recorded repr
    assert _args(trace) == "product_id=42"


def test_a_str_argument_is_quoted_once() -> None:
    trace = line_trace()
    request = dataclasses.replace(trace.requests[0], view_args={"name": "'abc'"})
    trace = dataclasses.replace(trace, requests=(request,))
    assert _args(trace) == "name='abc'"


async def test_the_resolution_pane_shows_the_int_unquoted() -> None:
    app = ViewerApp(record("real_app", "GET /shop/products/42"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = app.query_one(ResolutionPane).plain_text
        assert "Args" in shown and "product_id=42" in shown
        assert "product_id='42'" not in shown


def test_a_file_s_rows_are_its_embedded_lines_and_one_gap_per_missing_run() -> None:
    lines = {3: "def f():", 4: "    return 1", 9: "def g():", 10: "    pass", 12: "x = 1"}
    highlighted = HighlightedFile("m.py", lines)
    assert highlighted.rows == [1, 3, 4, 5, 9, 10, 11, 12]
    gaps = {row: highlighted.gap(row) for row in range(len(highlighted.rows))}
    assert gaps == {0: (1, 2), 1: None, 2: None, 3: (5, 8), 4: None, 5: None, 6: (11, 11),
                    7: None}
    assert [highlighted.row_of(n) for n in (1, 2, 3, 4, 5, 8, 9, 11, 12)] == [
        0, 0, 1, 2, 3, 3, 4, 6, 7]
    assert HighlightedFile("m.py", {1: "a", 2: "b"}).rows == [1, 2]  # nothing missing


def _sparse_trace() -> Trace:
    """The hand-built line trace with its file embedded only in part: lines 1-2 and 7-8."""
    trace = line_trace()
    held = {1: "def total(items):", 2: "    subtotal = 0", 7: "def price(item):",
            8: "    return item * 2"}
    return dataclasses.replace(trace, sources={LINE_FILE: SourceFile("0" * 64, held)})


async def test_the_source_pane_draws_a_gap_where_the_trace_holds_no_lines() -> None:
    trace = _sparse_trace()
    app = ViewerApp(trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        price = next(s.id for s in trace.requests[0].steps if s.name == "price")
        app.jump_to(price)
        await pilot.pause()
        source = app.query_one(SourceView)
        rows = [source.render_row(row, 80).plain for row in range(source.row_count())]
        assert rows == [
            " 1 │ def total(items):",
            " 2 │     subtotal = 0",
            " ⋮ │ lines 3-6 not in this trace",
            "▶7 │ def price(item):",
            " 8 │     return item * 2",
        ]
        assert source.cursor == 3 and source.line_of(source.cursor) == 7
        assert source.visible_lines == [1, 2, 7, 8]
        app.jump_to(0)  # back in `total`, line 1: the cursor row follows the line
        await pilot.pause()
        assert source.cursor == 0


def test_a_step_on_a_line_the_trace_lacks_points_at_its_gap() -> None:
    highlighted = HighlightedFile("m.py", {1: "a", 5: "b"})
    assert highlighted.rows == [1, 2, 5]
    assert highlighted.row_of(3) == 1 and highlighted.gap(1) == (2, 4)

