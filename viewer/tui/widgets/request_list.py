"""The Requests pane: the registration phase and every recorded request."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from viewer.textsafe import visible
from viewer.tui.state import Position, ViewState
from viewer.tui.widgets.rows import RowsView

_OUTCOME_STYLE = {
    "ok": "green",
    "not_found": "red",
    "method_not_allowed": "red",
    "redirect": "yellow",
    "http_error": "red",
    "error_status": "red",
    "error": "bold red",
}


class RequestList(RowsView):
    """One row per phase; the open one is highlighted.

    | Key | Action |
    | :- | :- |
    | `up` / `down` | Open the previous / next phase. |
    | `enter` | Open the highlighted phase again (back to the step left there). |
    | `F` | A trace store: list only the requests that match filters. |

    A click opens a phase.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous request", show=False),
        Binding("down", "move(1)", "Next request", show=False),
        Binding("enter", "move(0)", "Open", show=False),
        Binding("F", "app.filter_requests", "Filter a store's requests", show=False),
    ]

    sized_by_content = True  # `height: auto`: new rows (live mode) must grow the pane

    class PhaseSelected(Message):
        """The reader chose the registration (0) or a request (1 and up)."""

        def __init__(self, phase: int) -> None:
            super().__init__()
            self.phase = phase

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state

    def on_mount(self) -> None:
        self.border_title = "Requests"
        self.reload()
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        if self.cursor != position.phase:
            self.cursor = position.phase
            self.refresh()
            self.scroll_to_row(position.phase)

    def row_count(self) -> int:
        return len(self.state.phases)

    def render_row(self, row: int, width: int) -> Text:
        request, steps = self.state.phases.headline(row)
        text = Text(no_wrap=True, overflow="ellipsis")
        if request is None:
            text.append("registration", "bold")
            text.append(f"  {steps} steps", "dim")
            return text
        status = "-" if request.status is None else str(request.status)
        text.append(f"#{request.id} ", "dim")
        text.append(visible(f"{request.method} {request.path}"), "bold")
        text.append(f" → {status} ", _OUTCOME_STYLE.get(request.outcome, ""))
        text.append(visible(request.outcome), _OUTCOME_STYLE.get(request.outcome, ""))
        if request.endpoint:
            text.append(f"  {visible(request.endpoint)}", "cyan")
        text.append(f"  {steps} steps", "dim")
        text.append(f"  {request.duration_ns / 1e6:.1f} ms", "dim")
        if request.dropped_steps:
            text.append(f"  ({request.dropped_steps} dropped)", "yellow")
        return text

    def row_clicked(self, row: int, x: int) -> None:
        self.post_message(self.PhaseSelected(row))

    def action_move(self, delta: int) -> None:
        row = (self.cursor or 0) + delta
        if 0 <= row < self.row_count():
            self.post_message(self.PhaseSelected(row))
