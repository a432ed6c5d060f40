"""The viewer on a store: the Requests pane lists every stored request, newest first,
from the table's columns; a request is read only when it is opened."""

from __future__ import annotations

from pathlib import Path

from tests.store.conftest import tagged
from tracer.model import Trace
from tracer.store import StoreReader, StoreWriter
from tracer.store.reader import RequestFilter
from viewer.tui.app import ViewerApp
from viewer.tui.widgets.request_list import RequestList


def _store(tmp_path: Path, recorded: Trace, count: int) -> Path:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path)
    request = recorded.requests[0]
    for number in range(count):
        writer.write(recorded, [tagged(request, f"r{number}")])
    writer.close()
    return path


async def test_rows_come_from_the_columns_and_a_request_is_read_when_opened(
        tmp_path, recorded: Trace) -> None:
    with StoreReader(_store(tmp_path, recorded, 300)) as reader:
        app = ViewerApp(reader.trace())
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            phases = app.state.phases
            assert len(phases) == 301
            assert [p.index for p in phases.made()] == [0, 1]  # registration, the newest
            assert phases[1].request is not None and phases[1].request.path == "/r299"
            rendered = app.query_one(RequestList).render_row(5, 120).plain
            assert rendered.startswith("#296 GET /r295 → 200 ok")
            assert [p.index for p in phases.made()] == [0, 1]
            app.open_phase(250)
            await pilot.pause()
            assert app.state.phase.request is not None
            assert app.state.phase.request.path == "/r50"
            assert len(app.state.phase.steps) == len(recorded.requests[0].steps)


def test_filters_choose_the_requests(tmp_path, recorded: Trace) -> None:
    with StoreReader(_store(tmp_path, recorded, 30)) as reader:
        trace = reader.trace(RequestFilter(path="/r2*"))
        assert [r.path for r in trace.requests] == [f"/r{n}" for n in
                                                    (29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 2)]


async def test_the_requests_pane_filters_a_store(tmp_path, recorded: Trace) -> None:
    from flaskscope.view_command import _refilter

    with StoreReader(_store(tmp_path, recorded, 40)) as reader:
        trace = reader.trace()
        app = ViewerApp(trace, refilter=_refilter(trace))
        async with app.run_test(size=(140, 40)) as pilot:
            app.query_one(RequestList).focus()
            await pilot.press("F")
            await pilot.pause()
            for key in "path:/r3*":
                await pilot.press(key)
            await pilot.press("enter")
            await pilot.pause()
            assert len(app.state.phases) == 1 + 11  # /r3 and /r30../r39
            assert app.query_one(RequestList).render_row(1, 120).plain.startswith(
                "#40 GET /r39")
            assert app.state.phase.request is not None
            assert app.state.phase.request.path == "/r39"
            await pilot.press("F")
            await pilot.pause()
            await pilot.press("ctrl+a", "ctrl+k", *"status:9xx", "enter")
            await pilot.pause()
            assert len(app.state.phases) == 12  # refused in one notice, the list kept


async def test_a_trace_file_has_no_filter_to_offer(recorded: Trace) -> None:
    app = ViewerApp(recorded)
    async with app.run_test(size=(140, 40)) as pilot:
        app.query_one(RequestList).focus()
        await pilot.press("F")
        await pilot.pause()
        assert len(app.screen_stack) == 1
