"""Syntax-highlighted source lines from the sources embedded in a trace.

A trace embeds only the lines its steps need (function bodies). The pane shows each run of
lines the trace does not hold as one gap row, never as numbered blank lines that would read
as the file's own: `rows` lists the first line of every row, embedded line or gap. Lines
come from the trace, so their control characters are escaped (`visible`) before
highlighting. Files are cut into chunks of about `CHUNK` lines at statement starts (`def`,
`class`, decorators) outside triple-quoted strings, and each chunk is highlighted the
first time one of its lines is shown, then kept: opening a 1,500-line module costs one
chunk, not the whole file. Colours come from the monokai palette without its background
and without its plain-text colour, so the pane keeps the app theme's own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import PythonLexer, get_lexer_for_filename
from pygments.token import Token
from pygments.util import ClassNotFound
from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme, TokenType
from rich.text import Text

from tracer.model import SourceFile
from viewer.textsafe import visible

CHUNK = 120
_THEME = PygmentsSyntaxTheme("monokai")
_PLAIN = _THEME.get_style_for_token(Token)
_STARTS = ("def ", "async def ", "class ", "@")


class HighlightedFile:
    """One file's lines; `line(n)` is line n highlighted, `present` the embedded ones and
    `rows` the first line of each displayed row (an embedded line, or a gap)."""

    def __init__(self, file: str, lines: Mapping[int, str]) -> None:
        self.count = max(lines, default=0)
        self.present = frozenset(lines)
        self.rows = _rows(self.present)
        self._raw = [visible(lines.get(n, "").expandtabs(4)) for n in range(1, self.count + 1)]
        self.width = max((len(text) for text in self._raw), default=0)
        self._language = _language(file)
        self._starts = _chunk_starts(self._raw)
        self._chunks: dict[int, list[Text]] = {}

    def __len__(self) -> int:
        return self.count

    def row_of(self, number: int) -> int:
        """The row showing line `number`: its own, or the gap that holds it."""
        return max(bisect_right(self.rows, number) - 1, 0)

    def gap(self, row: int) -> tuple[int, int] | None:
        """(first, last) line of a gap row; None when the row is an embedded line."""
        first = self.rows[row]
        if first in self.present:
            return None
        last = self.rows[row + 1] - 1 if row + 1 < len(self.rows) else self.count
        return first, last

    def line(self, number: int) -> Text | None:
        """Line `number` (1-based) highlighted, or None outside the file."""
        if not 0 < number <= self.count:
            return None
        chunk = bisect_right(self._starts, number - 1) - 1
        texts = self._chunks.get(chunk)
        if texts is None:
            start = self._starts[chunk]
            stop = self._starts[chunk + 1] if chunk + 1 < len(self._starts) else self.count
            texts = self._chunks[chunk] = _highlight(self._raw[start:stop], self._language)
        return texts[number - 1 - self._starts[chunk]]


class SourceCache:
    """The embedded files of a trace, each prepared on first use."""

    def __init__(self, sources: Mapping[str, SourceFile]) -> None:
        self.sources = sources
        self._files: dict[str, HighlightedFile | None] = {}

    def get(self, file: str | None) -> HighlightedFile | None:
        """The file ready to highlight, or None when the trace does not embed it."""
        if file is None:
            return None
        if file not in self._files:
            source = self.sources.get(file)
            self._files[file] = None if source is None else HighlightedFile(file, source.lines)
        return self._files[file]

    def text(self, file: str | None, line: int | None) -> str | None:
        """One raw line of source (no highlighting), when embedded."""
        if file is None or line is None:
            return None
        source = self.sources.get(file)
        return None if source is None else source.lines.get(line)


def _rows(present: frozenset[int]) -> list[int]:
    """The first line of each row: every embedded line, and each run of missing ones."""
    rows: list[int] = []
    following = 1  # the line after the last one placed
    for number in sorted(present):
        if number > following:
            rows.append(following)  # a gap: lines following .. number - 1
        rows.append(number)
        following = number + 1
    return rows


def _chunk_starts(raw: list[str]) -> list[int]:
    """0-based first lines of the chunks: statement starts outside triple quotes."""
    starts = [0]
    doubles = singles = 0
    for index, text in enumerate(raw):
        if (
            index - starts[-1] >= CHUNK
            and doubles % 2 == 0
            and singles % 2 == 0
            and text.lstrip().startswith(_STARTS)
        ):
            starts.append(index)
        doubles += text.count('"""')
        singles += text.count("'''")
    return starts


def _highlight(raw: list[str], language: str) -> list[Text]:
    out: list[Text] = [Text()]
    for token_type, value in _lexer(language).get_tokens("\n".join(raw)):
        style = _style(token_type)
        parts = value.split("\n")
        for position, part in enumerate(parts):
            if position:
                out.append(Text())
            if part:
                out[-1].append(part, style)
    del out[len(raw):]
    while len(out) < len(raw):
        out.append(Text())
    return out


def _language(file: str) -> str:
    return "python" if file.endswith(".py") else file.rpartition("/")[2]


@lru_cache(maxsize=32)
def _lexer(language: str) -> Lexer:
    if language == "python":
        return PythonLexer(stripnl=False, ensurenl=False)
    try:
        return get_lexer_for_filename(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return PythonLexer(stripnl=False, ensurenl=False)


@lru_cache(maxsize=256)
def _style(token_type: TokenType) -> Style | None:
    style = _THEME.get_style_for_token(token_type)
    if style.color is None or style.color == _PLAIN.color:
        return None  # plain text takes the pane's own colour, on dark and light themes
    return Style(color=style.color, bold=style.bold, italic=style.italic)
