"""A pane of a few rich lines, wrapped to its width, each optionally leading somewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from rich.console import Console
from rich.text import Text

from viewer.tui.widgets.rows import RowsView

T = TypeVar("T")


class LinesPane(RowsView, Generic[T]):
    """Logical lines (each may wrap onto several rows) with an optional target each.

    | Key | Action |
    | :- | :- |
    | `up` / `down`, `pageup` / `pagedown`, `home` / `end` | Scroll. |
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: list[Text] = []
        self.targets: list[T | None] = []
        self.hangs: list[int] = []
        self._wrapped: list[tuple[Text, int]] = []  # (row text, logical line)
        self._wrapped_width = -1

    def set_lines(
        self,
        lines: Sequence[Text],
        targets: Sequence[T | None] | None = None,
        hangs: Sequence[int] | None = None,
    ) -> None:
        """Replace the content; `hangs` indents each line's continuation rows."""
        self.lines = list(lines)
        self.targets = list(targets) if targets is not None else [None] * len(self.lines)
        self.hangs = list(hangs) if hangs is not None else [0] * len(self.lines)
        old = [text for text, _ in self._wrapped] if self._wrapped_width > 0 else None
        self._wrapped_width = -1
        if old is None or not self.is_mounted:
            self.reload()
            return
        new = [text for text, _ in self._rows()]
        if len(new) != len(old):
            self.reload()  # also repaints everything
            return
        self.refresh_rows(row for row, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)

    @property
    def plain_text(self) -> str:
        """The content as plain text, one logical line per line."""
        return "\n".join(line.plain for line in self.lines)

    def _rows(self) -> list[tuple[Text, int]]:
        width = max(self.scrollable_content_region.width, 10)
        if width != self._wrapped_width:
            console = self.app.console
            rows: list[tuple[Text, int]] = []
            for number, (line, hang) in enumerate(zip(self.lines, self.hangs, strict=True)):
                rows.extend((part, number) for part in _wrap(line, width, hang, console))
            self._wrapped = rows
            self._wrapped_width = width
        return self._wrapped

    def row_count(self) -> int:
        return len(self._rows()) if self.is_mounted else len(self.lines)

    def render_row(self, row: int, width: int) -> Text:
        return self._rows()[row][0]

    def line_of_row(self, row: int) -> int:
        return self._rows()[row][1]

    def row_clicked(self, row: int, x: int) -> None:
        target = self.targets[self.line_of_row(row)]
        if target is not None:
            self.target_clicked(target)

    def target_clicked(self, target: T) -> None:
        """A line with a target was clicked."""


def _wrap(line: Text, width: int, hang: int, console: Console) -> list[Text]:
    """Wrap `line` to `width`, continuation rows indented by `hang` cells."""
    if line.cell_len <= width or line.no_wrap:
        return [line]
    first = line.wrap(console, width, overflow="fold")[0]
    rest = line[len(first.plain):]
    rest = rest[len(rest.plain) - len(rest.plain.lstrip(" ")):]
    hang = hang if hang < width // 2 else 0
    parts = [first]
    for part in rest.wrap(console, width - hang, overflow="fold"):
        parts.append(Text(" " * hang) + part)
    return parts
