"""The viewer app: step through a recorded trace, forwards and backwards.

The app receives an already-loaded `Trace` (it never reads files or imports Flask), keeps
the reader's place in a `ViewState` and publishes it as the reactive `position`; every
pane watches `position` and redraws what concerns it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Footer

from tracer.errors import FlaskscopeError, TraceFileError
from tracer.model import Trace
from viewer.tui.screens.help import HelpScreen
from viewer.tui.screens.request_filter import RequestFilterScreen
from viewer.tui.screens.search import SearchScreen
from viewer.tui.state import Position, ViewState
from viewer.tui.widgets.locals_pane import LocalsPane
from viewer.tui.widgets.onion_pane import OnionPane
from viewer.tui.widgets.request_list import RequestList
from viewer.tui.widgets.resolution_pane import ResolutionPane
from viewer.tui.widgets.rows import RowsView
from viewer.tui.widgets.source_view import SourcePane, SourceView
from viewer.tui.widgets.stack_pane import StackPane
from viewer.tui.widgets.step_tree import StepTree

#: action → (command palette title, what it does) for the help screen and the palette.
ACTIONS: dict[str, tuple[str, str]] = {
    "next_step": ("Next step", "Next step in time"),
    "previous_step": ("Previous step", "Previous step: backwards in time"),
    "step_into": ("Step into", "Step into: the current call's first step"),
    "step_out": ("Step out", "Step out: to where the current function returns"),
    "step_over": ("Step over", "Next sibling: step over the current call's insides"),
    "first_step": ("First step", "First step of the request"),
    "last_step": ("Last step", "Last step of the request"),
    "search": ("Search steps",
               "Search steps by name, file or value (enter again: next match)"),
    "toggle_lines": ("Toggle line steps", "Show or hide line steps"),
    "bookmark": ("Bookmark step", "Bookmark the current step (again to remove the bookmark)"),
    "next_bookmark": ("Next bookmark", "Jump to the next bookmark"),
    "focus_next": ("Next pane", "Next pane (shift+tab: previous pane)"),
    "help": ("Help", "Every key, by pane"),
    "quit": ("Quit", "Quit"),
}


def _help(action: str) -> str:
    return ACTIONS[action][1]


_TIME = Binding.Group("next/prev")
_TREE = Binding.Group("into/out/over")
_ENDS = Binding.Group("first/last")
_MARKS = Binding.Group("mark/go")


class MainScreen(Screen[None], inherit_bindings=False):
    """The panes and the viewer's keys (the actions live on the app). Keys bound here
    are inactive while help or search is open over this screen; they are listed in the
    order the footer shows them, the most needed first, since a narrow footer is cut.

    | Key | Action |
    | :- | :- |
    | `n` / `→` | Next step in time. |
    | `p` / `←` | Previous step (backwards in time). |
    | `s` | Step into the current call. |
    | `o` | Step out to where the current function returns. |
    | `N` | Next sibling (step over). |
    | `?` | Help. |
    | `q` | Quit. |
    | `/` | Search steps by name, file or value. |
    | `f` | Show or hide line steps. |
    | `g` / `G` | First / last step. |
    | `b` | Bookmark the current step. |
    | `'` | Jump to the next bookmark. |
    | `tab` / `shift+tab` | Next / previous pane. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right", "app.next_step", "next", key_display="n/→",
                tooltip=_help("next_step"), group=_TIME),
        Binding("p,left", "app.previous_step", "previous", key_display="p/←",
                tooltip=_help("previous_step"), group=_TIME),
        Binding("s", "app.step_into", "into", tooltip=_help("step_into"), group=_TREE),
        Binding("o", "app.step_out", "out", tooltip=_help("step_out"), group=_TREE),
        Binding("N", "app.step_over", "over", tooltip=_help("step_over"), group=_TREE),
        Binding("question_mark", "app.help", "help", key_display="?", tooltip=_help("help")),
        Binding("q", "app.quit", "quit", tooltip=_help("quit")),
        Binding("slash", "app.search", "search", key_display="/", tooltip=_help("search")),
        Binding("f", "app.toggle_lines", "lines", tooltip=_help("toggle_lines")),
        Binding("g", "app.first_step", "first", tooltip=_help("first_step"), group=_ENDS),
        Binding("G", "app.last_step", "last", tooltip=_help("last_step"), group=_ENDS),
        Binding("b", "app.bookmark", "mark", tooltip=_help("bookmark"), group=_MARKS),
        Binding("apostrophe", "app.next_bookmark", "to mark", key_display="'",
                tooltip=_help("next_bookmark"), group=_MARKS),
        Binding("tab", "app.focus_next", "pane", tooltip=_help("focus_next")),
        Binding("shift+tab", "app.focus_previous", "previous pane", show=False),
        Binding("ctrl+c,super+c", "screen.copy_text", "Copy selected text", show=False),
    ]

    AUTO_FOCUS = "StepTree"

    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield RequestList(self.state, id="requests", classes="pane")
                yield StepTree(self.state, id="steps", classes="pane")
            with Vertical(id="right"):
                yield SourcePane(self.state, id="source-pane", classes="pane")
                with Horizontal(id="values"):
                    yield LocalsPane(self.state, id="locals", classes="pane")
                    yield StackPane(self.state, id="stack", classes="pane")
        with Horizontal(id="bottom"):
            yield ResolutionPane(self.state, id="resolution", classes="pane")
            yield OnionPane(self.state, id="onion", classes="pane")
        yield Footer(show_command_palette=False)


class ViewerApp(App[None]):
    """Step through a trace on the real Flask source.

    The keys are bound on `MainScreen` (see its table) to the `action_*` methods here;
    `ctrl+p` (command palette) offers every action by name.
    """

    TITLE = "flaskscope"
    CSS_PATH = str(Path(__file__).with_name("viewer.tcss"))  # absolute: subclasses live elsewhere
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]


    position: var[Position] = var(Position(0, None))
    """The phase and step every pane shows; set only through the actions below. A `var`:
    the panes repaint what changed, the app itself must not repaint the whole screen."""

    def __init__(
        self, trace: Trace, *, show_lines: bool = True, freeze_gc: bool = False,
        refilter: Callable[[str], Trace] | None = None,
    ) -> None:
        """Show `trace`; `freeze_gc` is for a process that runs only the viewer.

        A trace of 200,000 steps is hundreds of thousands of objects, and Textual holds
        tens of thousands more; the collector walks them all on every full collection,
        which stalls start-up and then a step for 50-200 ms each time. With `freeze_gc`,
        the collector stays off until the whole trace is decoded (in the background, after
        the first screen); then everything alive leaves its sight (`gc.freeze`) and full
        collections of what is left come ten times less often; young garbage is still
        collected as usual.

        Steps loaded lazily (`tracefile.load(lazy=True)`) are decoded in a background
        thread once the first screen is up; a damaged file then, or on any read, ends
        the app with exit code 2 and the problem in `error`.

        `refilter` (a trace store) turns `key:value` filters into the trace of the
        requests that match; the Requests pane's `F` asks for them.
        """
        super().__init__()
        self.trace = trace
        self.refilter = refilter
        self._last_filter = ""
        self.freeze_gc = freeze_gc
        self.error: str | None = None
        if freeze_gc:
            gc.disable()
        self.state = ViewState(trace, show_lines=show_lines)
        self._revision = 0
        self._last_search = ""
        self.set_reactive(ViewerApp.position, self.state.position())

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.state)

    def on_ready(self) -> None:
        self.run_worker(self._preload, thread=True, exclusive=True, group="preload")

    def _preload(self) -> None:
        """Decode every phase's lazily stored steps, the open one first, so that a damaged
        file is reported now rather than when the reader reaches the damage."""
        phases = self.state.phases
        order = [self.state.phase_index] + [p.index for p in phases.made()
                                            if p.index != self.state.phase_index]
        try:
            for index in order:
                phases[index].steps.preload()
        except TraceFileError as exc:
            self.call_from_thread(self.fail, str(exc))
            return
        if self.freeze_gc:
            self.call_from_thread(self._collect_from_now_on)

    def _collect_from_now_on(self) -> None:
        """Everything alive now (the decoded trace, the widgets) leaves the collector's
        sight, and full collections of what comes later are ten times rarer."""
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, 100)
        gc.enable()

    def fail(self, message: str) -> None:
        """End the app because the trace cannot be shown (exit code 2, `error` says why)."""
        self.error = message
        self.exit(return_code=2)

    def _handle_exception(self, error: Exception) -> None:
        if isinstance(error, TraceFileError):  # a damaged part read while stepping
            self.fail(str(error))
            return
        super()._handle_exception(error)

    # -- publishing -----------------------------------------------------------------------

    def _publish(self, *, rows_changed: bool = False) -> None:
        if rows_changed:
            self._revision += 1
        self.position = self.state.position(self._revision)

    def _moved(self, target: int | None) -> None:
        if target is None:
            self.bell()
        else:
            self._publish()

    def jump_to(self, step_id: int) -> None:
        """Make a step of the open phase current (what a click on a step does)."""
        self._moved(self.state.navigator.jump(step_id))

    def open_phase(self, index: int) -> None:
        """Open the registration (0) or a request (1 and up) at the step left there."""
        if self.state.select_phase(index):
            self._publish(rows_changed=True)

    def add_requests(self, trace: Trace) -> None:
        """Live mode: add `trace`'s requests as new rows of the Requests pane.

        The open phase and step stay where they are; the files the new requests point at
        join the embedded sources (a file's newest version wins). Call it on the app's
        thread (`call_from_thread` from any other).
        """
        from dataclasses import replace

        from viewer.tui.highlight import SourceCache
        from viewer.tui.state import Phase

        known = self.state.trace.sources
        sources = {**known, **trace.sources}
        if any(file not in known or known[file].sha256 != source.sha256
               for file, source in trace.sources.items()):
            self.state.sources = SourceCache(sources)
        self.trace = self.state.trace = replace(
            self.state.trace, requests=self.state.trace.requests + trace.requests,
            sources=sources)
        for request in trace.requests:
            self.state.phases.append(Phase.of(len(self.state.phases), request, request.steps))
        for screen in self.screen_stack:
            for pane in screen.query(RequestList):
                pane.reload()

    # -- actions --------------------------------------------------------------------------

    def action_next_step(self) -> None:
        self._moved(self.state.navigator.next())

    def action_previous_step(self) -> None:
        self._moved(self.state.navigator.previous())

    def action_step_into(self) -> None:
        self._moved(self.state.navigator.into())

    def action_step_out(self) -> None:
        self._moved(self.state.navigator.out())

    def action_step_over(self) -> None:
        self._moved(self.state.navigator.over())

    def action_first_step(self) -> None:
        self._moved(self.state.navigator.first())

    def action_last_step(self) -> None:
        self._moved(self.state.navigator.last())

    def action_toggle_lines(self) -> None:
        self.state.set_show_lines(not self.state.show_lines)
        shown = "shown" if self.state.show_lines else "hidden"
        self.notify(f"line steps {shown}", timeout=1.5)
        self._publish(rows_changed=True)

    def action_bookmark(self) -> None:
        self.state.navigator.toggle_bookmark()
        self._publish(rows_changed=True)

    def action_next_bookmark(self) -> None:
        target = self.state.navigator.next_bookmark()
        if target is None:
            self.notify("no bookmarks yet: press b to bookmark a step", timeout=2)
        self._moved(target)

    def action_search(self) -> None:
        self.push_screen(SearchScreen(self._last_search), self._searched)

    def _searched(self, query: str | None) -> None:
        if not query:
            return
        self._last_search = query
        target = self.state.navigator.search(query)
        if target is None:
            self.notify(f"no step matches {query!r}", severity="warning", timeout=2)
        self._moved(target)

    def action_filter_requests(self) -> None:
        if self.refilter is None:
            self.notify("filters choose among the requests of a trace store; this is a "
                        "trace file", severity="warning", timeout=4)
            return
        self.push_screen(RequestFilterScreen(self._last_filter), self._filtered)

    def _filtered(self, text: str | None) -> None:
        """List the requests `text` chooses: a new state on a new main screen."""
        if text is None or self.refilter is None:
            return
        try:
            trace = self.refilter(text)
        except FlaskscopeError as exc:
            self.notify(str(exc), severity="error", timeout=6, markup=False)
            return
        self._last_filter = text
        self.trace = trace
        self.state.reset(trace)  # every pane holds this state: all see the new requests
        for screen in self.screen_stack:
            for pane in screen.query(RequestList):
                pane.reload()
        self._publish(rows_changed=True)
        count = len(trace.requests)
        self.notify(f"{count} request{'s' if count != 1 else ''}"
                    + (f" match {text!r}" if text.strip() else ""), timeout=3, markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._app_keys(), self._pane_keys()))

    def _app_keys(self) -> list[tuple[str, str]]:
        keys = []
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            action = binding.action.removeprefix("app.")
            if action in ACTIONS:
                shown = binding.key.replace(",", " / ").replace("right", "→").replace(
                    "left", "←").replace("slash", "/").replace("apostrophe", "'").replace(
                    "question_mark", "?")
                keys.append((shown, _help(action)))
        return keys

    def _pane_keys(self) -> Iterable[tuple[str, list[tuple[str, str]]]]:
        panes: list[tuple[str, type[RowsView]]] = [
            ("Requests", RequestList), ("Steps", StepTree), ("Source", SourceView),
            ("Stack", StackPane), ("Locals, onion, resolution", LocalsPane),
        ]
        for name, widget in panes:
            keys = [(b.key.replace(",", " / "), b.description)
                    for b in widget.BINDINGS if isinstance(b, Binding)]
            yield name, keys

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action, (title, description) in ACTIONS.items():
            if action != "quit":  # Textual's own commands already offer Quit
                callback: Callable[[], object] = getattr(self, f"action_{action}")
                yield SystemCommand(title, description, callback)

    # -- messages from panes ----------------------------------------------------------------

    def on_step_tree_step_selected(self, message: StepTree.StepSelected) -> None:
        self.jump_to(message.step)

    def on_step_tree_fold_toggled(self, message: StepTree.FoldToggled) -> None:
        if self.state.navigator.toggle_fold(message.step):
            self._publish(rows_changed=True)

    def on_stack_pane_frame_selected(self, message: StackPane.FrameSelected) -> None:
        self.jump_to(message.step)

    def on_onion_pane_layer_selected(self, message: OnionPane.LayerSelected) -> None:
        self.jump_to(message.step)

    def on_resolution_pane_evidence_selected(
        self, message: ResolutionPane.EvidenceSelected
    ) -> None:
        self.jump_to(message.step)

    def on_request_list_phase_selected(self, message: RequestList.PhaseSelected) -> None:
        self.open_phase(message.phase)
