"""The viewer driven by keys and clicks, asserting on what each pane holds."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from tracer.model import Role, Trace
from viewer.tui.app import ACTIONS, ViewerApp
from viewer.tui.navigation import search_text
from viewer.tui.screens.help import HelpScreen
from viewer.tui.screens.search import SearchScreen
from viewer.tui.widgets.locals_pane import LocalsPane
from viewer.tui.widgets.onion_pane import OnionPane
from viewer.tui.widgets.request_list import RequestList
from viewer.tui.widgets.resolution_pane import ResolutionPane
from viewer.tui.widgets.source_view import SourceView
from viewer.tui.widgets.stack_pane import StackPane
from viewer.tui.widgets.step_tree import StepTree

SIZE = (120, 40)


def step_id(trace: Trace, request: int, role: str, kind: str = "call") -> int:
    return next(s.id for s in trace.requests[request].steps if s.role == role and s.kind == kind)


def state(app: ViewerApp) -> tuple[Any, ...]:
    """Everything a reader sees that depends on the current step (not on scrolling)."""
    source = app.query_one(SourceView)
    locals_pane = app.query_one(LocalsPane)
    return (
        app.position.phase,
        app.position.step,
        source.location,
        source.cursor,
        locals_pane.plain_text,
        tuple(app.query_one(StackPane).frames),
        tuple(app.query_one(OnionPane).marks),
        app.query_one(StepTree).cursor,
    )


def assert_current_line_visible(app: ViewerApp) -> None:
    source = app.query_one(SourceView)
    if source.cursor is not None:
        assert source.location.line in source.visible_lines
    tree = app.query_one(StepTree)
    top = int(tree.scroll_y)
    assert top <= tree.cursor < top + tree.scrollable_content_region.height


async def search(pilot: Pilot, text: str) -> None:
    """Type `text` into the open search prompt (all at once) and submit it."""
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


async def test_opens_on_the_first_request_with_every_pane_filled(views_trace: Trace) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.position.phase == 1 and app.position.step == 0
        assert app.query_one(RequestList).cursor == 1
        source = app.query_one(SourceView)
        assert source.location.qualname == "Flask.wsgi_app"
        assert source.location.file.endswith("flask/app.py")
        assert source.file.line(source.location.line).plain.strip().startswith("def wsgi_app")
        assert_current_line_visible(app)
        assert str(app.query_one("#source-header").render()).startswith("flask/app.py:")
        shown = app.query_one(LocalsPane).shown
        assert shown["method"] == ("'GET'", True)
        assert app.query_one(StackPane).frames == [0]
        resolution = app.query_one(ResolutionPane).plain_text
        assert "Handler  GET → get() → IndexView.get" in resolution
        marks = app.query_one(OnionPane).marks
        assert marks[-1] == ("IndexView.post", False, False)
        assert all(entered for _, entered, _ in marks[:-1]), marks
        assert isinstance(app.focused, StepTree)


async def test_next_then_previous_returns_exactly_to_each_earlier_state(
    views_trace: Trace,
) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        forward = [state(app)]
        for key in ["n", "right"] * 6:
            await pilot.press(key)
            forward.append(state(app))
            assert_current_line_visible(app)
        assert [s[1] for s in forward] == list(range(13))
        backward = [state(app)]
        for key in ["p", "left"] * 6:
            await pilot.press(key)
            backward.append(state(app))
            assert_current_line_visible(app)
        assert backward == forward[::-1]


async def test_into_out_over_first_last(views_trace: Trace) -> None:
    steps = views_trace.requests[0].steps
    dispatch = step_id(views_trace, 0, Role.DISPATCH)
    handler = step_id(views_trace, 0, Role.HANDLER)
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("s")
        assert steps[app.position.step].parent == 0  # into wsgi_app
        app.jump_to(dispatch)
        await pilot.press("N")  # over the whole dispatch
        after = app.position.step
        assert steps[after].parent == steps[dispatch].parent and after > dispatch
        assert steps[after].role == Role.FINALIZE
        app.jump_to(handler)
        await pilot.press("o")  # to where the handler returns
        assert steps[app.position.step].kind == "return"
        assert steps[app.position.step].parent == handler
        assert "return value" in app.query_one(LocalsPane).shown
        await pilot.press("o")  # and from there to where dispatch_request returns
        assert steps[app.position.step].parent == steps[handler].parent
        await pilot.press("G")
        assert app.position.step == len(steps) - 1
        await pilot.press("g")
        assert app.position.step == 0


async def test_search_finds_by_name_then_the_next_match_and_reports_a_miss(
    views_trace: Trace,
) -> None:
    steps = views_trace.requests[0].steps
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await search(pilot, "IndexView.get")
        expected = [s.id for s in steps if "indexview.get" in search_text(s)]
        assert app.position.step == expected[0]
        await pilot.press("slash", "enter")  # the last query is offered again: next match
        assert app.position.step == expected[1]
        assert any(steps[i].name == "IndexView.get" and steps[i].role == Role.HANDLER
                   for i in expected)
        await pilot.press("slash")
        await search(pilot, "'Index.GET'")  # a value
        assert steps[app.position.step].detail.get("result") == "'Index.GET'"
        before = app.position.step
        await pilot.press("slash")
        await search(pilot, "no such step")
        assert app.position.step == before
        assert any("no step matches" in n.message for n in app._notifications)
        await pilot.press("slash", "escape")
        assert not isinstance(app.screen, SearchScreen) and app.position.step == before


async def test_line_steps_show_distinctly_and_f_hides_them(line_trace: Trace) -> None:
    app = ViewerApp(line_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.query_one(StepTree)
        rows = [tree.render_row(r, 80).plain for r in range(tree.row_count())]
        assert len(rows) == 15
        assert "   4│ subtotal += price(item)  item=1" in rows[3]
        assert "total [view]" in rows[0]
        styles = {str(span.style) for span in tree.render_row(3, 80).spans}
        assert "dim" in styles and "bold cyan" not in styles  # lines: dim, hooks: bold
        for _ in range(8):
            await pilot.press("n")
        assert app.position.step == 8
        assert app.query_one(LocalsPane).shown == {
            "items": ("[1, 2]", False), "subtotal": ("2", False), "item": ("2", True),
        }
        assert app.query_one(SourceView).location.line == 4
        await pilot.press("f")
        assert app.position.step == 0  # the hidden line gave way to its frame
        assert tree.row_count() == 7
        await pilot.press("n", "n")
        assert app.position.step == 6  # price's return: no line steps in between
        await pilot.press("f")
        assert tree.row_count() == 15 and app.position.step == 6
        await pilot.press("p")
        assert app.position.step == 5


async def test_bookmarks_mark_rows_and_jump_back(views_trace: Trace) -> None:
    handler = step_id(views_trace, 0, Role.HANDLER)
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("apostrophe")
        assert app.position.step == 0  # nothing bookmarked yet
        app.jump_to(handler)
        await pilot.press("b")
        tree = app.query_one(StepTree)
        assert tree.render_row(tree.cursor, 80).plain.startswith("★")
        await pilot.press("g", "apostrophe")
        assert app.position.step == handler
        await pilot.press("b", "g", "apostrophe")  # unmarked: stays put
        assert app.position.step == 0


async def test_tab_cycles_panes_and_q_quits(views_trace: Trace) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chain = [widget.id for widget in app.screen.focus_chain]
        assert chain == ["requests", "steps", "source", "locals", "stack", "resolution", "onion"]
        await pilot.press("tab")
        assert app.focused.id == "source"
        await pilot.press("shift+tab", "shift+tab")
        assert app.focused.id == "requests"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_lists_every_key_and_blocks_stepping(views_trace: Trace) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.screen.app_keys)
        for key in ("n / →", "p / ←", "s", "o", "N", "g", "G", "/", "f", "b", "'", "tab",
                    "?", "q"):
            assert key in keys, key
        assert keys["N"] == ACTIONS["step_over"][1]
        await pilot.press("n")
        assert app.position.step == 0  # the help screen is modal
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("n")
        assert app.position.step == 1


async def test_clicks_on_steps_folds_stack_frames_and_onion_layers(views_trace: Trace) -> None:
    steps = views_trace.requests[0].steps
    handler = step_id(views_trace, 0, Role.HANDLER)
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.query_one(StepTree)
        await pilot.click(StepTree, offset=(20, 1 + 3))  # border, then row 3
        assert app.position.step == 3
        app.jump_to(handler)
        await pilot.pause()
        stack = app.query_one(StackPane)
        assert stack.frames[0] == handler and len(stack.frames) == 7
        await pilot.click(StackPane, offset=(5, 1 + 6))  # the outermost frame
        assert app.position.step == 0
        await pilot.click(StepTree, offset=(2, 1 + 0))  # the ▾ of row 0
        assert app.state.navigator.is_collapsed(0) and tree.row_count() == 1
        await pilot.press("space")
        assert tree.row_count() == len(steps)
        onion = app.query_one(OnionPane)
        await pilot.click(OnionPane, offset=(10, 1 + 1))  # the outermost layer
        assert steps[app.position.step].role == Role.LAYER
        assert onion.marks[0][2]  # and the onion says the reader is inside it


async def test_requests_pane_switches_requests_and_keeps_their_places(views_trace: Trace) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n", "n", "n")
        await pilot.click(RequestList, offset=(5, 1 + 2))  # HEAD /index
        assert app.position.phase == 2 and app.position.step == 0
        resolution = app.query_one(ResolutionPane).plain_text
        assert "HEAD → no head(), falls back to get() → IndexView.get" in resolution
        app.query_one(RequestList).focus()
        await pilot.press("down")  # POST: 405
        assert app.position.phase == 3
        assert "405 Method Not Allowed" in app.query_one(ResolutionPane).plain_text
        assert "did not run" in app.query_one(OnionPane).plain_text
        await pilot.press("up", "up")
        assert app.position.phase == 1 and app.position.step == 3  # where GET was left
        await pilot.press("up")
        assert app.position.phase == 0  # registration
        assert app.query_one(ResolutionPane).plain_text.startswith("Rules")
        assert "registration" in app.query_one(OnionPane).plain_text


async def test_every_action_is_in_the_command_palette(views_trace: Trace) -> None:
    app = ViewerApp(views_trace)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        commands = list(app.get_system_commands(app.screen))
        callbacks = {command.callback for command in commands}
        for action in ACTIONS:
            if action != "quit":
                assert getattr(app, f"action_{action}") in callbacks, action
        await pilot.press("ctrl+p")
        app.screen.query_one(Input).value = "last step"
        await pilot.pause(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await pilot.pause()
        assert app.position.step == views_trace.requests[0].steps[-1].id
