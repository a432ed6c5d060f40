"""Text that is safe to hand to Graphviz as a plain label, whatever it contains.

Rules, endpoints, function names and recorded values come from user code, so they may hold
anything: quotes, backslashes, braces, `<...>`, `|`, newlines, Chinese text. Graphviz reads a
label as an *escString*: a backslash starts an escape (`\\n`, `\\l`, `\\N`, `\\G`...), and a
string shaped like `<...>` is taken for an HTML label. `plain_label` is the one place that
neutralises both, so the text drawn is exactly the text given.
"""

from __future__ import annotations

import os
import re
import textwrap
import unicodedata
from collections.abc import Mapping

from graphviz import nohtml

from tracer.model import SourceFile
from tracer.paths import short_path

_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85|\x0b|\x0c")
_LIBRARY_DIRS = ("site-packages", "dist-packages")


def plain_label(text: str, *, align: str = "center") -> str:
    """`text` as a Graphviz label that shows exactly that text.

    Backslashes are doubled so Graphviz never sees an escape sequence, line breaks become
    Graphviz's own `\\n` (centred lines) or `\\l` (left-aligned lines), other control
    characters are shown as `\\xNN`, and the result is marked so the `graphviz` package
    quotes it instead of treating `<...>` as HTML. Double quotes are escaped by the
    package when it quotes the string.

    Args:
        text: Any text, possibly from user code.
        align: "center" for centred lines, "left" for left-aligned lines.

    Returns:
        A string to pass as `label=`, `xlabel=`, `tooltip=` or a graph `label`.
    """
    if align not in ("center", "left"):
        raise ValueError(f"align must be 'center' or 'left', got {align!r}")
    lines = [_visible(line) for line in _NEWLINES.split(text)]
    escaped = [line.replace("\\", "\\\\") for line in lines]
    if align == "left":
        return nohtml("".join(line + "\\l" for line in escaped))
    return nohtml("\\n".join(escaped))


def _visible(line: str) -> str:
    """A line without characters Graphviz or UTF-8 cannot carry, shown as escapes."""
    if line.isprintable():
        return line
    out = []
    for char in line:
        if char == "\t":
            out.append("    ")
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\x{ord(char):02x}")
        elif unicodedata.category(char) == "Cs":  # a lone surrogate: not encodable
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def clip(text: str, limit: int = 60) -> str:
    """At most `limit` characters, ending in "…" when cut, so one value cannot flood a graph."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_file(file: str | None) -> str:
    """A file as readers know it: `flask/app.py` for libraries, relative for the app.

    `viewer.render.short_path` knows this machine's library directories; a trace recorded
    elsewhere keeps absolute paths, so a `site-packages` segment is cut here as well.
    """
    shown = short_path(file)
    if file and os.path.isabs(shown):
        parts = re.split(r"[\\/]", shown)
        for marker in _LIBRARY_DIRS:
            if marker in parts:
                index = len(parts) - 1 - parts[::-1].index(marker)
                return "/".join(parts[index + 1 :])
    return shown


def where(file: str | None, line: int | None) -> str:
    """`file:line`, short; `?` when the callable has no source file."""
    shown = short_file(file)
    return f"{shown}:{line}" if line else shown


def source_excerpt(sources: Mapping[str, SourceFile], file: str | None, line: int | None,
                   count: int = 4) -> str:
    """Up to `count` consecutive recorded source lines from `line`, dedented (for tooltips)."""
    if not file or not line or file not in sources:
        return ""
    lines = sources[file].lines
    taken = []
    for number in range(line, line + count):
        if number not in lines:
            break
        taken.append(lines[number])
    return textwrap.dedent("\n".join(taken)).strip("\n")


def app_name(meta: Mapping[str, object]) -> str | None:
    """The app reference a trace was recorded from, a path shortened like any other."""
    app = meta.get("app")
    if not isinstance(app, str) or not app:
        return None
    return short_file(app) if os.path.isabs(app) else app
