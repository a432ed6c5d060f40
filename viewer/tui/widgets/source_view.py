"""The Source pane: the current step's file from the trace, current line marked."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tracer.paths import short_path
from viewer.textsafe import visible
from viewer.tui.highlight import HighlightedFile
from viewer.tui.state import Location, Position, ViewState
from viewer.tui.widgets.rows import RowsView


class SourceView(RowsView):
    """The lines of one source file, highlighted once and sliced per repaint.

    | Key | Action |
    | :- | :- |
    | `up` / `down` | Scroll a line. |
    | `pageup` / `pagedown`, `home` / `end` | Scroll. |

    The current line is marked `▶` and kept in view; each run of lines the trace did not
    embed is one `⋮` row saying so, so that what shows is only what the trace holds. The
    cursor is a row: `row_of(line)` and `line_of(row)` convert.
    """

    center_cursor = True

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state
        self.location: Location | None = None
        self.file: HighlightedFile | None = None

    def show(self, location: Location | None) -> None:
        """Point at a location: load its file if it changed, then bring the line in view."""
        changed = location is None or self.location is None or location.file != self.location.file
        self.location = location
        if changed:
            self.file = None if location is None else self.state.sources.get(location.file)
        row = None if location is None or location.line is None else self.row_of(location.line)
        if not changed:
            self.move_cursor(row, center=True)
            return
        self.cursor = row
        self.reload()
        if row is not None:
            self.scroll_to_row(row, center=True)

    def row_of(self, line: int) -> int | None:
        """The row showing `line` (its gap's row when the trace lacks it)."""
        return None if self.file is None or not self.file.rows else self.file.row_of(line)

    def line_of(self, row: int) -> int | None:
        """The line a row shows; None for a gap row or no file."""
        if self.file is None or not 0 <= row < len(self.file.rows):
            return None
        return None if self.file.gap(row) else self.file.rows[row]

    @property
    def visible_lines(self) -> list[int]:
        """The embedded line numbers on screen (for tests and the reader's sake)."""
        top = int(self.scroll_y)
        rows = range(top, top + self.scrollable_content_region.height)
        return [line for line in map(self.line_of, rows) if line is not None]

    def _gutter(self) -> int:
        return len(str(len(self.file))) if self.file else 1

    def row_count(self) -> int:
        if self.file is None:
            return 2 if self.location is not None else 0
        return len(self.file.rows)

    def render_row(self, row: int, width: int) -> Text:
        if self.file is None:
            if row == 0 and self.location is not None:
                where = short_path(self.location.file) if self.location.file else "no file"
                return Text(f"source not in this trace ({visible(where)})", "dim italic")
            return Text()
        current = row == self.cursor
        text = Text(no_wrap=True)
        text.append("▶" if current else " ", "bold yellow")
        gap = self.file.gap(row)
        if gap is not None:
            first, last = gap
            text.append(f"{'⋮':>{self._gutter()}} │ ", "dim")
            lines = f"line {first}" if first == last else f"lines {first}-{last}"
            text.append(f"{lines} not in this trace", "dim italic")
            return text
        number = self.file.rows[row]
        text.append(f"{number:>{self._gutter()}} ", "bold" if current else "dim")
        text.append("│ ", "dim")
        line = self.file.line(number)
        if line is not None:
            text.append_text(line)
        return text


class SourcePane(Vertical, can_focus=False):
    """The Source pane: a header with `file:line` and the function, above the code."""

    DEFAULT_CSS = """
    SourcePane > #source-header {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, state: ViewState, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.state = state

    def compose(self) -> ComposeResult:
        yield Static(id="source-header")
        yield SourceView(self.state, id="source")

    def on_mount(self) -> None:
        self.border_title = "Source"
        self.watch(self.app, "position", self.show_position)

    def show_position(self, position: Position) -> None:
        location = self.state.location()
        header = Text(no_wrap=True, overflow="ellipsis")
        if location is not None:
            where = visible(
                f"{short_path(location.file) if location.file else '?'}:{location.line or '?'}")
            qualname = visible(location.qualname)
            room = self.query_one("#source-header").size.width - len(qualname) - 2
            if len(where) > room > 8:  # narrow: keep the file name, drop leading folders
                where = "…" + where[len(where) - room + 1 :]
            header.append(where, "bold")
            header.append("  ")
            header.append(qualname, "cyan")
        self.query_one("#source-header", Static).update(header, layout=False)
        self.query_one(SourceView).show(location)

    def on_resize(self) -> None:
        self.show_position(self.app.position)  # type: ignore[attr-defined]
