"""The Requests pane's filter prompt: which stored requests to list."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from viewer.tui.screens.search import SearchScreen

#: What the prompt shows when empty: every filter a store understands.
FILTER_HINT = "status:5xx method:GET path:/api/* endpoint:shop.* test:tests/* since:10m"


class RequestFilterScreen(SearchScreen):
    """Asks for `key:value` filters (empty: every request).

    | Key | Action |
    | :- | :- |
    | `enter` | List the requests that match. |
    | `escape` | Cancel. |
    """

    def compose(self) -> ComposeResult:
        prompt = Input(self.last, placeholder=FILTER_HINT, id="filter-input")
        prompt.border_title = "Filter requests (enter: apply, empty: all, escape: cancel)"
        yield prompt
