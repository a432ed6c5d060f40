"""The base of every pane: a line-API widget that renders only the rows on screen.

Subclasses say how many rows there are and how one row looks (`row_count`,
`render_row`); this class turns rows into strips, highlights the cursor row, keeps it in
view and reports clicks. Nothing here is proportional to the number of rows, which is
what lets the Steps pane hold a 200,000-step request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

STRIP_CACHE = 64  # rows of strips kept per pane (a Strip is ~20 objects the GC walks)


class RowsView(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows rendered on demand, with an optional cursor row.

    | Key | Action |
    | :- | :- |
    | `up` / `down` | Scroll a row. |
    | `pageup` / `pagedown` | Scroll a page. |
    | `home` / `end` | Scroll to the top / bottom. |

    `left` and `right` are left to the app (previous / next step).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"rows--cursor"}

    DEFAULT_CSS = """
    RowsView {
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .rows--cursor {
            background: $accent 35%;
        }
    }
    """

    cursor: int | None = None
    """The highlighted row, if any."""

    center_cursor = False
    """Keep the cursor row in the middle rather than just in view."""

    def row_count(self) -> int:
        """How many rows there are."""
        return 0

    def render_row(self, row: int, width: int) -> Text:
        """The row's text (cropped to the pane by the caller)."""
        return Text()

    def row_clicked(self, row: int, x: int) -> None:
        """A click on `row` at column `x` (of the row, scrolling included)."""

    def content_width(self) -> int:
        """The width to scroll horizontally over; 0 means no horizontal scrolling."""
        return 0

    sized_by_content = False
    """True when the pane's height follows its rows (`height: auto`)."""

    def reload(self) -> None:
        """Rows changed: resize the scroll area and repaint.

        Assigning `virtual_size` asks for a layout of the whole screen, and a layout
        repaints every pane; a pane whose size does not follow its rows only needs its
        scrollbars updated, which is what the layout would have done for it.
        """
        self._strips.clear()
        size = Size(self.content_width(), self.row_count())
        if size != self.virtual_size:
            if self.sized_by_content or not self.is_mounted:
                self.virtual_size = size
            else:
                self.set_reactive(ScrollView.virtual_size, size)
                self._scroll_update(size)
        self.refresh()

    def refresh_rows(self, rows: Iterable[int]) -> None:
        """Repaint only these rows (those on screen)."""
        top = int(self.scroll_y)
        bottom = top + self.scrollable_content_region.height
        stale = set(rows)
        if stale:
            self._strips = {k: v for k, v in self._strips.items() if k[0] not in stale}
        for row in stale:
            if top <= row < bottom:
                self.refresh_line(row)

    def move_cursor(self, row: int | None, *, center: bool = False) -> None:
        """Highlight another row, repainting only the two rows when nothing scrolls."""
        previous, self.cursor = self.cursor, row
        if row is None:
            self.refresh()
            return
        top = int(self.scroll_y)
        self.scroll_to_row(row, center=center)
        if int(self.scroll_y) != top:
            return  # scrolling repaints the whole pane
        if previous is not None:
            self.refresh_line(previous)
        self.refresh_line(row)

    _base_style: Style | None = None
    _strips: dict[tuple[int, bool, int, int], Strip]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._strips = {}

    def notify_style_update(self) -> None:
        self._base_style = None
        self._strips.clear()
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        key = (row, row == self.cursor, scroll_x, width)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        base = self._base_style
        if base is None:  # `rich_style` walks every ancestor: once per style change
            base = self._base_style = self.rich_style
        if row >= self.row_count() or width <= 0:
            return Strip.blank(width, base)
        text = self.render_row(row, width)
        segments = list(Segment.apply_style(text.render(self.app.console), base))
        if row == self.cursor:
            cursor = self.get_component_rich_style("rows--cursor", partial=True)
            segments = list(Segment.apply_style(segments, post_style=cursor))
            pad = base + cursor
        else:
            pad = base
        strip = Strip(segments).crop_extend(scroll_x, scroll_x + width, pad)
        if len(self._strips) > STRIP_CACHE:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def scroll_to_row(self, row: int, *, center: bool = False) -> None:
        """Bring `row` into view with a few rows of context around it.

        A row that comes near an edge is brought to the middle rather than just inside,
        so stepping row by row scrolls (and repaints the whole pane) only every half
        page; `center` puts it in the middle whenever it is not already near there.
        """
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_y)
        margin = min(3, max(0, (height - 1) // 4))
        if center:
            margin = max(1, height // 4)
        if row < top + margin or row > top + height - 1 - margin:
            top = max(0, row - height // 2)
        if top != int(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self.reload()
        if self.cursor is not None:
            self.scroll_to_row(self.cursor, center=self.center_cursor)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = offset.y + int(self.scroll_y)
        if 0 <= row < self.row_count():
            self.row_clicked(row, offset.x + int(self.scroll_x))
