"""The Steps pane: the nested step tree of the open phase, current step highlighted."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from viewer.tui.labels import step_label
from viewer.tui.navigation import Navigator
from viewer.tui.state import Position, ViewState
from viewer.tui.widgets.rows import RowsView

MAX_INDENT = 16


class StepTree(RowsView):
    """Every navigable step of the phase as a row, indented by depth; calls fold.

    | Key | Action |
    | :- | :- |
    | `up` / `down` | Previous / next row (folded calls count as one row). |
    | `space` / `enter` | Fold or unfold the current call. |
    | `pageup` / `pagedown`, `home` / `end` | Scroll. |

    A click on a row makes it current; a click on its ▸/▾ mark folds it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "row(-1)", "Previous row", show=False),
        Binding("down", "row(1)", "Next row", show=False),
        Binding("space,enter", "fold", "Fold", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]

    class StepSelected(Message):
        """The reader picked a step (click or row keys)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class FoldToggled(Message):
        """The reader folded or unfolded a call."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state
        self._shown: Position | None = None
        self._cache: dict[tuple, Text] = {}

    @property
    def navigator(self) -> Navigator:
        return self.state.navigator

    def on_mount(self) -> None:
        self.border_title = "Steps"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        """Follow the app's position: move the cursor row, rebuild rows when they changed."""
        previous = self._shown
        self._shown = position
        navigator = self.navigator
        row = None if navigator.current is None else navigator.row_of(navigator.current)
        if previous is None or previous.phase != position.phase or (
            previous.revision != position.revision
        ):
            self._cache.clear()
            self.cursor = row
            self.reload()
            if row is not None:
                self.scroll_to_row(row)
            phase = self.state.phase
            where = "registration" if phase.request is None else f"request {phase.request.id}"
            self.border_subtitle = f"{where} · {len(phase.steps)} steps"
        else:
            self.move_cursor(row)

    def row_count(self) -> int:
        return len(self.navigator.rows)

    def render_row(self, row: int, width: int) -> Text:
        navigator = self.navigator
        step_id = navigator.rows[row]
        folded = navigator.is_collapsed(step_id)
        marked = navigator.is_bookmarked(step_id)
        key = (step_id, folded, marked)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        step = navigator.steps[step_id]
        depth = navigator.index.depth(step_id)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("★" if marked else " ", "bold yellow")
        if depth > MAX_INDENT:
            text.append(f"{depth:>{MAX_INDENT * 2 - 1}}›", "dim")
        else:
            text.append("  " * depth)
        if navigator.index.has_children(step_id):
            text.append("▸ " if folded else "▾ ", "bold" if folded else "dim")
        else:
            text.append("  ")
        source = self.state.sources.text(step.file, step.line) if step.kind == "line" else None
        text.append_text(step_label(step, source))
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = text
        return text

    def row_clicked(self, row: int, x: int) -> None:
        step_id = self.navigator.rows[row]
        depth = min(self.navigator.index.depth(step_id), MAX_INDENT)
        fold_column = 1 + 2 * depth
        if fold_column <= x <= fold_column + 1 and self.navigator.index.has_children(step_id):
            self.post_message(self.FoldToggled(step_id))
        else:
            self.post_message(self.StepSelected(step_id))

    def action_row(self, delta: int) -> None:
        if self.cursor is None:
            return
        row = self.cursor + delta
        if 0 <= row < self.row_count():
            self.post_message(self.StepSelected(self.navigator.rows[row]))

    def action_fold(self) -> None:
        if self.navigator.current is not None:
            self.post_message(self.FoldToggled(self.navigator.current))
