"""The help screen: every key of the viewer and of each pane, read from their bindings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists the app's keys, then each pane's own keys.

    | Key | Action |
    | :- | :- |
    | `escape` / `?` / `q` | Close. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 80;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        app_keys: Iterable[tuple[str, str]],
        pane_keys: Iterable[tuple[str, Iterable[tuple[str, str]]]],
    ) -> None:
        super().__init__()
        self.app_keys = list(app_keys)
        self.pane_keys = [(name, list(keys)) for name, keys in pane_keys]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "flaskscope viewer: keys"
            scroll.border_subtitle = "escape to close"
            yield Static(self._table(), id="help-keys")

    def _table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold yellow", no_wrap=True)
        table.add_column()
        table.add_row(Text("Everywhere", "bold underline"), "")
        for key, description in self.app_keys:
            table.add_row(key, description)
        for pane, keys in self.pane_keys:
            table.add_row("", "")
            table.add_row(Text(pane, "bold underline"), "")
            for key, description in keys:
                table.add_row(key, description)
        table.add_row("", "")
        table.add_row("mouse", "click a step, a stack frame, a request or an onion layer to "
                               "jump there; click ▸/▾ to fold")
        table.add_row("ctrl+p", "command palette: every action above by name")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
