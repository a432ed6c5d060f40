"""The Stack pane: the current step and its ancestors, innermost first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from viewer.textsafe import visible
from viewer.tui.labels import location
from viewer.tui.state import Phase, Position, ViewState
from viewer.tui.widgets.rows import RowsView


class StackPane(RowsView):
    """Each enclosing call of the current step; choosing one makes it current.

    | Key | Action |
    | :- | :- |
    | `up` / `down` | Move the highlight between frames. |
    | `enter` | Jump to the highlighted frame. |

    A click on a frame jumps there.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up the stack", show=False),
        Binding("down", "move(1)", "Down the stack", show=False),
        Binding("enter", "choose", "Jump", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    class FrameSelected(Message):
        """The reader chose a frame of the stack."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state
        self.frames: list[int] = []
        self._phase: Phase | None = None

    def on_mount(self) -> None:
        self.border_title = "Stack"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        old, self.frames = self.frames, self.state.stack()
        cursor, self.cursor = self.cursor, 0 if self.frames else None
        phase, self._phase = self._phase, self.state.phase  # the object, as in Resolution
        same_shape = len(old) == len(self.frames) and cursor == self.cursor
        if same_shape and phase is self._phase and self.is_mounted:
            self.refresh_rows(row for row, (a, b) in enumerate(zip(old, self.frames, strict=True))
                              if a != b)
        else:
            self.reload()
        self.scroll_to(y=0, animate=False, immediate=True)

    def row_count(self) -> int:
        return len(self.frames)

    def render_row(self, row: int, width: int) -> Text:
        step = self.state.phase.steps[self.frames[row]]
        text = Text(no_wrap=True, overflow="ellipsis")
        if step.kind == "call":
            text.append(f"{self.state.navigator.index.depth(step.id):>2} ", "dim")
            text.append(visible(step.name), "bold cyan" if step.role else "cyan")
        else:  # the current step itself, inside the frame below it
            text.append(" ↳ ", "dim")
            text.append(visible(f"{step.kind} {step.name}"),
                        "magenta" if step.kind == "note" else "")
        where = location(step)
        if where:
            text.append("  " + where, "dim")
        return text

    def row_clicked(self, row: int, x: int) -> None:
        self.post_message(self.FrameSelected(self.frames[row]))

    def action_move(self, delta: int) -> None:
        if self.cursor is None:
            return
        row = self.cursor + delta
        if 0 <= row < len(self.frames):
            self.cursor = row
            self.scroll_to_row(row)
            self.refresh()

    def action_choose(self) -> None:
        if self.cursor is not None and self.cursor < len(self.frames):
            self.post_message(self.FrameSelected(self.frames[self.cursor]))
