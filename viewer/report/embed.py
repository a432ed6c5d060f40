"""JSON inside an HTML page, written so that no value can end the element it sits in.

A `<script type="application/json">` element ends at the first `</script` whatever JSON
thinks, and `<!--` inside it changes how the parser looks for that end. So every `<`, `>`
and `&` is written as a `\\u` escape (JSON reads them back as the same characters), and
U+2028/U+2029 too, which older JavaScript parsers took for line ends, and lone surrogates
(a path decoded with `surrogateescape`), which UTF-8 cannot write. Nothing a recorded
value holds then reaches the HTML parser as markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["json_for_script", "script_element"]

_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_for_script(document: Any) -> str:
    """`document` as compact JSON that is safe between `<script>` tags."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)
    text = _SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)
    return text.translate(_ESCAPES)


def script_element(element_id: str, document: Any) -> str:
    """A data element the page's script reads with `JSON.parse` (the browser runs none)."""
    if not element_id.replace("-", "").isalnum():
        raise ValueError(f"element id {element_id!r} must be letters, digits and '-'")
    return (f'<script type="application/json" id="{element_id}">'
            f"{json_for_script(document)}</script>")
