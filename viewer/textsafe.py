"""Text that is safe to show on a terminal, whatever a recorded trace holds.

Paths, source lines, names and reprs in a trace come from the app and from the request
(a percent-encoded path decodes to any character), and a trace file can be crafted. Printed
raw, `\\x1b]0;...\\x07` retitles the window, `\\x1b[2J` clears the screen and `\\u202e`
reverses what follows. So every value goes through `visible` before it reaches a terminal or
a widget: C0 controls (newline and tab included: a value's newline is not our layout's),
DEL, C1 controls and the bidi overrides and isolates become the escapes Python's `repr`
writes (`\\x1b`, `\\n`, `\\u202e`); everything else, non-ASCII text included, stays as is.
"""

from __future__ import annotations

import re

from rich.markup import escape as _escape_markup

__all__ = ["visible", "visible_markup", "visible_json"]

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROLS = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))


def _table() -> dict[int, str]:
    table = {code: _NAMED.get(chr(code), f"\\x{code:02x}") for code in _CONTROLS}
    table.update({code: f"\\u{code:04x}" for code in _BIDI})
    return table


_ESCAPES = _table()
_UNSAFE = re.compile(f"[{re.escape(''.join(map(chr, _ESCAPES)))}]")  # what it maps
# What JSON's own escaping leaves raw when non-ASCII is kept (`ensure_ascii=False`).
_JSON_RAW = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(value: object) -> str:
    """`value` as text with every control and bidi character written as a visible escape.

    Takes any object (`str()` of it) so that callers can pass facts and ids as they are.
    """
    text = value if isinstance(value, str) else str(value)
    return text.translate(_ESCAPES) if _UNSAFE.search(text) else text  # the search is faster


def visible_markup(value: object) -> str:
    """`visible(value)` for a rich markup string: `[bold]` in a value prints as written."""
    return _escape_markup(visible(value))


def visible_json(document: str) -> str:
    """A JSON document (from `json.dumps(..., ensure_ascii=False)`) with DEL, C1 and bidi
    characters written as `\\u` escapes: the same data, safe to print. JSON already
    escapes the C0 controls; these are the characters it leaves raw."""
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match[0]):04x}", document)
