"""The search prompt: a one-line input over the main screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input


class SearchScreen(ModalScreen[str | None]):
    """Asks for text to find in step names, files, values and facts.

    | Key | Action |
    | :- | :- |
    | `enter` | Search from the current step onwards (wraps around). |
    | `escape` | Cancel. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    SearchScreen {
        align: center bottom;
        background: transparent;
    }
    SearchScreen > Input {
        width: 100%;
        margin: 0 0 1 0;
        border: tall $accent;
    }
    """

    def __init__(self, last: str = "") -> None:
        super().__init__()
        self.last = last

    def compose(self) -> ComposeResult:
        search = Input(self.last, placeholder="find a step by name, file or value",
                       id="search-input")
        search.border_title = "Search (enter: next match, escape: cancel)"
        yield search

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
